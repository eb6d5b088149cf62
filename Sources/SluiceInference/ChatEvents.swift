import Synchronization

/// The events of one chat stream, for one consumer: what a provider's ``ChatProvider/openStream(_:upstreamModel:)``
/// returns and what ``ChatStream/events`` hands out.
///
/// Iterating pulls each event from the underlying iterator when the consumer asks for it, so back-pressure holds end
/// to end (nothing is read from the upstream before the client asks) and no task of its own is needed. Unlike an
/// `AsyncThrowingStream(unfolding:)` in between, pulling adds no cancellation handler or lock per event: a cancelled
/// consumer is handled by the iterator underneath, which is waiting on the upstream. Only one task may iterate at a
/// time; a second, concurrent iteration traps.
package struct ChatEvents: AsyncSequence, Sendable {
    package typealias Element = ChatStreamEvent
    package typealias Failure = any Error

    private let source: Source

    /// Events pulled from `iterator`, which the sequence takes over.
    ///
    /// - Parameter iterator: Where the events come from.
    package init(pulling iterator: sending some AsyncIteratorProtocol<ChatStreamEvent, any Error>) {
        source = Source(iterator)
    }

    /// The events of `stream`.
    ///
    /// - Parameter stream: A stream of events, fed by a continuation or unfolding.
    package init(_ stream: AsyncThrowingStream<ChatStreamEvent, any Error>) {
        source = Source(stream.makeAsyncIterator())
    }

    /// An iterator over the events; every iterator of one sequence pulls from the same source.
    package func makeAsyncIterator() -> Iterator {
        Iterator(source: source)
    }

    /// Pulls the next event from the sequence's source.
    package struct Iterator: AsyncIteratorProtocol {
        fileprivate let source: Source

        /// The next event, or `nil` once the events have ended.
        package func next() async throws -> ChatStreamEvent? {
            try await source.next()
        }
    }

    /// The underlying iterator, guarded against concurrent use.
    fileprivate final class Source: @unchecked Sendable {
        // @unchecked Sendable: `base` is touched only inside `next()`, and `busy` makes a second, concurrent call
        // trap instead of racing, so at most one task ever accesses `base` at a time.
        private var base: any AsyncIteratorProtocol<ChatStreamEvent, any Error>
        private let busy = Atomic<Bool>(false)

        init(_ base: sending some AsyncIteratorProtocol<ChatStreamEvent, any Error>) {
            self.base = base
        }

        func next() async throws -> ChatStreamEvent? {
            let (acquired, _) = busy.compareExchange(expected: false, desired: true, ordering: .acquiring)
            precondition(acquired, "a chat event sequence was iterated by two tasks at once")
            defer { busy.store(false, ordering: .releasing) }
            return try await base.next()
        }
    }
}
