/// The file operations a write-ahead log makes its records durable with.
///
/// ``WriteAheadLog`` writes every frame and syncs it through this seam before the write it holds is acknowledged.
/// ``POSIXFileOperations`` is the real one; a test passes a recording one to ``VectorStore/open(dataDirectory:configuration:logger:files:)``
/// to see that each acknowledgement follows its sync (a crash test cannot: a killed process keeps the page cache).
///
/// ```swift
/// struct Recording: WALFileOperations {
///     let log: EventLog
///     func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
///         try POSIXFileOperations().write(fd, bytes, path: path)
///         log.append("write")
///     }
///     func sync(_ fd: Int32, path: String) throws {
///         try POSIXFileOperations().sync(fd, path: path)
///         log.append("sync")
///     }
/// }
/// ```
package protocol WALFileOperations: Sendable {
    /// Writes all bytes at the file's current offset.
    ///
    /// - Parameters:
    ///   - fd: The descriptor.
    ///   - bytes: The bytes.
    ///   - path: The file's path, for errors.
    func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws

    /// Flushes the file's data and metadata to disk.
    ///
    /// - Parameters:
    ///   - fd: The descriptor.
    ///   - path: The file's path, for errors.
    func sync(_ fd: Int32, path: String) throws
}

/// The real file operations: `write` and `fsync`.
package struct POSIXFileOperations: WALFileOperations {
    /// Creates the operations.
    package init() {}

    /// Writes all bytes, retrying short writes and `EINTR`.
    package func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        try FileIO.writeAll(fd, bytes, path: path)
    }

    /// `fsync`.
    package func sync(_ fd: Int32, path: String) throws {
        try FileIO.sync(fd, path: path)
    }
}
