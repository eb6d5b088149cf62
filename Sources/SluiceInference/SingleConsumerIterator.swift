import Synchronization

/// Turns an async iterator into a `Sendable` stream that pulls from it on demand.
///
/// Pulling keeps back-pressure end to end (nothing is read from the upstream before the client asks) and needs
/// no task of its own.
final class SingleConsumerIterator<Base: AsyncIteratorProtocol>: @unchecked Sendable where Base.Element: Sendable {
    // @unchecked Sendable: `base` is touched only inside `next()`, and `busy` makes a second, concurrent call
    // trap instead of racing, so at most one task ever accesses `base` at a time.
    private var base: Base
    private let busy = Atomic<Bool>(false)

    init(_ base: sending Base) {
        self.base = base
    }

    func next() async throws -> Base.Element? {
        let (acquired, _) = busy.compareExchange(expected: false, desired: true, ordering: .acquiring)
        precondition(acquired, "a pulled stream was iterated by two tasks at once")
        defer { busy.store(false, ordering: .releasing) }
        return try await base.next()
    }
}

extension AsyncThrowingStream where Failure == any Error, Element: Sendable {
    /// Makes a stream that pulls each element from `iterator` when its consumer asks for one.
    ///
    /// - Parameter iterator: The iterator to pull from; the stream takes it over.
    /// - Returns: A stream for a single consumer.
    package static func pulling<Base: AsyncIteratorProtocol & SendableMetatype>(from iterator: sending Base) -> Self
    where Base.Element == Element {
        let box = SingleConsumerIterator(iterator)
        return AsyncThrowingStream(unfolding: { try await box.next() })
    }
}
