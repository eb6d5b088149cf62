import Synchronization

/// A short-lived, bounded cache, so that authorizing a request does not read SQLite (or call governance) each time.
///
/// Entries live for the configured time-to-live (default one second). ``LocalGovernanceService`` caches key rows:
/// a key revoked through it is dropped at once, one revoked by another process stops working within the TTL, and
/// the secret is still hashed and compared in constant time on every request. The governance gRPC client caches
/// successful authorizations under a hash of the credential.
package final class KeyCache<Record: Sendable>: Sendable {
    private struct Entry {
        var record: Record?
        var expires: ContinuousClock.Instant
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let ttl: Duration
    private let capacity: Int

    /// Creates an empty cache.
    ///
    /// - Parameters:
    ///   - ttl: How long an entry lives; `.zero` caches nothing.
    ///   - capacity: The most entries held; past it, expired entries go, then all.
    package init(ttl: Duration, capacity: Int = 10_000) {
        self.ttl = ttl
        self.capacity = capacity
    }

    /// The cached record for a key: `.some(nil)` caches "no such key", `nil` means "not cached".
    ///
    /// - Parameters:
    ///   - id: The key.
    ///   - now: The current time.
    /// - Returns: The cached record, if an unexpired entry exists.
    package func lookup(_ id: String, now: ContinuousClock.Instant = .now) -> Record?? {
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

    /// Stores a record (or its absence) for a key.
    ///
    /// - Parameters:
    ///   - record: The record, or `nil` for "no such key".
    ///   - id: The key.
    ///   - now: The current time.
    package func store(_ record: Record?, for id: String, now: ContinuousClock.Instant = .now) {
        guard ttl > .zero else { return }
        entries.withLock { entries in
            if entries.count >= capacity {
                entries = entries.filter { $0.value.expires > now }
                if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            }
            entries[id] = Entry(record: record, expires: now.advanced(by: ttl))
        }
    }

    /// Drops a key's entry.
    ///
    /// - Parameter id: The key.
    /// Forgets every entry: after a change that concerns many keys, such as a tenant's policy.
    package func removeAll() {
        entries.withLock { $0.removeAll() }
    }

    package func remove(_ id: String) {
        _ = entries.withLock { $0.removeValue(forKey: id) }
    }
}
