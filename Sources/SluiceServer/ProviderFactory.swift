import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import SluiceInference
import SluiceProviders

/// Builds a provider adapter for each configured provider, with one HTTP client per HTTP provider.
struct ProviderFactory {
    let environment: [String: String]
    let tokens: PromptTokenCounter
    let logger: Logger
    /// Where the HTTP clients' connections live.
    var eventLoopGroup: any EventLoopGroup = HTTPClient.defaultEventLoopGroup
    /// The codec of OpenAI-compatible providers.
    var openAICodec: any OpenAIWireCodec = CodableOpenAIWireCodec()
    /// The transport HTTP providers offer calls to first; `nil` for async-http-client alone.
    var transport: (any UpstreamTransportFactory)?

    /// The built providers, and the HTTP clients to shut down when the process stops.
    func makeProviders(
        _ configurations: [ProviderConfiguration]
    ) -> (providers: [String: any ChatProvider], clients: [UpstreamHTTP]) {
        var providers: [String: any ChatProvider] = [:]
        var clients: [UpstreamHTTP] = []
        for configuration in configurations {
            let apiKey = configuration.apiKeyEnv.flatMap { environment[$0] }.flatMap { $0.isEmpty ? nil : $0 }
            if configuration.apiKeyEnv != nil, apiKey == nil {
                logger.warning(
                    "provider key variable is not set",
                    metadata: ["provider": "\(configuration.name)", "variable": "\(configuration.apiKeyEnv ?? "")"]
                )
            }
            switch configuration.kind {
            case .echo:
                providers[configuration.name] = EchoProvider(
                    name: configuration.name,
                    settings: configuration.echo,
                    tokens: tokens
                )
            case .anthropic:
                let http = makeHTTP(configuration)
                clients.append(http)
                providers[configuration.name] = AnthropicProvider(
                    name: configuration.name,
                    baseURL: configuration.baseURL ?? "https://api.anthropic.com",
                    apiKey: apiKey,
                    apiVersion: configuration.apiVersion ?? "2023-06-01",
                    http: http
                )
            case .azureOpenAI:
                let http = makeHTTP(configuration)
                clients.append(http)
                providers[configuration.name] = OpenAIProvider(
                    name: configuration.name,
                    endpoint: .azure(
                        baseURL: configuration.baseURL ?? "",
                        apiVersion: configuration.apiVersion ?? "2024-10-21"
                    ),
                    apiKey: apiKey,
                    http: http,
                    codec: openAICodec
                )
            default:
                let http = makeHTTP(configuration)
                clients.append(http)
                providers[configuration.name] = OpenAIProvider(
                    name: configuration.name,
                    endpoint: .openAI(baseURL: configuration.baseURL ?? "https://api.openai.com/v1"),
                    apiKey: apiKey,
                    http: http,
                    codec: openAICodec
                )
            }
        }
        return (providers, clients)
    }

    private func makeHTTP(_ configuration: ProviderConfiguration) -> UpstreamHTTP {
        UpstreamHTTP(
            providerName: configuration.name,
            timeouts: configuration.timeouts,
            logger: logger,
            eventLoopGroup: eventLoopGroup,
            transport: transport
        )
    }
}
