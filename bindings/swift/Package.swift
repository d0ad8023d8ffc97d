// swift-tools-version:5.5
// The Swift package of libredstore: CRedstore is the C library as THIS project installs it (found with
// pkg-config from the redstore.pc of `cmake --install build --prefix <prefix>`, seen through
// module.modulemap), RedstoreExample a terminal that sells one item with it. No system package provides
// libredstore: build and install it first (bindings/swift/README.md).
//
//   PKG_CONFIG_PATH=<prefix>/lib/pkgconfig swift run RedstoreExample <store> <sku>
import PackageDescription

let package = Package(
    name: "Redstore",
    products: [
        .library(name: "CRedstore", targets: ["CRedstore"]),
        .executable(name: "RedstoreExample", targets: ["RedstoreExample"]),
    ],
    targets: [
        .systemLibrary(
            name: "CRedstore",
            path: "Sources/CRedstore",
            pkgConfig: "redstore"
        ),
        .executableTarget(
            name: "RedstoreExample",
            dependencies: ["CRedstore"],
            path: "Sources/RedstoreExample"
        ),
    ]
)
