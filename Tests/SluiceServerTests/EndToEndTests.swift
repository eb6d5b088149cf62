import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import SluiceEdge
import SluiceGovernance
import SluiceServer
import SluiceTesting
import Testing

@Suite("End to end over a real socket")
struct EndToEndTests {
    private static func post(port: Int, key: String, body: ByteBuffer) async throws -> (HTTPClientResponse, String) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/chat/completions")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(body)
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return (response, String(buffer: bytes))
    }

    @Test("serves echo chats, streamed and not, then shuts down gracefully", .timeLimit(.minutes(1)))
    func servesAndShutsDown() async throws {
        // Given the all-in-one runtime on a free port with a fresh data directory
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sluice-e2e-\(UUID().uuidString)"
        )
        defer { try? FileManager.default.removeItem(at: dataDirectory) }
        var configuration = SluiceConfiguration()
        configuration.http.port = 0
        configuration.services.vector.address = "127.0.0.1:0"
        configuration.dataDirectory = dataDirectory.path
        let runtime = SluiceRuntime(configuration: configuration, environment: [:], logger: .silent)
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let services = try await runtime.makeServices(mode: .all) { port in portContinuation.yield(port) }
        let group = ServiceGroup(services: services, logger: .silent)

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                defer { portContinuation.finish() }
                try await group.run()
            }
            var portIterator = ports.makeAsyncIterator()
            let port = try #require(await portIterator.next(), "the HTTP server never started")
            let store = try GovernanceStore.open(dataDirectory: dataDirectory)
            let governance = LocalGovernanceService(store: store, logger: .silent)
            let key = try await governance.createKey(KeyCreationRequest(tenant: "e2e")).plaintext

            // When a chat and a streamed chat are sent over the socket
            let (plain, plainBody) = try await Self.post(
                port: port,
                key: key,
                body: ByteBuffer(bytes: TestJSON.chat(text: "hello over the wire"))
            )
            let (streamed, streamBody) = try await Self.post(
                port: port,
                key: key,
                body: ByteBuffer(bytes: TestJSON.chat(text: "streamed over the wire", stream: true))
            )

            // Then both are answered by echo
            #expect(plain.status == .ok)
            #expect(plain.headers.first(name: "X-Sluice-Provider") == "echo")
            let completion = try TestJSON.object(plainBody)
            let message = (completion["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any]
            #expect(message?["content"] as? String == "hello over the wire")
            #expect(streamed.status == .ok)
            #expect(streamed.headers.first(name: "Content-Type") == "text/event-stream")
            let events = ServerSentEvents.data(in: streamBody)
            #expect(events.last == "[DONE]")
            let text = try events.dropLast().map(TestJSON.object).compactMap {
                (($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["content"] as? String
            }.joined()
            #expect(text == "streamed over the wire")

            // When the group is asked to shut down
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()

            // Then it returned, the bootstrap admin key exists, and both calls reached the ledger
            let adminKeys = try await governance.listKeys(tenant: "admin")
            #expect(adminKeys.count == 1)
            #expect(adminKeys.first?.roles == [.admin])
            let ledger = try await store.ledger()
            #expect(ledger.count == 2)
            #expect(ledger.allSatisfy { $0.outcome == "ok" && $0.provider == "echo" })
        }
    }
}
