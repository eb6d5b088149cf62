import Testing

@testable import SluiceFastPath

@Suite("Plain-HTTP upstream URLs")
struct PlainTargetTests {
    @Test(
        "splits http URLs into host, port and request path",
        arguments: [
            ("http://127.0.0.1:8000/v1/chat/completions", "127.0.0.1", 8000, "/v1/chat/completions"),
            ("http://vllm.internal/v1/chat/completions", "vllm.internal", 80, "/v1/chat/completions"),
            ("http://[::1]:11434/v1/chat/completions", "::1", 11434, "/v1/chat/completions"),
            ("http://[::1]/x", "::1", 80, "/x"),
            (
                "http://azure.local:8080/openai/deployments/gpt/chat/completions?api-version=2024-10-21",
                "azure.local", 8080, "/openai/deployments/gpt/chat/completions?api-version=2024-10-21"
            ),
            ("http://host:9", "host", 9, "/"),
            ("http://host?x=1", "host", 80, "/?x=1"),
            ("http://host/a#fragment", "host", 80, "/a"),
        ]
    )
    func splits(url: String, host: String, port: Int, path: String) throws {
        // Given an http URL
        // When it is split
        let target = try #require(PlainTarget(url))

        // Then host, port and path are those of the URL
        #expect(target.endpoint == PlainHTTPClient.Endpoint(host: host, port: port))
        #expect(target.path == path)
    }

    @Test(
        "leaves anything else to async-http-client or refuses it",
        arguments: [
            "https://api.openai.com/v1/chat/completions", "HTTPS://x/y", "ftp://host/x", "http://", "http:///path",
            "http://user:secret@host/x", "http://host:0/x", "http://host:65536/x", "http://host:port/x",
            "http://[::1/x", "http://[::1]x/y", "unix:///tmp/socket", "http://host:/x", "http://host:+80/x",
            "http://host:080000/x", "http://[]:80/x",
        ]
    )
    func refuses(url: String) {
        // Given a URL the plain client does not serve
        // When it is split
        // Then there is no target
        #expect(PlainTarget(url) == nil)
    }

    @Test("sends a Host header with the port, an IPv6 address in brackets")
    func hostHeader() throws {
        // Given targets with a name, an IPv4 and an IPv6 address
        // When their Host headers are made
        // Then each is host:port, the IPv6 one bracketed
        #expect(
            try #require(PlainTarget("http://vllm.internal/v1")).endpoint.hostHeader == "vllm.internal:80"
        )
        #expect(
            try #require(PlainTarget("http://10.0.0.7:8000/v1")).endpoint.hostHeader == "10.0.0.7:8000"
        )
        #expect(try #require(PlainTarget("http://[::1]:11434/v1")).endpoint.hostHeader == "[::1]:11434")
    }
}
