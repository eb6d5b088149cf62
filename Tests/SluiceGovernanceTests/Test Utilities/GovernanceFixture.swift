import GRDB
import Logging
import SluiceGovernance
import Testing

/// A governance service over its own in-memory SQLite database.
struct GovernanceFixture {
    let store: GovernanceStore
    let governance: LocalGovernanceService

    init() throws {
        store = try GovernanceStore(writer: DatabaseQueue())
        governance = LocalGovernanceService(
            store: store,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
    }
}

/// Runs an operation and returns the code of the ``GovernanceError`` it threw, or `nil` when it succeeded.
func governanceErrorCode<T>(_ operation: () async throws -> T) async -> GovernanceError.Code? {
    do {
        _ = try await operation()
        return nil
    } catch let error as GovernanceError {
        return error.code
    } catch {
        Issue.record("not a GovernanceError: \(error)")
        return nil
    }
}
