import GRPCCore
import SluiceGovernance
import SluiceGovernanceGRPC
import SluiceProtos
import Testing

@Suite("Governance over gRPC: usage batches", .timeLimit(.minutes(1)))
struct GovernanceUsageBatchTests {
    private static let principal = Principal(tenantID: "ten_1", tenantName: "", keyID: "key_9", roles: [])

    private static func record(_ index: Int) -> UsageRecord {
        UsageRecord(
            requestID: "req-\(index)",
            principal: principal,
            model: "gpt-4o",
            provider: "openai",
            upstreamModel: "gpt-4o-2024-08-06",
            promptTokens: index,
            completionTokens: 2 * index,
            isEstimated: index.isMultiple(of: 2),
            latencyMilliseconds: 10 + index,
            outcome: index.isMultiple(of: 5) ? "upstream_timeout" : "ok"
        )
    }

    @Test("a batch reaches the implementation whole and in order", arguments: [1, 7, 1000, 2500])
    func batchArrivesInOrder(count: Int) async throws {
        // Given records of `count` finished requests
        let fake = FakeGovernanceService()
        let records = (0..<count).map(Self.record)

        // When the client records them as a batch
        try await InProcessMesh.withGovernance(serving: fake) { client, _ in
            try await client.recordUsage(batch: records)
        }

        // Then the implementation received every record unchanged, in order (past 1,000 in several calls)
        #expect(fake.usageRecords == records)
    }

    @Test("a batch that is empty, too large or has a record without ids is refused with invalid_argument")
    func badBatches() async throws {
        // Given a governance server and a raw client of its protocol
        let fake = FakeGovernanceService()
        var valid = Sluice_Governance_V1_UsageRecord()
        valid.requestID = "req-1"
        valid.tenantID = "ten_1"
        var withoutRequestID = valid
        withoutRequestID.requestID = ""
        var withoutTenant = valid
        withoutTenant.tenantID = ""
        let batches: [[Sluice_Governance_V1_UsageRecord]] = [
            [], Array(repeating: valid, count: 1001), [valid, withoutRequestID], [withoutTenant],
        ]

        try await InProcessMesh.withGovernance(serving: fake) { _, grpc in
            let raw = Sluice_Governance_V1_GovernanceService.Client(wrapping: grpc)
            for records in batches {
                // When the batch is sent
                var request = Sluice_Governance_V1_RecordUsageBatchRequest()
                request.records = records
                let error = await #expect(throws: RPCError.self) { _ = try await raw.recordUsageBatch(request) }

                // Then it is refused as invalid, and nothing of it is recorded
                #expect(error?.code == .invalidArgument, "batch of \(records.count)")
            }
            // And the server still answers a good batch afterwards
            var good = Sluice_Governance_V1_RecordUsageBatchRequest()
            good.records = [valid]
            let response = try await raw.recordUsageBatch(good)
            #expect(response.recorded == 1)
        }
        #expect(fake.usageRecords.map(\.requestID) == ["req-1"])
    }
}
