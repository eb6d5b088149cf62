package import GRPCCore
package import SluiceInference
import SluiceInferenceGRPC
package import SluiceProtos
import Synchronization

/// Carries an `InferenceGRPCClient`'s chat calls over long-lived `Exchange` streams instead of one RPC each
/// (`performance.exchange_streams`): the same requests, answers, errors and deadlines, without the cost of setting
/// up a call (about 230 µs less per call between two processes on loopback). Each call's deadline is enforced by the
/// service, and by the client 100 ms after it.
///
/// It holds the line that takes new calls, and the queue through which new lines reach the client's `run()`.
///
/// A line takes calls for ``admissionWindow``; the first call after that opens a new line and retires the old one,
/// whose stream ends once its calls have. So a stream's deadline (the window plus the longest call, see
/// ``streamTimeout(longestCall:)``) is never what ends a call.
package final class ExchangeLines: InferenceCallCarrier {
    /// How long a line takes new calls.
    let admissionWindow: Duration

    /// The lines for `run()` to hold open.
    let jobs = JobQueue<ExchangeLine>()
    private let state = Mutex<(current: ExchangeLine?, isClosed: Bool)>((nil, false))

    /// Creates the lines of a client; the first call opens the first line.
    ///
    /// - Parameter admissionWindow: How long a line takes new calls.
    package init(admissionWindow: Duration = .seconds(60)) {
        self.admissionWindow = admissionWindow
    }

    /// The deadline of a line's stream.
    ///
    /// - Parameter longestCall: The longest deadline of a call the line carries.
    func streamTimeout(longestCall: Duration) -> Duration {
        admissionWindow + longestCall + .seconds(30)
    }

    /// The line to make a call on: the current one while it admits calls, otherwise a new one.
    ///
    /// - Throws: ``InferenceError/Code/upstreamUnavailable`` once the client shuts down.
    func line() throws -> ExchangeLine {
        let now = ContinuousClock.now
        let (line, retired) = state.withLock { state -> (ExchangeLine?, ExchangeLine?) in
            if let current = state.current, current.admits(at: now) { return (current, nil) }
            guard !state.isClosed else { return (nil, nil) }
            let line = ExchangeLine(admitsUntil: now.advanced(by: admissionWindow))
            guard jobs.enqueue(line) else {
                state.isClosed = true
                return (nil, state.current)
            }
            defer { state.current = line }
            return (line, state.current)
        }
        retired?.retire()
        guard let line else { throw InferenceError(.upstreamUnavailable, "The inference client is shutting down") }
        return line
    }

    /// Answers on the current line; see ``InferenceCallCarrier/chat(_:timeout:)``.
    package func chat(_ request: Sluice_Inference_V1_ChatRequest, timeout: Duration) async throws -> ChatResponse {
        while true {
            do {
                return try await line().chat(request, timeout: timeout)
            } catch is ExchangeLine.Retired {
                continue
            }
        }
    }

    /// Opens a stream on the current line; see ``InferenceCallCarrier/openChatStream(_:timeout:)``.
    package func openChatStream(
        _ request: Sluice_Inference_V1_ChatRequest,
        timeout: Duration
    ) async throws
        -> ChatStream
    {
        while true {
            do {
                return try await line().openChatStream(request, timeout: timeout)
            } catch is ExchangeLine.Retired {
                continue
            }
        }
    }

    /// Holds every line open until it ends; see ``InferenceCallCarrier/run(client:longestCall:metadata:)``.
    package func run<Transport: ClientTransport>(
        client: Sluice_Inference_V1_InferenceService.Client<Transport>,
        longestCall: Duration,
        metadata: Metadata
    ) async {
        var streamOptions = CallOptions.defaults
        streamOptions.timeout = streamTimeout(longestCall: longestCall)
        let options = streamOptions
        await withDiscardingTaskGroup { held in
            while let line = await jobs.next() {
                held.addTask { await line.run(with: client, options: options, metadata: metadata) }
            }
        }
    }

    /// Stops opening lines and retires the current one: its open calls finish, new calls fail.
    package func shutdown() {
        jobs.finish()
        let current = state.withLock { state -> ExchangeLine? in
            state.isClosed = true
            defer { state.current = nil }
            return state.current
        }
        current?.retire()
    }
}
