import DreamVideo
import Foundation
import Testing

/// Runs the built tool and returns its exit status and peak resident memory (bytes): the high-water mark of
/// its own address space (VmHWM in /proc/PID/status), read every few milliseconds until it exits. (wait4's
/// ru_maxrss will not do: Linux carries it across exec, so a child spawned by a big test process starts
/// with the parent's size.)
func peakMemory(_ args: [String]) throws -> (status: Int32, bytes: Int) {
    var pid: pid_t = 0
    let argv = ([CLI.binary] + args).map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    var fileActions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&fileActions)
    defer { posix_spawn_file_actions_destroy(&fileActions) }
    posix_spawn_file_actions_addopen(&fileActions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&fileActions, 2, "/dev/null", O_WRONLY, 0)
    let rc = posix_spawn(&pid, CLI.binary, &fileActions, nil, argv, environ)
    try #require(rc == 0, "could not start \(CLI.binary): \(rc)")
    var status: Int32 = 0
    var peak = 0
    let ownExe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
    while true {
        // Only once the child runs the tool (after exec) is its address space its own.
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")) ?? ownExe
        if exe != ownExe, let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
           let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") {
            peak = max(peak, kb * 1024)
        }
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid { break }
        if r < 0 && errno != EINTR { break }
        usleep(5_000)
    }
    return ((status >> 8) & 0xFF, peak)
}

@Suite("Memory guard", .serialized)
struct MemoryGuardTests {
    /// The estimate that refuses renders which cannot fit must cover what a render really takes (its peak
    /// resident memory, measured now), without asking for far more.
    @Test(.enabled(if: CLI.installed("efficientnet-lite0") && CLI.installed("vgg16-hed"), "needs both models (scripts/test.sh installs them)"),
          arguments: [
        ("efficientnet-lite0", "blocks.10", 256, 256),
        ("efficientnet-lite0", "blocks.10", 1280, 1280),
        ("vgg16-hed", "block4_conv3", 512, 512),
    ])
    func estimateCoversMeasuredPeaks(_ c: (model: String, layer: String, w: Int, h: Int)) throws {
        let dir = try tempDir("mem")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (status, measured) = try peakMemory(["image", "noise", "--size", "\(c.w)x\(c.h)", "-o", dir + "/o.png", "--model", c.model,
                                                 "--layer", c.layer, "--iterations", "1", "--octaves", "1", "-q"])
        try #require(status == 0, "the render failed")
        let e = try MemoryGuard.estimate(model: c.model, layers: [c.layer], width: c.w, height: c.h, tile: 0)
        print("memory estimate \(c.model) \(c.w)×\(c.h): \(e >> 20) MiB, measured peak \(measured >> 20) MiB")
        // A quiet machine's peak can be far below a busy one's (see MemoryGuard.estimate): up to 4× is fine.
        #expect(e >= measured && e <= measured * 4, "estimate \(e >> 20) MiB for a measured peak of \(measured >> 20) MiB")
    }

    /// Image and re-dream jobs are refused before they start when the memory is not there.
    @Test func everyKindOfJobIsGuarded() throws {
        let dir = try tempDir("memjobs")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try #require(ffmpegTool(["-f", "lavfi", "-i", "testsrc=size=6000x4000:rate=1:duration=1", "-c:v", "ffv1", dir + "/big.mkv"]))
        for args in [["image", "noise", "--size", "8192x8192", "-o", dir + "/i.png"],
                     ["redream", dir + "/big.mkv", "-o", dir + "/r.mp4", "--max-side", "6000", "--layer", "blocks.15"],
                     ["zoom", "noise", "--size", "8192x8192", "--frames", "1", "-o", dir + "/z.mp4"]] {
            try CLI.expectFailure(args, ["needs about", "MiB", "available"], status: 1, shellPrefix: "ulimit -v 1500000")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["big.mkv"])
    }
}
