// swift-tools-version: 6.1
import Foundation
import PackageDescription

/// Clearinghouse: a daemon that pools consented customer signals of competing brands and lets
/// out only aggregate cross-brand affinities. See README.md and SECURITY.md.
///
/// Layout (the shape of DESIGN.md):
/// - `ClearinghouseCore`: the domain, free of HTTP and storage (tokens, person keys, records,
///   the streaming batch decoders, the storage protocol).
/// - `ClearinghouseSQLite`: the storage protocol on SQLite through GRDB (WAL, migrations).
/// - `ClearinghouseServer`: the Hummingbird 2 HTTP layer (`buildApplication`).
/// - `ClearinghouseCLI`: the `clearinghouse` subcommands; `clearinghouse` is the thin `@main`.
let strictSwift: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "clearinghouse",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "clearinghouse", targets: ["clearinghouse"]),
        .library(name: "ClearinghouseCore", targets: ["ClearinghouseCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CZlib",
            path: "Sources/CZlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .systemLibrary(
            name: "CMalloc",
            path: "Sources/CMalloc"
        ),
        .target(
            name: "ClearinghouseCore",
            dependencies: [
                "CZlib",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSwift
        ),
        .target(
            name: "ClearinghouseSQLite",
            dependencies: [
                "ClearinghouseCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strictSwift
        ),
        .target(
            name: "ClearinghousePostgres",
            dependencies: [
                "ClearinghouseCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwift
        ),
        .target(
            name: "ClearinghouseServer",
            dependencies: [
                "CMalloc",
                "ClearinghouseCore",
                "ClearinghouseSQLite",
                "ClearinghousePostgres",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Resources/openapi.json"), .copy("Resources/portal")],
            swiftSettings: strictSwift
        ),
        .target(
            name: "ClearinghouseCLI",
            dependencies: [
                "ClearinghouseCore",
                "ClearinghouseSQLite",
                "ClearinghousePostgres",
                "ClearinghouseServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "clearinghouse",
            dependencies: [
                "ClearinghouseCLI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSwift
        ),
        .target(
            name: "ClearinghouseFuzzHarness",
            dependencies: [
                "ClearinghouseCore",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "ClearinghouseCoreTests",
            dependencies: ["ClearinghouseCore", "ClearinghouseFuzzHarness"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "ClearinghouseStoreTests",
            dependencies: [
                "ClearinghouseCore",
                "ClearinghouseSQLite",
                "ClearinghousePostgres",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "ClearinghouseServerTests",
            dependencies: [
                "ClearinghouseCore",
                "ClearinghouseSQLite",
                "ClearinghouseServer",
                "ClearinghouseCLI",
                "ClearinghousePostgres",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwift
        ),
    ]
)

/// libFuzzer targets, one per `FuzzHarness.Target`, only when `scripts/fuzz` builds them
/// (`CLEARINGHOUSE_FUZZ=1`, `-sanitize=fuzzer,address`, scratch path `.build-fuzz`): they call
/// libFuzzer's driver, which links only with the fuzzer sanitizer.
if ProcessInfo.processInfo.environment["CLEARINGHOUSE_FUZZ"] == "1" {
    package.targets.append(.target(name: "CLibFuzzer", path: "Fuzz/CLibFuzzer"))
    for target in ["ndjson", "csv", "gzip", "normalizer"] {
        package.targets.append(
            .executableTarget(
                name: "fuzz-\(target)",
                dependencies: ["ClearinghouseFuzzHarness", "CLibFuzzer"],
                path: "Fuzz/\(target)",
                swiftSettings: strictSwift))
        package.products.append(.executable(name: "fuzz-\(target)", targets: ["fuzz-\(target)"]))
    }
}
