import Foundation
package import Logging

/// Writes one line per log record to standard error, formatting metadata only when a record is written.
///
/// swift-log's `StreamLogHandler` renders its metadata into a string every time metadata is set. Hummingbird sets a
/// request id on a copy of the logger for every request, so that rendering cost every request a few microseconds
/// even though almost none of them log anything. This handler keeps the metadata as it is and renders it in
/// ``log(event:)``. Lines read like `StreamLogHandler`'s:
///
/// ```
/// 2026-11-21T16:40:00+0000 warning sluice: request_id=019aa6f0-… status=502 [SluiceEdge] request failed
/// ```
///
/// ```swift
/// LoggingSystem.bootstrap { label in LineLogHandler(label: label, level: .info) }
/// ```
package struct LineLogHandler: LogHandler {
    /// The logger's label, written on every line.
    package let label: String
    /// The lowest level written.
    package var logLevel: Logger.Level
    /// Metadata written on every line of this logger.
    package var metadata: Logger.Metadata = [:]
    /// Metadata added to every line from the task's context.
    package var metadataProvider: Logger.MetadataProvider?

    private let write: @Sendable (String) -> Void

    /// Creates a handler that writes to standard error.
    ///
    /// - Parameters:
    ///   - label: The logger's label.
    ///   - level: The lowest level written.
    ///   - metadataProvider: Metadata added from the task's context.
    package init(label: String, level: Logger.Level, metadataProvider: Logger.MetadataProvider? = nil) {
        self.init(label: label, level: level, metadataProvider: metadataProvider, write: Self.writeToStandardError)
    }

    /// Creates a handler that hands each line to `write`; for tests.
    ///
    /// - Parameters:
    ///   - label: The logger's label.
    ///   - level: The lowest level written.
    ///   - metadataProvider: Metadata added from the task's context.
    ///   - write: Receives each line, newline included.
    package init(
        label: String,
        level: Logger.Level,
        metadataProvider: Logger.MetadataProvider? = nil,
        write: @escaping @Sendable (String) -> Void
    ) {
        self.label = label
        self.logLevel = level
        self.metadataProvider = metadataProvider
        self.write = write
    }

    /// One metadata value of this logger.
    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes the record as one line.
    package func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get(), !provided.isEmpty {
            merged.merge(provided) { _, provided in provided }
        }
        if let explicit = event.metadata, !explicit.isEmpty {
            merged.merge(explicit) { _, explicit in explicit }
        }
        var line = Self.timestamp() + " \(event.level) \(label):"
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            line += " \(key)=\(value)"
        }
        line += " [\(event.source)] \(event.message)\n"
        write(line)
    }

    private static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &parts)
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static let writeToStandardError: @Sendable (String) -> Void = { line in
        // One write(2) per line (unless the kernel takes it in parts), so lines from different threads do not mix.
        var line = line
        line.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Foundation.write(STDERR_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0, errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }
}
