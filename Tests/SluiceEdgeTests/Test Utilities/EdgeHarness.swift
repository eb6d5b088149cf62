import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ServiceLifecycle
import SluiceEdge
import SluiceGovernance
import SluiceInference
import SluiceTesting

/// The HTTP edge over a real governance service on an in-memory database and an inference service whose
/// providers are test fakes, plus the built-in echo model (exact word counts).
struct EdgeHarness {
    let store: GovernanceStore
    let governance: LocalGovernanceService
    let recorder: UsageRecorder
    let readiness = Readiness()
    let services: EdgeServices
    let configuration: EdgeConfiguration

    /// Creates the harness.
    ///
    /// - Parameters:
    ///   - providers: Fake providers, in addition to the built-in echo provider.
    ///   - configurations: Provider settings overriding the one-attempt defaults.
    ///   - models: Public models besides `echo`.
    ///   - maxBodyBytes: The largest accepted request body.
    init(
        providers: [ScriptedProvider] = [],
        configurations: [ProviderConfiguration] = [],
        models: [ModelConfiguration] = [],
        maxBodyBytes: Int = 16 * 1024
    ) throws {
        store = try GovernanceStore.inMemory()
        governance = LocalGovernanceService(store: store, logger: .silent)
        recorder = UsageRecorder(governance: governance, logger: .silent)
        let inference = LocalInferenceService.testing(
            providers: providers + [EchoProvider(settings: .init(), tokens: .words)],
            configurations: configurations,
            models: models
        )
        services = EdgeServices(
            inference: inference,
            governance: governance,
            usage: recorder,
            metrics: ProcessMetrics.registry,
            readiness: readiness,
            logger: .silent
        )
        configuration = EdgeConfiguration(host: "127.0.0.1", port: 0, maxBodyBytes: maxBodyBytes)
    }

    /// The edge application.
    func makeApplication() -> some ApplicationProtocol {
        Edge.buildApplication(configuration: configuration, services: services)
    }

    /// Creates an API key and returns it in plaintext.
    func createKey(tenant: String = "acme", models: [String]? = nil, roles: [Role] = [.member]) async throws -> String {
        try await governance.createKey(KeyCreationRequest(tenant: tenant, allowedModels: models, roles: roles))
            .plaintext
    }

    /// Runs the usage recorder while `body` runs, then shuts it down gracefully, which writes every queued record.
    func withUsageRecorder<T>(_ body: () async throws -> T) async throws -> T {
        let group = ServiceGroup(services: [recorder], logger: .silent)
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let result: Result<T, any Error>
            do {
                result = .success(try await body())
            } catch {
                result = .failure(error)
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return try result.get()
        }
    }
}
