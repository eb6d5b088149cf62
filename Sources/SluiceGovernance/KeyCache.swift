import Synchronization

/// A short-lived, bounded cache of API-key records, so that authorizing a request does not read SQLite each time.
///
/// Entries live for the configured time-to-live (default one second): a key revoked through this process is
/// dropped at once; one revoked by another process (the CLI, another replica) stops working within the TTL.
/// The secret is still hashed and compared in constant time on every request; only the row lookup is cached.
final class KeyCache<Record: Sendable>: Sendable {
    private struct Entry {
        var record: Record?
        var expires: ContinuousClock.Instant
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let ttl: Duration
    private let capacity: Int

    init(ttl: Duration, capacity: Int = 10_000) {
        self.ttl = ttl
        self.capacity = capacity
    }

    /// The cached record for a key id: `.some(nil)` caches "no such key", `nil` means "not cached".
    func lookup(_ id: String, now: ContinuousClock.Instant = .now) -> Record?? {
        guard ttl > .zero else { return nil }
        return entries.withLock { entries -> Record?? in
            guard let entry = entries[id] else { return nil }
            guard entry.expires > now else {
                entries[id] = nil
                return nil
            }
            return .some(entry.record)
        }
    }

    func store(_ record: Record?, for id: String, now: ContinuousClock.Instant = .now) {
        guard ttl > .zero else { return }
        entries.withLock { entries in
            if entries.count >= capacity {
                entries = entries.filter { $0.value.expires > now }
                if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            }
            entries[id] = Entry(record: record, expires: now.advanced(by: ttl))
        }
    }

    func remove(_ id: String) {
        _ = entries.withLock { $0.removeValue(forKey: id) }
    }
}
