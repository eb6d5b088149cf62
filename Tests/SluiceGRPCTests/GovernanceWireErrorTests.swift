import GRPCCore
import SluiceGovernance
import SluiceGovernanceGRPC
import Testing

@Suite("Governance errors rebuilt from the wire")
struct GovernanceWireErrorTests {
    struct Refused: Error {}

    @Test(
        "an unreachable or late governance service is unavailable, never the caller's fault",
        arguments: [
            RPCError(code: .unavailable, message: "connection refused") as any Error,
            RPCError(code: .deadlineExceeded, message: "deadline passed"),
            Refused(),
        ]
    )
    func unavailable(error: any Error) {
        // When
        let rebuilt = GovernanceError(wireError: error)
        // Then
        #expect(rebuilt.code == .unavailable)
    }

    @Test("a status without Sluice's error code is internal")
    func internalStatus() {
        #expect(
            GovernanceError(wireError: RPCError(code: .unauthenticated, message: "bad internal token")).code
                == .internal
        )
    }

    @Test("the exact domain code survives the wire")
    func exactCode() {
        // Given a server-side error as the server sends it
        let sent = GovernanceError(.unavailable, "store offline")
        let status = RPCError(code: sent.rpcErrorCode, message: sent.rpcErrorMessage, metadata: sent.rpcErrorMetadata)
        // When
        let rebuilt = GovernanceError(wireError: status)
        // Then
        #expect(rebuilt == sent)
    }
}
