// swift-tools-version: 6.0
import PackageDescription
import Foundation

// The engine's kernels use SIMD16<Float>; on x86-64 they need AVX2/FMA to be fast (3× on
// EfficientNet-Lite0 against the SSE2 baseline). Every x86-64 CPU since 2013 (Intel Haswell,
// AMD Excavator) has them. Set DREAMVIDEO_PORTABLE=1 to build for the generic baseline, e.g. when
// this package is a dependency (SwiftPM refuses unsafe flags in dependencies).
var engineSettings: [SwiftSetting] = []
#if arch(x86_64)
if ProcessInfo.processInfo.environment["DREAMVIDEO_PORTABLE"] == nil {
    engineSettings.append(.unsafeFlags(["-target-cpu", "haswell"]))
}
#endif
var avx512Settings: [SwiftSetting] = []
#if arch(x86_64)
if ProcessInfo.processInfo.environment["DREAMVIDEO_PORTABLE"] == nil {
    avx512Settings.append(.unsafeFlags(["-target-cpu", "skylake-avx512"]))
}
#endif

let package = Package(
    name: "dreamvideo",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "DreamEngine", targets: ["DreamEngine"]),
        .library(name: "MediaIO", targets: ["MediaIO"]),
        .library(name: "DreamVideo", targets: ["DreamVideo"]),
        .executable(name: "dreamvideo", targets: ["dreamvideo"]),
        .executable(name: "dreamvideo-bench", targets: ["dreamvideo-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // C libraries, each behind one system-library target.
        .systemLibrary(name: "CFFmpeg", pkgConfig: "libavformat",
                       providers: [.apt(["libavcodec-dev", "libavformat-dev", "libswscale-dev", "libavutil-dev"])]),
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
        // Dense optical flow (OpenCV's DIS and Farneback) behind a plain-C header. Debian's
        // libopencv-video-dev ships no pkg-config file (only the full libopencv-dev does), so the include
        // path is given here; only core, imgproc and video are linked.
        .target(name: "COpticalFlow",
                cxxSettings: [.unsafeFlags(["-isystem", "/usr/include/opencv4"])],
                linkerSettings: [.linkedLibrary("opencv_video"), .linkedLibrary("opencv_imgproc"), .linkedLibrary("opencv_core")]),

        // Networks, layers, the dream algorithm. Knows nothing of media or file formats but safetensors.
        .target(name: "DreamEngine", dependencies: ["CBLAS", "DreamKernels512"], swiftSettings: engineSettings),
        // Kernels compiled for AVX-512, entered only after DreamEngine has checked that the CPU has it.
        .target(name: "DreamKernels512", swiftSettings: avx512Settings),
        // Reads the foreign weight formats (torch pickle, Keras HDF5) and writes safetensors.
        .target(name: "ModelImport", dependencies: ["DreamEngine", "CHDF5", "ZIPFoundation"]),
        // The only Swift code that touches FFmpeg.
        .target(name: "MediaIO", dependencies: ["CFFmpeg"]),
        // Pipelines, model store, presets.
        .target(name: "DreamVideo", dependencies: ["DreamEngine", "ModelImport", "MediaIO", "COpticalFlow",
                                                   .product(name: "Yams", package: "Yams")],
                resources: [.embedInCode("Resources/imagenet-labels.txt")]),
        .executableTarget(name: "dreamvideo", dependencies: [
            "DreamVideo", "DreamEngine",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "dreamvideo-bench", dependencies: ["DreamVideo"]),

        // libFuzzer harnesses (Fuzz/README.md). A normal build makes them small replay tools that run the harness
        // on the files given as arguments; built with -DFUZZING and -sanitize=fuzzer they are libFuzzer binaries.
        .target(name: "FuzzSupport", path: "Fuzz/FuzzSupport"),
        .executableTarget(name: "fuzz-safetensors", dependencies: ["FuzzSupport", "DreamEngine"], path: "Fuzz/fuzz-safetensors"),
        .executableTarget(name: "fuzz-torch", dependencies: ["FuzzSupport", "ModelImport"], path: "Fuzz/fuzz-torch"),
        .executableTarget(name: "fuzz-video", dependencies: ["FuzzSupport", "MediaIO"], path: "Fuzz/fuzz-video"),
        .executableTarget(name: "fuzz-checkpoint", dependencies: ["FuzzSupport", "DreamVideo", "MediaIO"], path: "Fuzz/fuzz-checkpoint"),

        .testTarget(name: "DreamEngineTests", dependencies: ["DreamEngine", "ModelImport", "DreamVideo", "MediaIO"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "MediaIOTests", dependencies: ["MediaIO"]),
        .testTarget(name: "DreamVideoTests", dependencies: ["DreamVideo", "DreamEngine", "ModelImport", "MediaIO",
                                                          .product(name: "Yams", package: "Yams")]),
    ],
    swiftLanguageModes: [.v5],
    cxxLanguageStandard: .cxx17
)
