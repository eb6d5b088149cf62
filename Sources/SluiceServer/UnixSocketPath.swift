import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Checks made before a gRPC server binds a Unix domain socket.
///
/// grpc-swift-nio-transport binds with `cleanupExistingSocketFile`: it removes a socket file already at the path.
/// That is right for a file a stopped process left behind, and wrong for one a running process still serves, which
/// would silently lose its address. These checks tell the two apart by connecting to it.
enum UnixSocketPath {
    /// Why `path` cannot be bound, or `nil` when it can: nothing is there, or only a socket nobody accepts on.
    ///
    /// - Parameter path: The socket's path.
    /// - Returns: A sentence for the operator, or `nil`.
    static func bindProblem(_ path: String) -> String? {
        let files = FileManager.default
        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try files.attributesOfItem(atPath: path)
        } catch {
            guard !files.fileExists(atPath: path) else { return "cannot inspect the socket path (\(error))" }
            let directory = (path as NSString).deletingLastPathComponent
            var isDirectory: ObjCBool = false
            guard files.fileExists(atPath: directory.isEmpty ? "." : directory, isDirectory: &isDirectory),
                isDirectory.boolValue
            else { return "the directory '\(directory)' does not exist" }
            return nil
        }
        guard attributes[.type] as? FileAttributeType == .typeSocket else {
            return "a file that is not a socket is at that path"
        }
        return acceptsConnections(path) ? "another process is serving on that socket" : nil
    }

    /// Whether a process accepts connections on the socket at `path`.
    private static func acceptsConnections(_ path: String) -> Bool {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: bytes)
            buffer[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return result == 0
    }
}
