import CHiredis
package import Foundation
package import SluiceRedis

#if canImport(Glibc)
    import Glibc
#endif

/// A real `redis-server` on a free loopback port, started by a test and stopped when it ends.
///
/// ```swift
/// try await withRedisServer(password: "s3cret") { server in
///     let client = try RedisClient(configuration: server.configuration(), logger: logger)
///     …
/// }
/// ```
package final class RedisServerProcess {
    /// The port it listens on (kept across restarts).
    package let port: Int
    /// The password it requires, if any.
    package let password: String?
    /// The Unix domain socket it also listens on.
    package var socketPath: String { Self.socketPath(port: port) }
    private var process: Process

    /// Starts `redis-server` on a free loopback port (and a Unix domain socket) and waits until it answers.
    ///
    /// - Parameter password: Passed as `--requirepass` when set.
    package init(password: String? = nil) async throws {
        self.password = password
        var lastError: (any Error)?
        for _ in 0..<5 {
            let port = try Self.freePort()
            do {
                let process = try Self.launch(port: port, password: password)
                try await Self.waitUntilReady(port: port, process: process)
                self.port = port
                self.process = process
                return
            } catch {
                lastError = error  // another process took the port between probing and binding: try another
            }
        }
        throw lastError!
    }

    /// A client configuration for this server.
    ///
    /// - Parameter configure: Changes to the defaults.
    /// - Returns: The configuration.
    package func configuration(_ configure: (inout RedisConfiguration) -> Void = { _ in }) -> RedisConfiguration {
        var configuration = RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: port))
        configuration.password = password
        configure(&configuration)
        return configuration
    }

    /// Kills the server with SIGKILL and waits until it is gone.
    package func kill() {
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Starts the server again on the same port and waits until it answers.
    package func restart() async throws {
        let process = try Self.launch(port: port, password: password)
        try await Self.waitUntilReady(port: port, process: process)
        self.process = process
    }

    /// Stops the server (SIGKILL: it holds nothing worth saving) if it runs, and removes its socket file.
    package func stop() {
        if process.isRunning { kill() }
        try? FileManager.default.removeItem(atPath: socketPath)
    }

    deinit { stop() }

    // MARK: - Helpers

    private static func launch(port: Int, password: String?) throws -> Process {
        guard let executable = Self.findExecutable("redis-server") else {
            throw ServerError("redis-server is not installed; run scripts/setup.sh --test")
        }
        let process = Process()
        process.executableURL = executable
        var arguments = [
            "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--enable-debug-command", "yes", "--daemonize", "no", "--loglevel", "warning",
            "--dir", FileManager.default.temporaryDirectory.path,
            "--unixsocket", socketPath(port: port), "--unixsocketperm", "700",
        ]
        if let password { arguments += ["--requirepass", password] }
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Polls with PING until the server answers (with PONG, or NOAUTH when it needs a password), failing if it
    /// exits or does not answer within 10 s.
    private static func waitUntilReady(port: Int, process: Process) async throws {
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                throw ServerError("redis-server exited before it answered on port \(port)")
            }
            if ping(port: port) { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.terminate()
        process.waitUntilExit()
        throw ServerError("redis-server did not answer on port \(port) within 10 s")
    }

    private static func ping(port: Int) -> Bool {
        guard let context = redisConnectWithTimeout("127.0.0.1", Int32(port), timeval(tv_sec: 0, tv_usec: 200_000))
        else { return false }
        defer { redisFree(context) }
        guard context.pointee.err == 0 else { return false }
        var argument = Array("PING".utf8CString)
        var length = 4
        return argument.withUnsafeMutableBufferPointer { buffer in
            var argv: [UnsafePointer<CChar>?] = [UnsafePointer(buffer.baseAddress)]
            guard let reply = redisCommandArgv(context, 1, &argv, &length) else { return false }
            defer { freeReplyObject(reply) }
            let type = reply.assumingMemoryBound(to: redisReply.self).pointee.type
            return type == REDIS_REPLY_STATUS || type == REDIS_REPLY_ERROR
        }
    }

    private static func socketPath(port: Int) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("sluice-redis-\(port).sock").path
    }

    /// A loopback TCP port nothing listens on right now.
    package static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw ServerError("cannot open a socket to find a free port") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bind(descriptor, address, length) == 0 && getsockname(descriptor, address, &length) == 0
            }
        }
        guard bound else { throw ServerError("cannot bind a socket to find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private static func findExecutable(_ name: String) -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") + ["/usr/bin", "/usr/local/bin"] {
            let candidate = URL(fileURLWithPath: "\(directory)").appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }

    package struct ServerError: Error, CustomStringConvertible {
        package var description: String
        init(_ description: String) { self.description = description }
    }
}
