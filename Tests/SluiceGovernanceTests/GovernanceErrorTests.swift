import GRDB
import SluiceGovernance
import Testing

@Suite("Governance errors")
struct GovernanceErrorTests {
    @Test(
        "a database that cannot be used right now is unavailable, so callers fail closed; other failures are internal",
        arguments: [
            (ResultCode.SQLITE_BUSY, GovernanceError.Code.unavailable), (.SQLITE_LOCKED, .unavailable),
            (.SQLITE_IOERR, .unavailable), (.SQLITE_FULL, .unavailable), (.SQLITE_CANTOPEN, .unavailable),
            (.SQLITE_READONLY, .unavailable), (.SQLITE_CONSTRAINT, .internal), (.SQLITE_ERROR, .internal),
        ]
    )
    func classifiesDatabaseErrors(result: ResultCode, expected: GovernanceError.Code) {
        // When a store failure with this result code escapes the service
        let error = GovernanceError(unexpected: DatabaseError(resultCode: result, message: "disk I/O at /var/secret"))

        // Then it maps to the expected code, and the message names no file
        #expect(error.code == expected)
        #expect(!error.message.contains("/var/secret"))
    }

    @Test("a governance error passes through unchanged, and anything else is internal")
    func passesThrough() {
        struct Other: Error {}
        #expect(
            GovernanceError(unexpected: GovernanceError(.notFound, "no key")) == GovernanceError(.notFound, "no key")
        )
        #expect(GovernanceError(unexpected: Other()).code == .internal)
    }
}
