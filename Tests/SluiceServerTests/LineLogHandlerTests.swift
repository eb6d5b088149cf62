import Logging
import SluiceServer
import Synchronization
import Testing

@Suite("Line log handler")
struct LineLogHandlerTests {
    private final class Lines: Sendable {
        let written = Mutex<[String]>([])
    }

    @Test("writes one line with the level, label, sorted metadata, source and message")
    func line() throws {
        // Given a logger with metadata set on it, as Hummingbird sets a request id
        let lines = Lines()
        var logger = Logger(label: "sluice") { label in
            LineLogHandler(label: label, level: .info) { line in lines.written.withLock { $0.append(line) } }
        }
        logger[metadataKey: "request_id"] = "r-1"
        logger[metadataKey: "a"] = "first"

        // When a record with its own metadata is logged, and one below the level
        logger.warning("upstream failed", metadata: ["status": "502", "a": "override"])
        logger.debug("not written")

        // Then exactly one line, in StreamLogHandler's shape
        let written = lines.written.withLock { $0 }
        try #require(written.count == 1)
        let line = written[0]
        #expect(
            line.hasSuffix(
                " warning sluice: a=override request_id=r-1 status=502 [SluiceServerTests] upstream failed\n"
            )
        )
        // It starts with a UTC timestamp such as 2026-11-21T16:40:00+0000
        #expect(line.prefix(24).wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000/) != nil)
    }

    @Test("adds the metadata provider's values")
    func provider() throws {
        let lines = Lines()
        let provider = Logger.MetadataProvider { ["trace_id": "t-9"] }
        let logger = Logger(label: "edge") { label in
            LineLogHandler(label: label, level: .trace, metadataProvider: provider) { line in
                lines.written.withLock { $0.append(line) }
            }
        }
        logger.info("hello")
        let written = lines.written.withLock { $0 }
        try #require(written.count == 1)
        #expect(written[0].hasSuffix(" info edge: trace_id=t-9 [SluiceServerTests] hello\n"))
    }
}
