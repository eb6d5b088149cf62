package import Foundation
package import Logging
package import SluiceGovernance
package import SluiceRedis
import Synchronization

/// Rate limits and budget reservations in Redis, shared by every governance replica that uses the same Redis.
///
/// Each decision is one Lua script (``QuotaScripts``), run atomically by Redis, so replicas never overshoot a limit or
/// a budget between them; times come from Redis's clock. The client (``RedisClient``) runs its I/O on threads of its
/// own: no event loop or Swift concurrency thread ever waits on Redis.
///
/// When Redis cannot be reached, every call throws ``QuotaStoreError``: governance then refuses limited requests
/// (`governance_unavailable`), or lets them through when configured to fail open. A settlement that cannot be
/// delivered is kept in memory (up to ``maximumPendingSettlements``) and sent once Redis answers again, so an outage
/// does not lose what calls used; budget counters Redis itself lost (a restart without persistence) are seeded again
/// from the ledger.
///
/// ```swift
/// let redis = try RedisClient(configuration: try RedisConfiguration(url: "redis://127.0.0.1:6379"), logger: logger)
/// let governance = LocalGovernanceService(store: store, logger: logger, quotas: RedisQuotaStore(client: redis, logger: logger))
/// ```
package final class RedisQuotaStore: QuotaStore {
    private let client: RedisClient
    private let logger: Logger
    private let pending = Mutex<[QuotaSettlement]>([])
    private let flushing = Atomic<Bool>(false)

    /// Settlements kept while Redis is unreachable; past this, the oldest are dropped (and logged).
    package static let maximumPendingSettlements = 100_000

    /// The prefix of every key the store writes.
    static let prefix = "sluice:q:"

    /// Creates a store on a client; the store does not own it.
    ///
    /// - Parameters:
    ///   - client: The Redis client.
    ///   - logger: The logger.
    package init(client: RedisClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    package func admit(_ admission: QuotaAdmission) async throws -> QuotaDecision {
        let rateKeys = admission.rates.map { Self.prefix + "rate:" + $0.key }
        let budgetKeys = admission.budgets.map { Self.budgetKey($0.counter) }
        var arguments = [
            String(admission.rates.count), String(admission.budgets.count), String(admission.tokens),
            String(admission.micros), String(admission.expiresAt.quotaMicroseconds),
            admission.needsSettlement ? "1" : "0",
            "\(admission.requestID)|\(admission.tokens)|\(admission.micros)",
        ]
        for rate in admission.rates {
            arguments += [rate.unit == .requests ? "0" : "1", String(rate.perMinute), String(rate.amount)]
        }
        for budget in admission.budgets {
            arguments += [
                String(budget.tokenLimit ?? -1), String(budget.moneyLimitMicros ?? -1),
                String(Self.expiry(of: budget.counter)),
            ]
        }
        let reply = try await run(
            QuotaScripts.admit,
            keys: [Self.prefix + "resv:" + admission.requestID] + rateKeys + budgetKeys
                + budgetKeys.map { $0 + ":open" },
            arguments: arguments
        )
        let decision = try Self.decision(reply, admission: admission)
        flushPendingSettlements()
        return decision
    }

    package func seed(_ counter: BudgetCounter, with usage: BudgetUsage, through mark: Int64) async throws {
        let key = Self.budgetKey(counter)
        _ = try await run(
            QuotaScripts.seed,
            keys: [key, key + ":early"],
            arguments: [String(usage.tokens), String(usage.micros), String(mark), String(Self.expiry(of: counter))]
        )
    }

    package func settle(_ settlement: QuotaSettlement) async throws {
        do {
            try await send(settlement)
        } catch {
            keep(settlement)
            throw error
        }
    }

    /// Settles a batch in one pipeline; settlements that cannot be delivered are kept, as ``settle(_:)`` keeps them.
    package func settle(batch settlements: [QuotaSettlement]) async -> [any Error] {
        guard settlements.count > 1 else {
            guard let settlement = settlements.first else { return [] }
            do {
                try await settle(settlement)
                return []
            } catch {
                return [error]
            }
        }
        do {
            var replies = try await client.pipeline(settlements.map { Self.command(sha: true, $0) })
            // A Redis that lost its script cache answers NOSCRIPT: EVAL caches the script again, once.
            if let first = replies.firstIndex(where: { $0.errorCode == "NOSCRIPT" }) {
                _ = try await client.send(Self.command(sha: false, settlements[first]))
                replies[first] = .integer(1)
                let again = replies.indices.filter { replies[$0].errorCode == "NOSCRIPT" }
                for (index, reply) in zip(
                    again,
                    try await client.pipeline(again.map { Self.command(sha: true, settlements[$0]) })
                ) {
                    replies[index] = reply
                }
            }
            return zip(settlements, replies).compactMap { settlement, reply in
                guard case .error(let message) = reply else { return nil }
                keep(settlement)
                return QuotaStoreError("Redis refused a settlement: \(message)")
            }
        } catch {
            settlements.forEach(keep)
            return [QuotaStoreError("Redis: \(error)")]
        }
    }

    package func status(of counters: [BudgetCounter]) async throws -> [BudgetCounterStatus?] {
        guard !counters.isEmpty else { return [] }
        let keys = counters.map(Self.budgetKey)
        let reply = try await run(QuotaScripts.status, keys: keys + keys.map { $0 + ":open" }, arguments: [])
        guard let rows = reply.array, rows.count == counters.count else { throw Self.malformed(reply) }
        return try rows.map { row in
            guard let fields = row.array?.map(Self.number), fields.count == 5 else { throw Self.malformed(reply) }
            guard fields[0] == 1 else { return nil }
            return BudgetCounterStatus(
                used: BudgetUsage(tokens: fields[1] ?? 0, micros: fields[2] ?? 0),
                reserved: BudgetUsage(tokens: fields[3] ?? 0, micros: fields[4] ?? 0)
            )
        }
    }

    // MARK: - Settlements

    private func send(_ settlement: QuotaSettlement) async throws {
        let (keys, arguments) = Self.settleArguments(settlement)
        _ = try await run(QuotaScripts.settle, keys: keys, arguments: arguments)
    }

    private static func settleArguments(_ settlement: QuotaSettlement) -> (keys: [String], arguments: [String]) {
        let keys = settlement.counters.map(budgetKey)
        return (
            [prefix + "resv:" + settlement.requestID] + keys + keys.map { $0 + ":early" },
            [
                String(settlement.counters.count), String(settlement.ledgerID), String(settlement.usage.tokens),
                String(settlement.usage.micros),
            ] + settlement.counters.map { String(expiry(of: $0)) }
        )
    }

    /// The settle script as one command: `EVALSHA` by its hash, or `EVAL` with its source.
    private static func command(sha: Bool, _ settlement: QuotaSettlement) -> [String] {
        let (keys, arguments) = settleArguments(settlement)
        let script = QuotaScripts.settle
        return [sha ? "EVALSHA" : "EVAL", sha ? script.sha1 : script.source, String(keys.count)] + keys + arguments
    }

    private func keep(_ settlement: QuotaSettlement) {
        let dropped = pending.withLock { pending -> Bool in
            pending.append(settlement)
            guard pending.count > Self.maximumPendingSettlements else { return false }
            pending.removeFirst(pending.count - Self.maximumPendingSettlements)
            return true
        }
        if dropped {
            logger.error(
                "settlements waiting for Redis exceed the limit; the oldest are dropped (budget counters are seeded again from the ledger when Redis loses them)",
                metadata: ["limit": "\(Self.maximumPendingSettlements)"]
            )
        }
    }

    /// Sends the settlements kept during an outage, in order, once; one flush at a time.
    private func flushPendingSettlements() {
        guard pending.withLock({ !$0.isEmpty }),
            flushing.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return }
        Task {
            defer { flushing.store(false, ordering: .releasing) }
            while let next = pending.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) {
                do {
                    try await send(next)
                } catch {
                    pending.withLock { $0.insert(next, at: 0) }
                    return
                }
            }
            logger.notice("settlements kept during the Redis outage are delivered")
        }
    }

    // MARK: - Wire

    private func run(_ script: RedisScript, keys: [String], arguments: [String]) async throws -> RedisReply {
        do {
            return try await client.evaluate(script, keys: keys, arguments: arguments)
        } catch let error as RedisError {
            throw QuotaStoreError("Redis: \(error)")
        }
    }

    private static func decision(_ reply: RedisReply, admission: QuotaAdmission) throws -> QuotaDecision {
        guard let items = reply.array, let kind = items.first?.string else { throw malformed(reply) }
        let numbers = items.dropFirst().map(number)
        func value(_ index: Int) throws -> Int64 {
            guard index < numbers.count, let number = numbers[index] else { throw malformed(reply) }
            return number
        }
        switch kind {
        case "ok":
            func state(_ base: Int) throws -> LimitState? {
                let limit = try value(base)
                guard limit >= 0 else { return nil }
                return LimitState(
                    limit: limit,
                    remaining: try value(base + 1),
                    reset: .microseconds(try value(base + 2))
                )
            }
            return .admitted(requests: try state(0), tokens: try state(3))
        case "rate":
            let unit: RateCharge.Unit = try value(0) == 0 ? .requests : .tokens
            let state = LimitState(limit: try value(1), remaining: try value(2), reset: .microseconds(try value(3)))
            let retry = try value(4)
            return .rateLimited(unit, state, retryAfter: retry < 0 ? nil : .microseconds(retry))
        case "budget":
            let index = Int(try value(0)) - 1
            guard admission.budgets.indices.contains(index) else { throw malformed(reply) }
            return .budgetExhausted(admission.budgets[index].counter)
        case "seed":
            let counters = try numbers.map { number -> BudgetCounter in
                guard let number, admission.budgets.indices.contains(Int(number) - 1) else { throw malformed(reply) }
                return admission.budgets[Int(number) - 1].counter
            }
            return .needsSeed(counters)
        default:
            throw malformed(reply)
        }
    }

    private static func number(_ reply: RedisReply) -> Int64? {
        if let integer = reply.integer { return integer }
        return reply.string.flatMap { Int64($0) }
    }

    private static func malformed(_ reply: RedisReply) -> QuotaStoreError {
        QuotaStoreError("Redis answered a quota script unexpectedly: \(reply)")
    }

    static func budgetKey(_ counter: BudgetCounter) -> String {
        prefix + "budget:" + counter.key
    }

    /// When a counter's keys expire: a day after its period ends, in milliseconds since 1970.
    static func expiry(of counter: BudgetCounter) -> Int64 {
        Int64((counter.end.timeIntervalSince1970 + 86_400) * 1_000)
    }
}

extension RedisReply {
    /// The code of an error reply (`NOSCRIPT`, `WRONGTYPE`), `nil` for any other reply.
    var errorCode: Substring? {
        guard case .error(let message) = self else { return nil }
        return message.split(separator: " ", maxSplits: 1).first
    }
}
