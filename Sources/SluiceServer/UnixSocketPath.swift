import Foundation
import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Checks made before a gRPC server binds a Unix domain socket.
///
/// grpc-swift-nio-transport binds with `cleanupExistingSocketFile`: it removes a socket file already at the path.
/// That is right for a file a crashed process left behind, and wrong for one a running process still serves, which
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

    /// Whether a process listens on the socket at `path`.
    ///
    /// The connection attempt never blocks: a listener whose backlog is full (a live server that is not accepting)
    /// answers `EAGAIN` at once and counts as listening; a socket nobody listens on answers `ECONNREFUSED`.
    private static func acceptsConnections(_ path: String) -> Bool {
        guard let address = try? SocketAddress(unixDomainSocketPath: path) else { return false }
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
        let descriptor = socket(AF_UNIX, type, 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        let result = address.withSockAddr { connect(descriptor, $0, socklen_t($1)) }
        return result == 0 || errno == EAGAIN
    }
}
