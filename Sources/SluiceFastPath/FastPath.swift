package import NIOCore
package import SluiceEdge
package import SluiceInferenceGRPC
package import SluiceProviders

/// The speed machinery, in one place: each piece replaces an anchor library's path with a faster one, plugs in
/// through a protocol the rest of Sluice already uses, and can be switched off (`performance` in the
/// configuration). Only the wiring (`SluiceServer`) imports this module; decision record 0005 holds what each piece
/// is worth.
///
/// | Switch | Replaces | Plugs in as |
/// |---|---|---|
/// | `eventLoopChannel` | Hummingbird's `HTTP1Channel` | ``LoopHTTP1ServerProvider`` (`EdgeServerProvider`) |
/// | `eventLoopExecutors` | Swift's global executor for a service served alone | ``EventLoopTaskExecutor`` (`TaskExecutor`) |
/// | `plainHTTPClient` | async-http-client for `http://` upstreams | ``PlainUpstreamTransportFactory`` (`UpstreamTransportFactory`) |
/// | `fastJSON` | `Codable` on the chat path | ``FastOpenAIChatCodec`` (`OpenAIChatCodec`), ``FastOpenAIWireCodec`` (`OpenAIWireCodec`) |
/// | `exchangeStreams` | one gRPC call per chat between edge and inference | ``ExchangeLines`` (`InferenceCallCarrier`), ``ExchangeStreamServer`` (`InferenceExchangeServer`) |
///
/// With every switch off, Sluice runs on its anchors alone; the conformance suite runs that way too
/// (`split-anchors`).
package struct FastPath: Sendable, Hashable {
    /// Serve edge connections with ``LoopHTTP1Channel``.
    package var eventLoopChannel: Bool
    /// Pin a service served alone to one event loop with ``EventLoopTaskExecutor``.
    package var eventLoopExecutors: Bool
    /// Send `http://` upstream calls through ``PlainHTTPClient`` (only where callers run on an event loop).
    package var plainHTTPClient: Bool
    /// Read and write the chat path's JSON with ``JSONReader`` and ``JSONWriter``.
    package var fastJSON: Bool
    /// Carry chat between an edge and inference served apart over `Exchange` streams.
    package var exchangeStreams: Bool

    /// Creates the switches; every piece is on by default.
    package init(
        eventLoopChannel: Bool = true,
        eventLoopExecutors: Bool = true,
        plainHTTPClient: Bool = true,
        fastJSON: Bool = true,
        exchangeStreams: Bool = true
    ) {
        self.eventLoopChannel = eventLoopChannel
        self.eventLoopExecutors = eventLoopExecutors
        self.plainHTTPClient = plainHTTPClient
        self.fastJSON = fastJSON
        self.exchangeStreams = exchangeStreams
    }

    /// What the edge gets: its server and its chat codec.
    package var edge: EdgeOptimizations {
        EdgeOptimizations(
            server: eventLoopChannel ? LoopHTTP1ServerProvider() : nil,
            chatCodec: fastJSON ? FastOpenAIChatCodec() : CodableOpenAIChatCodec()
        )
    }

    /// The codec of OpenAI-compatible providers.
    package var openAIWireCodec: any OpenAIWireCodec {
        fastJSON ? FastOpenAIWireCodec() : CodableOpenAIWireCodec()
    }

    /// The transport HTTP providers offer calls to first, or `nil` for async-http-client alone.
    ///
    /// - Parameter callersOnEventLoop: Whether calls arrive on an event loop of their own; the plain client is used
    ///   only then (off the loops it was seen to fail requests under load with `remoteConnectionClosed`).
    package func upstreamTransport(callersOnEventLoop: Bool) -> (any UpstreamTransportFactory)? {
        plainHTTPClient && callersOnEventLoop ? PlainUpstreamTransportFactory() : nil
    }

    /// The executor that keeps a service's tasks on `loop`, or `nil` for Swift's global executor.
    package func executor(for loop: any EventLoop) -> (any TaskExecutor)? {
        eventLoopExecutors ? EventLoopTaskExecutor.shared(for: loop) : nil
    }

    /// What carries an edge's chat calls to inference, or `nil` for one gRPC call each.
    ///
    /// - Parameter admissionWindow: How long one `Exchange` stream takes new calls.
    package func inferenceCarrier(admissionWindow: Duration = .seconds(60)) -> (any InferenceCallCarrier)? {
        exchangeStreams ? ExchangeLines(admissionWindow: admissionWindow) : nil
    }

    /// What serves `Exchange` streams on the inference side. Always served, so that an edge with the switch on can
    /// reach an inference service with it off.
    package var exchangeServer: any InferenceExchangeServer { ExchangeStreamServer() }
}
