// swift-tools-version:6.2
import PackageDescription

/// Upcoming features every target turns on (STYLE.md §1).
let defaultSwiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// The CPU the vector index's kernels are compiled for: `SLUICE_TARGET_CPU` (an LLVM CPU name such as `native`,
/// `skylake-avx512` or `x86-64`), `native` by default. Set `SLUICE_TARGET_CPU=generic` for a binary that runs on any
/// CPU of the architecture (Docs/DEVELOPMENT.md).
let vectorTargetCPU: [SwiftSetting] = {
    let cpu = Context.environment["SLUICE_TARGET_CPU"] ?? "native"
    return cpu == "generic" || cpu.isEmpty ? [] : [.unsafeFlags(["-target-cpu", cpu])]
}()

/// `sluice-bench`, the benchmark tools `scripts/bench*.sh` run, is built only with `SLUICE_BENCHMARKS=1`, so the
/// default build and the `sluice` product carry none of it (as hummingbird's `ENABLE_HB_BENCHMARKS` does).
let benchmarksEnabled = Context.environment["SLUICE_BENCHMARKS"] == "1"

let package = Package(
    name: "sluice",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sluice", targets: ["sluice"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    ],
    targets: [
        // MARK: - Domain (no NIO, gRPC or Hummingbird)
        .target(
            name: "SluiceTokenizer",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: defaultSwiftSettings
        ),
        .target(
            name: "SluiceInference",
            dependencies: [
                "SluiceTokenizer",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: defaultSwiftSettings
        ),
        .target(
            name: "SluiceGovernance",
            dependencies: [
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            resources: [.embedInCode("Resources/price-book.json")],
            swiftSettings: defaultSwiftSettings
        ),

        // MARK: - Redis: the C bridge to Debian's hiredis and the client over it
        .systemLibrary(
            name: "CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        .target(
            name: "SluiceRedis",
            dependencies: [
                "CHiredis",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: defaultSwiftSettings
        ),

        .target(
            name: "SluiceGovernanceRedis",
            dependencies: [
                "SluiceGovernance",
                "SluiceRedis",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: defaultSwiftSettings
        ),

        .target(name: "CSluiceVectorSupport"),
        .target(
            name: "SluiceVector",
            dependencies: ["CSluiceVectorSupport", .product(name: "Logging", package: "swift-log")],
            // The index is optimized in debug builds too: unoptimized distance kernels are ~50× slower, which would
            // make every test and local run that builds an index crawl. Its SIMD kernels are compiled for the build
            // machine's CPU (AVX-512 or AVX2 where present), as hnswlib's pip build is; see `vectorTargetCPU`.
            swiftSettings: defaultSwiftSettings + [.unsafeFlags(["-O"], .when(configuration: .debug))]
                + vectorTargetCPU
        ),

        // MARK: - Provider adapters (HTTP)
        .target(
            name: "SluiceProviders",
            dependencies: [
                "SluiceInference",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: defaultSwiftSettings
        ),

        // MARK: - gRPC
        .target(
            name: "SluiceProtos",
            dependencies: [
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            ],
            path: "Generated",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .target(
            name: "SluiceGRPCSupport",
            dependencies: [.product(name: "GRPCCore", package: "grpc-swift-2")],
            swiftSettings: defaultSwiftSettings
        ),
        .target(
            name: "SluiceInferenceGRPC",
            dependencies: [
                "SluiceGRPCSupport",
                "SluiceInference",
                "SluiceProtos",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: defaultSwiftSettings
        ),
        .target(
            name: "SluiceGovernanceGRPC",
            dependencies: [
                "SluiceGRPCSupport",
                "SluiceGovernance",
                "SluiceProtos",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: defaultSwiftSettings
        ),

        .target(
            name: "SluiceVectorGRPC",
            dependencies: [
                "SluiceGRPCSupport",
                "SluiceVector",
                "SluiceProtos",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: defaultSwiftSettings
        ),

        // MARK: - Edge
        .target(
            name: "SluiceEdge",
            dependencies: [
                "SluiceInference",
                "SluiceGovernance",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: defaultSwiftSettings
        ),

        // MARK: - Speed machinery, plugged in by SluiceServer alone (decision record 0005)
        .target(
            name: "SluiceFastPath",
            dependencies: [
                "SluiceInference",
                "SluiceProviders",
                "SluiceInferenceGRPC",
                "SluiceGRPCSupport",
                "SluiceEdge",
                "SluiceProtos",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: defaultSwiftSettings
        ),

        // MARK: - Assembly and executable
        .target(
            name: "SluiceServer",
            dependencies: [
                "SluiceInference",
                "SluiceProviders",
                "SluiceGovernance",
                "SluiceGovernanceRedis",
                "SluiceRedis",
                "SluiceInferenceGRPC",
                "SluiceGovernanceGRPC",
                "SluiceVector",
                "SluiceVectorGRPC",
                "SluiceGRPCSupport",
                "SluiceFastPath",
                "SluiceEdge",
                "SluiceTokenizer",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: defaultSwiftSettings
        ),
        .executableTarget(
            name: "sluice",
            dependencies: [
                "SluiceServer",
                "SluiceGovernance",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: defaultSwiftSettings
        ),

        // MARK: - Tests
        .target(
            name: "SluiceTesting",
            dependencies: [
                "SluiceInference",
                "SluiceGovernance",
                "SluiceRedis",
                "CHiredis",
                "SluiceTokenizer",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: defaultSwiftSettings
        ),
        .testTarget(
            name: "SluiceTokenizerTests",
            dependencies: ["SluiceTokenizer", "SluiceTesting"],
            swiftSettings: defaultSwiftSettings
        ),
        .testTarget(
            name: "SluiceInferenceTests",
            dependencies: [
                "SluiceInference",
                "SluiceTesting",
                "SluiceTokenizer",
            ],
            swiftSettings: defaultSwiftSettings
        ),
        .testTarget(
            name: "SluiceVectorTests",
            dependencies: ["SluiceVector"],
            swiftSettings: defaultSwiftSettings
        ),
        .testTarget(
            name: "SluiceFastPathTests",
            dependencies: [
                "SluiceFastPath",
                "SluiceEdge",
                "SluiceProviders",
                "SluiceTesting",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: defaultSwiftSettings
        ),
        .testTarget(
            name: "SluiceProvidersTests",
            dependencies: [
                "SluiceProviders",
                "SluiceInference",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: defaultSwiftSettings
        ),
        .testTarget(
            name: "SluiceRedisTests",
            dependencies: [
                "SluiceRedis",
                "SluiceTesting",
                "CHiredis",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: defaultSwiftSettings
        ),
        .testTarget(
            name: "SluiceGovernanceTests",
            dependencies: [
                "SluiceGovernance",
                "SluiceGovernanceRedis",
                "SluiceRedis",
                "SluiceTesting",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: defaultSwiftSettings
        ),
        .testTarget(
            name: "SluiceGRPCTests",
            dependencies: [
                "SluiceInferenceGRPC",
                "SluiceGovernanceGRPC",
                "SluiceVectorGRPC",
                "SluiceFastPath",
                "SluiceInference",
                "SluiceGovernance",
                "SluiceVector",
                "SluiceProtos",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: defaultSwiftSettings
        ),
        .testTarget(
            name: "SluiceEdgeTests",
            dependencies: [
                "SluiceEdge",
                "SluiceGovernance",
                "SluiceInference",
                "SluiceTesting",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: defaultSwiftSettings
        ),
        .testTarget(
            name: "SluiceServerTests",
            dependencies: [
                "SluiceFastPath",
                "SluiceServer",
                "SluiceEdge",
                "SluiceGovernance",
                "SluiceInference",
                "SluiceTesting",
                "SluiceVector",
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: defaultSwiftSettings
        ),
    ]
)

if benchmarksEnabled {
    package.dependencies.append(.package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"))
    package.products.append(.executable(name: "sluice-bench", targets: ["sluice-bench"]))
    package.targets.append(
        .executableTarget(
            name: "sluice-bench",
            dependencies: [
                "SluiceServer",
                "SluiceVector",
                "SluiceFastPath",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: defaultSwiftSettings
        )
    )
}
