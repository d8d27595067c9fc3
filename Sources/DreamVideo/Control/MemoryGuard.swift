import DreamEngine
import Foundation

/// Refuses renders that cannot fit in the memory this process may use, before they start, rather than
/// failing (or being killed) half way.
public enum MemoryGuard {
    /// Peak memory, in bytes, of dreaming `width`×`height` pictures with `model` up to `layers`: the
    /// network's weights and fast-path copies, one tile's feature maps forward and backward, and the
    /// whole-picture buffers (octave pyramid, gradient, rolled copies, the video's frames). Calibrated
    /// against measured peaks (README, Reliability): it errs high.
    public static func estimate(model: String, layers: [String], width: Int, height: Int, tile: Int) throws -> Int {
        let profile = try ModelProfiles.profile(model)
        let arch = try ModelProfiles.architecture(model)
        var last = 0
        for l in layers { last = max(last, try arch.nodeIndex(l)) }
        let t = tile > 0 ? tile : profile.definition.tileSize
        let th = min(height, t + 64), tw = min(width, t + 64)  // tiles are the picture split evenly: at most a little over `tile`
        let shapes = try arch.shapes(height: th, width: tw)
        let activations = shapes[0...last].reduce(0) { $0 + $1.count }
        // Weights (and the Winograd/transposed copies of 3×3 and 1×1 kernels): per model, measured.
        let weights = profile.weightsMemory
        let perTile = activations * 6 + (40 << 20)   // feature maps kept for backward, gradients, im2col/Winograd scratch
        let picture = width * height * 3 * 4 * 8     // pyramid, detail, gradient, rolls, start and result
        // OpenBLAS takes a work buffer for each thread that calls it; the engine's parallel loops run on
        // whichever pool threads the system gives them, so under load a render meets more of those threads
        // (measured: up to ≈ 240 MiB more at any picture size).
        let blasBuffers = 256 << 20
        return (40 << 20) + weights + perTile + picture + blasBuffers
    }

    /// Bytes this process may still allocate: the least of the memory the system has available, the
    /// cgroup's limit and the address-space limit (ulimit -v), each minus what is in use.
    public static func available() -> Int? {
        var limits: [Int] = []
        if let info = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
           let line = info.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
           let kb = Int(line.split(separator: " ").dropFirst().first ?? "") {
            limits.append(kb * 1024)
        }
        if let maxText = try? String(contentsOfFile: "/sys/fs/cgroup/memory.max", encoding: .utf8),
           let max = Int(maxText.trimmingCharacters(in: .whitespacesAndNewlines)),
           let curText = try? String(contentsOfFile: "/sys/fs/cgroup/memory.current", encoding: .utf8),
           let cur = Int(curText.trimmingCharacters(in: .whitespacesAndNewlines)) {
            limits.append(max - cur)
        }
        var r = rlimit()
        if getrlimit(Int32(RLIMIT_AS.rawValue), &r) == 0, r.rlim_cur < UInt64(Int.max) {
            limits.append(Int(r.rlim_cur) - virtualSize())
        }
        return limits.min()
    }

    static func virtualSize() -> Int {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = s.split(separator: "\n").first(where: { $0.hasPrefix("VmSize:") }),
              let kb = Int(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kb * 1024
    }

    /// Throws when the estimate does not fit in what is available.
    public static func check(model: String, layers: [String], width: Int, height: Int, tile: Int, what: String) throws {
        let need = try estimate(model: model, layers: layers, width: width, height: height, tile: tile)
        guard let have = available() else { return }
        guard need <= have else {
            throw DreamVideoError.invalidArgument("\(what): dreaming \(width)×\(height) with \(model) needs about \(need >> 20) MiB, but only \(max(0, have) >> 20) MiB are available; choose a smaller size (or a smaller --tile)")
        }
    }
}
