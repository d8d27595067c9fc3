import DreamEngine
import Foundation
import MediaIO

public enum DreamVideoInfo {
    public static let version = "0.1.0"

    /// What decides how a render's frames round, so a resume can say when it continues under another: this build
    /// of the program (the version and a digest of the running executable) and the OpenBLAS kernels it runs. (The
    /// AVX-512 and AVX2 kernels and the thread count give identical results, so they are not part of it.)
    public static let engineBuild: String = {
        var parts = ["dreamvideo \(version)"]
        let exe = FileManager.default.isReadableFile(atPath: "/proc/self/exe") ? "/proc/self/exe" : Bundle.main.executablePath
        if let exe, let digest = try? SHA256.hex(ofFile: exe) { parts.append("build \(digest.prefix(12))") }
        parts.append("OpenBLAS kernels \(BLASKernels.current)")
        return parts.joined(separator: ", ")
    }()
}

