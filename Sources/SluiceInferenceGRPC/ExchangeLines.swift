import SluiceInference
import Synchronization

/// The `Exchange` streams of one ``InferenceGRPCClient``: the line that takes new calls, and the queue through which
/// new lines reach the client's `run()`.
///
/// A line takes calls for ``admissionWindow``; the first call after that opens a new line and retires the old one,
/// whose stream ends once its calls have. So a stream's deadline (the window plus the longest call, see
/// ``streamTimeout(longestCall:)``) is never what ends a call.
final class ExchangeLines: Sendable {
    /// How long a line takes new calls.
    let admissionWindow: Duration

    /// The lines for `run()` to hold open.
    let jobs = JobQueue<ExchangeLine>()
    private let state = Mutex<(current: ExchangeLine?, isClosed: Bool)>((nil, false))

    /// Creates the lines of a client; the first call opens the first line.
    ///
    /// - Parameter admissionWindow: How long a line takes new calls.
    init(admissionWindow: Duration) {
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

    /// Stops opening lines and retires the current one: its open calls finish, new calls fail.
    func shutdown() {
        jobs.finish()
        let current = state.withLock { state -> ExchangeLine? in
            state.isClosed = true
            defer { state.current = nil }
            return state.current
        }
        current?.retire()
    }
}
