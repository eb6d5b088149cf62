package import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Thin POSIX file helpers for the WAL and snapshots: whole writes, fsync, directory fsync, atomic replace.
package enum FileIO {
    /// A failed system call, with errno's text.
    package struct Failure: Error, CustomStringConvertible {
        /// What was being done.
        package var operation: String
        /// The path.
        package var path: String
        /// errno.
        package var code: Int32

        /// A readable form.
        package var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }
    }

    /// Opens a file, creating it if needed.
    ///
    /// - Parameters:
    ///   - path: The path.
    ///   - flags: Extra open flags.
    /// - Returns: The descriptor.
    package static func open(_ path: String, flags: Int32) throws -> Int32 {
        let fd = Glibc.open(path, flags | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Failure(operation: "open", path: path, code: errno) }
        return fd
    }

    /// Writes all bytes at the current offset, retrying short writes and EINTR.
    ///
    /// - Parameters:
    ///   - fd: The descriptor.
    ///   - bytes: The bytes.
    ///   - path: For errors.
    package static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw Failure(operation: "write", path: path, code: errno)
            }
            offset += written
        }
    }

    /// Flushes a file's data and metadata to disk.
    ///
    /// - Parameters:
    ///   - fd: The descriptor.
    ///   - path: For errors.
    package static func sync(_ fd: Int32, path: String) throws {
        guard fsync(fd) == 0 else { throw Failure(operation: "fsync", path: path, code: errno) }
    }

    /// Makes a directory's entries (a create, rename or unlink in it) durable.
    ///
    /// - Parameter path: The directory.
    package static func syncDirectory(_ path: String) throws {
        let fd = try open(path, flags: O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try sync(fd, path: path)
    }

    /// Writes a file so that it is either wholly there or not at all: temporary file, fsync, rename, directory fsync.
    ///
    /// - Parameters:
    ///   - url: The destination.
    ///   - body: Writes the content through the given descriptor.
    package static func replaceAtomically(_ url: URL, body: (Int32) throws -> Void) throws {
        let temporary = url.path + ".tmp"
        let fd = try open(temporary, flags: O_WRONLY | O_CREAT | O_TRUNC)
        do {
            try body(fd)
            try sync(fd, path: temporary)
            close(fd)
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        guard rename(temporary, url.path) == 0 else { throw Failure(operation: "rename", path: temporary, code: errno) }
        try syncDirectory(url.deletingLastPathComponent().path)
    }

    /// Reads a whole file.
    ///
    /// - Parameter url: The file.
    /// - Returns: Its bytes.
    package static func read(_ url: URL) throws -> [UInt8] {
        let fd = try open(url.path, flags: O_RDONLY)
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw Failure(operation: "stat", path: url.path, code: errno) }
        let size = Int(info.st_size)
        return try [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            var offset = 0
            while offset < size {
                let count = Glibc.read(fd, buffer.baseAddress! + offset, size - offset)
                if count < 0 {
                    if errno == EINTR { continue }
                    throw Failure(operation: "read", path: url.path, code: errno)
                }
                if count == 0 { break }
                offset += count
            }
            initialized = offset
        }
    }
}
