/// Settings of the HTTP edge.
///
/// Configuration keys (section `http`):
/// - `host` (`127.0.0.1`), `port` (`8080`; env `SLUICE_HTTP_HOST`, `SLUICE_HTTP_PORT`).
/// - `max_body_bytes` (4 MiB): larger request bodies get 413.
package struct EdgeConfiguration: Sendable, Hashable, Codable {
    /// The address to listen on.
    package var host: String
    /// The port to listen on; 0 picks a free one.
    package var port: Int
    /// The largest accepted request body.
    package var maxBodyBytes: Int

    /// Creates edge settings.
    ///
    /// - Parameters:
    ///   - host: The address to listen on.
    ///   - port: The port to listen on.
    ///   - maxBodyBytes: The largest accepted request body.
    package init(host: String = "127.0.0.1", port: Int = 8080, maxBodyBytes: Int = 4 * 1024 * 1024) {
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
    }

    enum CodingKeys: String, CodingKey {
        case host, port
        case maxBodyBytes = "max_body_bytes"
    }

    /// Decodes from the configuration file; absent keys keep their defaults.
    package init(from decoder: any Decoder) throws {
        let defaults = EdgeConfiguration()
        let container = try decoder.container(keyedBy: CodingKeys.self)
        host = try container.decodeIfPresent(String.self, forKey: .host) ?? defaults.host
        port = try container.decodeIfPresent(Int.self, forKey: .port) ?? defaults.port
        maxBodyBytes = try container.decodeIfPresent(Int.self, forKey: .maxBodyBytes) ?? defaults.maxBodyBytes
    }
}
