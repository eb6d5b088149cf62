import Foundation
import NIOCore
import NIOPosix
import SluiceServer
import SluiceTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("gRPC services on Unix domain sockets")
struct UnixSocketAddressTests {
    /// A fresh directory for sockets, removed after `body`. Kept short: socket paths are limited to 107 bytes.
    private static func withDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
        let directory = "/tmp/sluice-uds-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        return try await body(directory)
    }

    /// The problems `sluice serve governance` reports when its address is `address`, or `[]` when it would start.
    private static func governanceProblems(address: String, dataDirectory: String) async -> [String] {
        var configuration = SluiceConfiguration()
        configuration.dataDirectory = dataDirectory
        configuration.services.governance.address = address
        let runtime = SluiceRuntime(configuration: configuration, environment: [:], logger: .silent)
        do {
            _ = try await runtime.makeServices(mode: .governance)
            return []
        } catch let error as SluiceConfiguration.Invalid {
            return error.problems
        } catch {
            return ["unexpected error \(error)"]
        }
    }

    /// Binds a Unix socket at `path` and closes it without listening or unlinking: what a crashed server leaves.
    private static func leaveSocketFile(at path: String) throws {
        let address = try SocketAddress(unixDomainSocketPath: path)
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        try #require(address.withSockAddr { bind(descriptor, $0, socklen_t($1)) } == 0)
    }

    @Test("refuses a socket another process serves on, a path that is not a socket, and a missing directory")
    func refusesPathsInUse() async throws {
        try await Self.withDirectory { directory in
            // Given a socket a live server accepts on, a regular file, and a path in a missing directory
            let live = "\(directory)/live.sock"
            let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(unixDomainSocketPath: live)
                .get()
            let file = "\(directory)/file.sock"
            #expect(FileManager.default.createFile(atPath: file, contents: Data("not a socket".utf8)))

            // When governance is set up to listen at each
            let liveProblems = await Self.governanceProblems(address: "unix:\(live)", dataDirectory: directory)
            let fileProblems = await Self.governanceProblems(address: "unix:\(file)", dataDirectory: directory)
            let missingProblems = await Self.governanceProblems(
                address: "unix:\(directory)/nowhere/governance.sock",
                dataDirectory: directory
            )
            let liveSocketKept = FileManager.default.fileExists(atPath: live)
            try await server.close()

            // Then each is refused with the reason, and the live server's socket is left alone
            #expect(
                liveProblems == [
                    "services.governance.address 'unix:\(live)': another process is serving on that socket"
                ]
            )
            #expect(
                fileProblems == [
                    "services.governance.address 'unix:\(file)': a file that is not a socket is at that path"
                ]
            )
            #expect(
                missingProblems == [
                    "services.governance.address 'unix:\(directory)/nowhere/governance.sock': "
                        + "the directory '\(directory)/nowhere' does not exist"
                ]
            )
            #expect(liveSocketKept)
            #expect(try String(contentsOfFile: file, encoding: .utf8) == "not a socket")
        }
    }

    @Test(
        "refuses, without waiting, a socket whose server listens but no longer accepts (its backlog full)",
        .timeLimit(.minutes(1))
    )
    func refusesStalledListener() async throws {
        try await Self.withDirectory { directory in
            // Given a socket that listens with a backlog of one and never accepts, and pending connections filling it
            let path = "\(directory)/stalled.sock"
            let address = try SocketAddress(unixDomainSocketPath: path)
            let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            try #require(listener >= 0)
            defer { close(listener) }
            try #require(address.withSockAddr { bind(listener, $0, socklen_t($1)) } == 0)
            try #require(listen(listener, 1) == 0)
            var pending: [Int32] = []
            defer { for descriptor in pending { close(descriptor) } }
            var full = false
            while !full, pending.count < 16 {
                let client = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
                try #require(client >= 0)
                pending.append(client)
                full = address.withSockAddr { connect(client, $0, socklen_t($1)) } != 0 && errno == EAGAIN
            }
            try #require(full, "the backlog never filled")

            // When governance is set up to listen there
            let problems = await Self.governanceProblems(address: "unix:\(path)", dataDirectory: directory)

            // Then it is refused at once, as a served socket
            #expect(
                problems == ["services.governance.address 'unix:\(path)': another process is serving on that socket"]
            )
        }
    }

    @Test("accepts a fresh path and a socket file left behind by a server that died")
    func acceptsFreeAndStalePaths() async throws {
        try await Self.withDirectory { directory in
            // Given the socket file of a process that died without removing it, and a path where nothing is
            let stale = "\(directory)/stale.sock"
            try Self.leaveSocketFile(at: stale)
            #expect(FileManager.default.fileExists(atPath: stale))

            // When governance is set up to listen at each
            // Then neither is a problem
            #expect(await Self.governanceProblems(address: "unix:\(stale)", dataDirectory: directory) == [])
            #expect(
                await Self.governanceProblems(address: "unix:\(directory)/fresh.sock", dataDirectory: directory) == []
            )
        }
    }
}
