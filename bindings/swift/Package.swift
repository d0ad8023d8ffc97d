// swift-tools-version:5.5
// The Swift package of libredstore: CRedstore is the installed C library (found with pkg-config, seen
// through module.modulemap), RedstoreExample a terminal that sells one item with it.
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
            pkgConfig: "redstore",
            providers: [.apt(["libredstore-dev"])]
        ),
        .executableTarget(
            name: "RedstoreExample",
            dependencies: ["CRedstore"],
            path: "Sources/RedstoreExample"
        ),
    ]
)
