// swift-tools-version:6.1
//
// Tools package for Sluice code generation. It is not part of the main build and has no targets of its
// own: it only pins the exact protoc plugin versions that produced the committed code under `Generated/`.
// `scripts/generate-protos.sh` builds the two plugins from it in release:
//
//     swift build -c release --package-path scripts/protoc-plugins \
//         --scratch-path scripts/protoc-plugins/.build \
//         --product protoc-gen-swift        # then again with --product protoc-gen-grpc-swift-2
//
// Keep these pins equal to the library versions in the top-level Package.resolved. Changing a pin means
// running `scripts/generate-protos.sh` and committing the regenerated `Generated/`.
import PackageDescription

let package = Package(
    name: "sluice-protoc-plugins",
    platforms: [.macOS(.v15)],
    dependencies: [
        // `protoc-gen-swift`: messages (`*.pb.swift`).
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
        // `protoc-gen-grpc-swift-2`: services (`*.grpc.swift`).
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", exact: "2.4.1"),
        // Not used directly: pinned because its `GRPCCodeGen` module renders the service code, so its
        // version decides the bytes of `*.grpc.swift`.
        .package(url: "https://github.com/grpc/grpc-swift-2.git", exact: "2.4.3"),
    ],
    targets: []
)
