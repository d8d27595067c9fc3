import DreamEngine
import DreamVideo
import Foundation
import MediaIO
import Testing

/// Runs the built `dreamvideo` binary (the real CLI, as a user would).
struct CLI {
    static let binary: String = {
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var candidates = [here.appendingPathComponent("dreamvideo").path]
        var dir = here
        for _ in 0..<4 { dir = dir.deletingLastPathComponent(); candidates.append(dir.appendingPathComponent("dreamvideo").path) }
        candidates += [root + "/.build/release/dreamvideo", root + "/.build/debug/dreamvideo"]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates.last!
    }()
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// Whether a model's weights are installed (tests that dream with real weights need them).
    static func installed(_ model: String) -> Bool { ModelStore().isInstalled(model) }

    struct Result { let status: Int32; let stdout: String; let stderr: String; let signalled: Bool }

    /// Runs with `args`. `shellPrefix` wraps it in /bin/sh (for ulimit); `signal` sends a signal once a file
    /// exists. Waiting ends when the process exits (whatever the trigger file does) or after `timeout` seconds.
    @discardableResult
    static func run(_ args: [String], shellPrefix: String? = nil, signal: (Int32, whenExists: String)? = nil,
                    environment: [String: String] = [:], directory: String? = nil, timeout: Double = 300) throws -> Result {
        let p = Process()
        if let shellPrefix {
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", shellPrefix + "; exec \"$0\" \"$@\"", binary] + args
        } else {
            p.executableURL = URL(fileURLWithPath: binary)
            p.arguments = args
        }
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new } }
        p.currentDirectoryURL = URL(fileURLWithPath: directory ?? root)
        let outFile = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString).out")
        let errFile = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString).err")
        FileManager.default.createFile(atPath: outFile.path, contents: nil)
        FileManager.default.createFile(atPath: errFile.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: outFile); try? FileManager.default.removeItem(at: errFile) }
        p.standardOutput = try FileHandle(forWritingTo: outFile)
        p.standardError = try FileHandle(forWritingTo: errFile)
        let exited = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in exited.signal() }
        try p.run()
        let deadline = Date().addingTimeInterval(timeout)
        var done = false
        if let (sig, path) = signal {
            // Poll for the trigger file, but stop as soon as the process has exited.
            while !done && !FileManager.default.fileExists(atPath: path) && Date() < deadline {
                done = exited.wait(timeout: .now() + .milliseconds(5)) == .success
            }
            if !done { kill(p.processIdentifier, sig) }
        }
        if !done && exited.wait(timeout: .now() + max(0, deadline.timeIntervalSinceNow)) == .timedOut {
            kill(p.processIdentifier, SIGKILL)
            Issue.record("timed out after \(timeout) s: \(args)")
            // Bounded too: Foundation learns of the exit through a descriptor a grandchild could hold.
            if exited.wait(timeout: .now() + 10) == .timedOut { return Result(status: -1, stdout: "", stderr: "timed out", signalled: true) }
        }
        return Result(status: p.terminationStatus,
                      stdout: (try? String(contentsOf: outFile, encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOf: errFile, encoding: .utf8)) ?? "",
                      signalled: p.terminationReason == .uncaughtSignal)
    }

    /// Asserts a failure with exactly one line on stderr containing every `fragment`, and the exit status.
    static func expectFailure(_ args: [String], _ fragments: [String], status: Int32? = nil, shellPrefix: String? = nil,
                              environment: [String: String] = [:], directory: String? = nil,
                              sourceLocation: SourceLocation = #_sourceLocation) throws {
        // -q: on a slow machine a render may print a progress line before it fails; errors are printed anyway.
        let quiet = ["image", "zoom", "redream", "batch", "sweep"].contains(args.first ?? "") && !args.contains("-q") && !args.contains("--quiet")
        let r = try run(args + (quiet ? ["-q"] : []), shellPrefix: shellPrefix, environment: environment, directory: directory)
        #expect(r.status != 0 && !r.signalled, "\(args) should fail cleanly (status \(r.status))", sourceLocation: sourceLocation)
        if let status { #expect(r.status == status, "\(args): status \(r.status), expected \(status): \(r.stderr)", sourceLocation: sourceLocation) }
        let lines = r.stderr.split(separator: "\n").filter { !$0.isEmpty }
        #expect(lines.count == 1, "stderr: \(r.stderr)", sourceLocation: sourceLocation)
        for f in fragments { #expect(r.stderr.contains(f), "'\(f)' missing from: \(r.stderr)", sourceLocation: sourceLocation) }
        #expect(!r.stderr.contains("Fatal error") && !r.stderr.contains("NSCocoaErrorDomain"), sourceLocation: sourceLocation)
    }
}

@Suite("Command line", .serialized)
struct CLITests {
    /// The CLI restarts itself with OPENBLAS_CORETYPE when OpenBLAS fell back to kernels older than the CPU
    /// (an Emerald Rapids Xeon got SSE3 kernels: VGG16 2.1× slower). OpenBLAS names its kernels as it loads
    /// when OPENBLAS_VERBOSE=2; the last name printed is the one the process ran with.
    @Test func theCLIRunsTheOpenBLASKernelsItsCPUHas() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary)
        p.arguments = ["--version"]
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "OPENBLAS_CORETYPE")
        env["OPENBLAS_VERBOSE"] = "2"
        p.environment = env
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("blas-\(UUID().uuidString).txt")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: out) }
        let handle = try FileHandle(forWritingTo: out)
        p.standardOutput = handle; p.standardError = handle
        try p.run(); p.waitUntilExit()
        let text = try String(contentsOf: out, encoding: .utf8)
        let cores = text.split(separator: "\n").filter { $0.hasPrefix("Core: ") }.map { String($0.dropFirst(6)) }
        #expect(p.terminationStatus == 0, "\(text)")
        #expect(text.contains(DreamVideoInfo.version))
        let last = try #require(cores.last, "OpenBLAS printed no kernel name: \(text)")
        #expect(BLASKernels.better(than: last, cpuFlags: BLASKernels.cpuFlags()) == nil, "ran with \(last) on a CPU with \(BLASKernels.cpuFlags().filter { $0.hasPrefix("avx") }.sorted())")
        #expect(cores.count <= 2, "restarted more than once: \(cores)")
    }

    let small = ["--iterations", "1", "--octaves", "1"]

    @Test func imageBadInputs() throws {
        let dir = try tempDir("cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/o.png"
        try CLI.expectFailure(["image", dir + "/missing.png", "-o", out], [dir + "/missing.png", "no such file"], status: 1)
        try "hello".write(toFile: dir + "/notes.txt", atomically: true, encoding: .utf8)
        try CLI.expectFailure(["image", dir + "/notes.txt", "-o", out], [dir + "/notes.txt"], status: 1)
        try CLI.expectFailure(["image", "samples/chelsea.png", "-o", out, "--model", "resnet"], ["--model must be", "got 'resnet'"], status: 64)
        try CLI.expectFailure(["image", "samples/chelsea.png", "-o", out, "--layer", "blocks.100"], ["blocks.100", "did you mean blocks.10?"], status: 64)
        try CLI.expectFailure(["image", "samples/chelsea.png", "-o", out, "--layer", "blocks.10:lots"], ["'lots' is not a number"], status: 64)
        try CLI.expectFailure(["image", "samples/chelsea.png", "-o", out, "--iterations", "0"], ["--iterations must be"], status: 64)
        try CLI.expectFailure(["image", "samples/chelsea.png", "-o", out, "--octave-scale", "1"], ["--octave-scale must be"], status: 64)
        try CLI.expectFailure(["image", "samples/chelsea.png", "-o", dir + "/nope/o.png"], ["does not exist"], status: 1)
        try CLI.expectFailure(["image", "samples/chelsea.png", "-o", "/proc/dreamvideo-test.png", "-q"] + small, ["/proc/dreamvideo-test.png"])  // -q: no progress line when the machine is slow
        try CLI.expectFailure(["image", "white", "-o", out], ["--size"], status: 64)
        try CLI.expectFailure(["image", "samples/chelsea.png", "-o", dir + "/o.gif"], [".png or .jpg"], status: 1)
        try CLI.expectFailure(["image", "samples/chelsea.png", "-o", out, "--size", "64x64", "--max-side", "100"], ["--max-side", "size"], status: 64)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0 != "notes.txt" }.isEmpty, "no partial output")
    }

    /// Every setting, through the library and through the CLI, refuses hostile values with the same message and exit status 64.
    @Test func everySettingRefusesHostileValuesAlike() throws {
        let dir = try tempDir("hostile")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let hostile = ["nan", "inf", "-inf", "1e40", "-1e40", "99999999999999999999", "abc", ""]
        var checked = 0
        try writePan(dir + "/pan.mp4", frames: 2)
        for kind in JobKind.allCases {
            for setting in SettingsTable.settings(for: kind) where !setting.isFlag && !["frames-dir", "guide"].contains(setting.key) {
                // Paths ("nan" may well be a file) are checked when the files are opened: ControlTests and redreamBadInputs.
                for value in hostile {
                    guard let library = refusal(kind, setting, value) else {
                        Issue.record("\(kind) --\(setting.key) '\(value)' accepted by the library")
                        continue
                    }
                    #expect(library.key == setting.key)
                    let cmd = switch kind {
                    case .image: ["image", "samples/chelsea.png", "-o", dir + "/o.png"]
                    case .zoom: ["zoom", "samples/chelsea.png", "-o", dir + "/o.mp4"]
                    case .redream: ["redream", dir + "/pan.mp4", "-o", dir + "/o.mp4"]
                    }
                    let r = try CLI.run(cmd + ["--\(setting.key)", value])
                    #expect(r.status == 64, "\(kind) --\(setting.key) '\(value)': status \(r.status) \(r.stderr)")
                    #expect(r.stderr == "dreamvideo: error: \(library.description)\n", "\(kind) --\(setting.key) '\(value)'")
                    checked += 1
                }
            }
        }
        #expect(checked > 250)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["pan.mp4"], "nothing written")
    }

    func refusal(_ kind: JobKind, _ setting: Setting, _ value: String) -> SettingError? {
        do {
            _ = try JobSettings.resolve(kind: kind, sources: [.flags([(setting.key, setting.repeatable ? .list([.text(value)]) : .text(value))])])
            return nil
        } catch {
            return error
        }
    }

    /// Every flag of a render command is a settings key (or one of the few run controls), and every key is a flag.
    @Test func flagsAndSettingsKeysAreTheSame() throws {
        let controls: Set<String> = ["output", "resume", "overwrite", "quiet", "verbose", "help", "version", "preset", "health", "shard"]
        for (command, kind) in [("image", JobKind.image), ("zoom", .zoom), ("redream", .redream)] {
            let r = try CLI.run([command, "--experimental-dump-help"])
            let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            let args = ((json["command"] as? [String: Any])?["arguments"] as? [[String: Any]]) ?? []
            var flags = Set<String>()
            for a in args {
                for n in (a["names"] as? [[String: Any]]) ?? [] where n["kind"] as? String == "long" {
                    if let name = n["name"] as? String, !name.hasPrefix("no-") { flags.insert(name) }
                }
            }
            let keys = Set(SettingsTable.settings(for: kind).map(\.key))
            #expect(flags.subtracting(controls) == keys, "\(command): flags without a key \(flags.subtracting(controls).subtracting(keys)), keys without a flag \(keys.subtracting(flags))")
        }
    }

    @Test(.enabled(if: CLI.installed("efficientnet-lite0"), "needs efficientnet-lite0 (scripts/test.sh installs it)"))
    func imageIsDeterministic() throws {
        let dir = try tempDir("det")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let args = ["image", "samples/chelsea.png", "--max-side", "160", "--iterations", "3", "--octaves", "2", "--seed", "5", "-q"]
        #expect(try CLI.run(args + ["-o", dir + "/a.png"]).status == 0)
        #expect(try CLI.run(args + ["-o", dir + "/b.png"]).status == 0)
        let a = FileManager.default.contents(atPath: dir + "/a.png"), b = FileManager.default.contents(atPath: dir + "/b.png")
        #expect(a != nil && a == b)
        try CLI.expectFailure(args + ["-o", dir + "/a.png"], ["already exists", "--overwrite"], status: 1)
        let r = try CLI.run(["image", "noise", "--size", "96x64", "-o", dir + "/n.jpg", "-q"] + small)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try ImageIO.read(dir + "/n.jpg").width == 96)
    }

    @Test(.enabled(if: CLI.installed("efficientnet-lite0"), "needs efficientnet-lite0 (scripts/test.sh installs it)"))
    func classifyAndModels() throws {
        let r = try CLI.run(["classify", "samples/coffee.png", "--top", "1"])
        #expect(r.status == 0 && r.stdout.contains("967") && r.stdout.contains("espresso"), "\(r.stdout + r.stderr)")
        let i = try CLI.run(["models", "inspect", "samples/chelsea.png", "--layer", "blocks.10"])
        #expect(i.status == 0 && i.stdout.contains("112×19×29") && i.stdout.contains("grad_l2"), "\(i.stdout + i.stderr)")
    }

    @Test func modelLayersNeedNoWeights() throws {
        let l = try CLI.run(["models", "layers", "efficientnet-lite0", "--size", "512x512"])
        #expect(l.stdout.contains("blocks.10") && l.stdout.contains("112×32×32"), "\(l.stdout)")
        let g = try CLI.run(["models", "layers", "googlenet"])
        #expect(g.stdout.contains("inception4c") && g.stdout.contains("512×14×14"), "\(g.stdout)")
        try CLI.expectFailure(["models", "layers", "efficientnet-lite0", "--size", "0x0"], ["--size"], status: 64)
    }

    @Test func zoomBadInputs() throws {
        let dir = try tempDir("zbad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/z.mp4"
        let base = ["zoom", "samples/chelsea.png", "-o", out, "--size", "96x64"] + small
        for (flag, value) in [("--zoom", "0"), ("--zoom", "5"), ("--octave-scale", "1"), ("--octave-scale", "5"), ("--fps", "0"),
                              ("--fps", "1/1000000"), ("--frames", "0"), ("--duration", "inf"), ("--duration", "1e18"), ("--crf", "52")] {
            try CLI.expectFailure(base + [flag, value], [flag + " must be"], status: 64)
        }
        try CLI.expectFailure(base + ["--frames", "3", "--duration", "2"], ["cannot be used together"], status: 64)
        try CLI.expectFailure(base + ["--translate", "500,0"], ["--translate", "96x64"], status: 64)
        try CLI.expectFailure(["zoom", "samples/chelsea.png", "-o", out, "--size", "0x0"], ["--size must be"], status: 64)
        try CLI.expectFailure(["zoom", "samples/chelsea.png", "-o", out, "--size", "99998x100"], ["--size must be"], status: 64)
        try CLI.expectFailure(["zoom", "samples/chelsea.png", "-o", out, "--size", "97x64"], ["even"], status: 64)
        try CLI.expectFailure(["zoom", "samples/chelsea.png", "-o", dir + "/missing/z.mp4"] + small, ["does not exist"], status: 1)
        try CLI.expectFailure(["zoom", "samples/chelsea.png", "-o", dir + "/z.mov"] + small, [".mp4"], status: 1)
        try CLI.expectFailure(["zoom", "samples/chelsea.png", "-o", "samples/chelsea.png"] + small, [".mp4"], status: 1)
        FileManager.default.createFile(atPath: out, contents: Data("x".utf8))
        try CLI.expectFailure(base + ["--frames", "2"], ["already exists"], status: 1)
        try FileManager.default.removeItem(atPath: out)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty, "nothing written")
    }

    @Test(.enabled(if: CLI.installed("efficientnet-lite0"), "needs efficientnet-lite0 (scripts/test.sh installs it)"))
    func zoomOnAFullDiskFailsCleanly() throws {
        let dir = try tempDir("zfull")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/z.mp4"
        // A full disk (a 64 KiB file-size limit stands in): a clear error, and no file posing as complete.
        try CLI.expectFailure(["zoom", "samples/chelsea.png", "-o", out, "--frames", "30", "--size", "320x240", "--checkpoint-every", "100"] + small,
                              ["z.mp4", "file size limit"], status: 1, shellPrefix: "ulimit -f 64")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test(.enabled(if: CLI.installed("efficientnet-lite0"), "needs efficientnet-lite0 (scripts/test.sh installs it)"))
    func zoomInterruptWithSIGINTThenResume() throws {
        let dir = try tempDir("zsig")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let common = ["zoom", "samples/chelsea.png", "--size", "192x128", "--frames", "30", "--checkpoint-every", "4", "--seed", "3",
                      "--zoom", "1.1", "--rotate", "2", "-q", "--encoder-preset", "ultrafast", "--iterations", "2", "--octaves", "1"]
        #expect(try CLI.run(common + ["-o", dir + "/full.mp4", "--frames-dir", dir + "/full"]).status == 0)
        let r = try CLI.run(common + ["-o", dir + "/r.mp4", "--frames-dir", dir + "/r"], signal: (SIGINT, whenExists: dir + "/r/frame_000002.png"))
        #expect(r.status == 130, "status \(r.status): \(r.stderr)")
        #expect(r.stderr.contains("--resume"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/r.mp4"))
        #expect(FileManager.default.fileExists(atPath: dir + "/r.partial.mp4"))
        // And a SIGKILL of the resumed run: at most the frames since the last checkpoint are lost.
        let k = try CLI.run(common + ["-o", dir + "/r.mp4", "--frames-dir", dir + "/r", "--resume"],
                            signal: (SIGKILL, whenExists: dir + "/r/frame_000014.png"))
        #expect(k.signalled && k.status == SIGKILL, "killed by SIGKILL: status \(k.status)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/r.mp4"), "a killed render never leaves an output posing as complete")
        let written = try FileManager.default.contentsOfDirectory(atPath: dir + "/r").filter { $0.hasPrefix("frame_") }.count
        #expect(written >= 15 && written < 30, "\(written) frames written before the kill")
        // The same input spelled differently still resumes, from the last checkpoint (every 4 frames).
        let done = try CLI.run(common.map { $0 == "samples/chelsea.png" ? "./samples/../samples/chelsea.png" : $0 }.filter { $0 != "-q" }
                               + ["-o", dir + "/r.mp4", "--frames-dir", dir + "/r", "--resume"])
        #expect(done.status == 0, "\(done.stderr)")
        let resumedAt = done.stderr.components(separatedBy: "resuming at frame ").dropFirst().first.flatMap { Int($0.prefix { $0.isNumber }) }
        #expect(resumedAt.map { ($0 - 1) % 4 == 0 && $0 - 1 <= written && written - ($0 - 1) < 4 + 1 } ?? false,
                "resumed at frame \(resumedAt ?? -1) after \(written) were written: at most the frames since the last checkpoint are lost")
        for i in 0..<30 {
            let name = String(format: "frame_%06d.png", i)
            let a = FileManager.default.contents(atPath: dir + "/full/" + name)
            #expect(a != nil && a == FileManager.default.contents(atPath: dir + "/r/" + name), "\(name)")
        }
        #expect(try VideoReader(path: dir + "/r.mp4").readAll().count == 30)
        #expect(!FileManager.default.fileExists(atPath: dir + "/r.partial.mp4"))
    }

    /// A scheduler's SIGTERM at any moment — even in the middle of a frame longer than the time allowed to
    /// stop — then the same command again (with --resume, as the farm scripts run it): the frames of a run
    /// never stopped.
    @Test(.enabled(if: CLI.installed("efficientnet-lite0"), "needs efficientnet-lite0 (scripts/test.sh installs it)"))
    func sigtermAtRandomMomentsThenRestartGivesTheSameFrames() throws {
        let dir = try tempDir("sigterm")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let common = ["zoom", "samples/chelsea.png", "--size", "192x128", "--frames", "8", "--checkpoint-every", "3", "--seed", "5",
                      "--iterations", "6", "--octaves", "2", "--encoder-preset", "ultrafast", "--stop-within", "1", "-q"]
        #expect(try CLI.run(common + ["-o", dir + "/full.mp4", "--frames-dir", dir + "/full"]).status == 0)
        var rng = SeededGenerator(seed: UInt64(Date().timeIntervalSince1970))
        var stops = 0, abandoned = 0
        for _ in 0..<8 {
            if FileManager.default.fileExists(atPath: dir + "/r.mp4") { break }
            // Stop when a frame file appears (random which), or a random moment after the start.
            // Frames 0…4 of 8: the render still has frames to go when told to stop (a stop during the last frame
            // finishes the render instead).
            let frame = rng.int(in: 0...4)
            let r = try CLI.run(common + ["-o", dir + "/r.mp4", "--frames-dir", dir + "/r", "--resume"],
                                signal: (SIGTERM, whenExists: dir + String(format: "/r/frame_%06d.png", frame)))
            if r.status == 130 {
                stops += 1
                if r.stderr.contains("abandoned") { abandoned += 1 }
                #expect(r.stderr.contains("--resume"), "\(r.stderr)")
            } else {
                #expect(r.status == 0, "status \(r.status): \(r.stderr)")
            }
        }
        if !FileManager.default.fileExists(atPath: dir + "/r.mp4") {
            #expect(try CLI.run(common + ["-o", dir + "/r.mp4", "--frames-dir", dir + "/r", "--resume"]).status == 0)
        }
        #expect(stops >= 1, "the render was stopped at least once")
        #expect(try pngs(dir + "/full").count == 8 && pngs(dir + "/full") == pngs(dir + "/r"), "\(stops) stops, \(abandoned) frames abandoned")
        #expect(try VideoReader(path: dir + "/r.mp4").readAll().count == 8)
    }

    @Test func redreamBadInputs() throws {
        let dir = try tempDir("rdbad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/o.mp4"
        func bad(_ input: String, _ fragments: [String], output: String? = nil, status: Int32 = 1) throws {
            try CLI.expectFailure(["redream", input, "-o", output ?? out], fragments, status: status)
        }
        try bad(dir + "/missing.mp4", ["missing.mp4", "no such file"])
        FileManager.default.createFile(atPath: dir + "/empty.mp4", contents: Data())
        try bad(dir + "/empty.mp4", ["empty.mp4"])
        try "not a video at all".write(toFile: dir + "/text.mp4", atomically: true, encoding: .utf8)
        try bad(dir + "/text.mp4", ["text.mp4"])
        try #require(ffmpegTool(["-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", dir + "/tone.m4a"]))
        try bad(dir + "/tone.m4a", ["tone.m4a", "no image or video stream"])
        try #require(ffmpegTool(["-f", "lavfi", "-i", "testsrc=size=96x64:rate=10:duration=2", "-c:v", "libx264", dir + "/slow.mp4"]))
        // Without +faststart the index (moov) is at the end: cut it off.
        let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/slow.mp4"))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: dir + "/nomoov.mp4"))
        try bad(dir + "/nomoov.mp4", ["nomoov.mp4"])
        try #require(ffmpegTool(["-f", "lavfi", "-i", "color=size=9000x16:rate=1:duration=1", "-c:v", "ffv1", dir + "/huge.mkv"]))
        try bad(dir + "/huge.mkv", ["huge.mkv", "8192"])
        try writePan(dir + "/pan.mp4", frames: 3)
        try bad(dir + "/pan.mp4", ["the output is the input"], output: dir + "/pan.mp4")
        try bad(dir + "/pan.mp4", ["does not exist"], output: dir + "/nope/o.mp4")
        try bad(dir + "/pan.mp4", [".mp4"], output: dir + "/o.mkv")
        try CLI.expectFailure(["redream", dir + "/pan.mp4", "-o", out, "--blend", "2"], ["--blend must be 0…1"], status: 64)
        try CLI.expectFailure(["redream", dir + "/pan.mp4", "-o", out, "--flow", "lucas"], ["--flow must be none, dis or farneback"], status: 64)
        try CLI.expectFailure(["redream", dir + "/pan.mp4", "-o", out, "--start", "-1"], ["--start must be"], status: 64)
        try CLI.expectFailure(["redream", dir + "/pan.mp4", "-o", out, "--temporal-weight", "nan"], ["--temporal-weight must be"], status: 64)
        // A folder that cannot be written, even by root (CI runs as root): a read-only mount.
        let ro = try ReadOnlyFolder(dir + "/ro")
        defer { ro.remove() }
        try bad(dir + "/pan.mp4", ["not writable"], output: ro.path + "/o.mp4")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).allSatisfy { !$0.hasPrefix("o.") && !$0.hasSuffix(".dreamvideo") }, "nothing half-written")
    }

    @Test(.enabled(if: CLI.installed("efficientnet-lite0"), "needs efficientnet-lite0 (scripts/test.sh installs it)"))
    func redreamThroughTheCommandLine() throws {
        let dir = try tempDir("rdcli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writePan(dir + "/pan.mp4", frames: 8, width: 128, height: 96)
        let r = try CLI.run(["redream", dir + "/pan.mp4", "-o", dir + "/o.mp4", "--iterations", "1", "--octaves", "1"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("wrote") && r.stderr.contains("flow"), "\(r.stderr)")
        #expect(try VideoReader(path: dir + "/o.mp4").readAll().count == 8)
        // An image is a one-frame video.
        let i = try CLI.run(["redream", "samples/chelsea.png", "-o", dir + "/still.mp4", "--iterations", "1", "--octaves", "1", "--max-side", "128"])
        #expect(i.status == 0, "\(i.stderr)")
        #expect(try VideoReader(path: dir + "/still.mp4").readAll().count == 1)
    }

    /// The settings table of the command-line reference (docs/cli.md) is the one the tool prints.
    @Test func docsSettingsTableIsCurrent() throws {
        let table = try CLI.run(["settings", "--markdown"]).stdout
        let readme = try String(contentsOfFile: CLI.root + "/docs/cli.md", encoding: .utf8)
        let begin = try #require(readme.range(of: "<!-- settings-table -->\n")), end = try #require(readme.range(of: "<!-- /settings-table -->"))
        #expect(String(readme[begin.upperBound..<end.lowerBound]) == table, "docs/cli.md's settings table is out of date: paste `dreamvideo settings --markdown`")
    }

    /// The library and the CLI, given the same settings, make the same frames.
    @Test(.enabled(if: CLI.installed("efficientnet-lite0"), "needs efficientnet-lite0 (scripts/test.sh installs it)"))
    func libraryAndCLIRenderTheSameFrames() throws {
        let dir = try tempDir("same")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try CLI.run(["zoom", "samples/chelsea.png", "-o", dir + "/cli.mp4", "--frames", "6", "--size", "128x96", "--iterations", "2",
                             "--octaves", "2", "--zoom", "1.1", "--frames-dir", dir + "/cli", "-q"])
        #expect(r.status == 0, "\(r.stderr)")
        let job = try ZoomJob.resolve(input: "samples/chelsea.png", output: dir + "/lib.mp4", sources: [.api([
            "frames": .number(6), "size": .text("128x96"), "iterations": .number(2), "octaves": .number(2), "zoom": .number(1.1),
            "frames-dir": .text(dir + "/lib"),
        ])])
        let s = try job.run(shouldStop: { false })
        #expect(s.framesRendered == 6)
        #expect(try pngs(dir + "/cli").count == 6)
        #expect(try samePNGs(pngs(dir + "/cli"), pngs(dir + "/lib")))
    }
}

/// A folder nobody can write into, root included: a read-only bind mount of an empty folder when running as
/// root (CI), permissions otherwise. Fails, saying why, when neither can be made.
struct ReadOnlyFolder {
    let path: String
    let mounted: Bool
    init(_ path: String) throws {
        self.path = path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        if getuid() == 0 {
            let ok = runTool("/bin/mount", ["--bind", path, path]) && runTool("/bin/mount", ["-o", "remount,ro,bind", path])
            try #require(ok, "as root a read-only folder needs `mount --bind` then `mount -o remount,ro,bind` (CAP_SYS_ADMIN); they failed here")
            mounted = true
        } else {
            chmod(path, 0o555)
            mounted = false
        }
        try #require(access(path, W_OK) != 0 || mounted, "\(path) is still writable")
        #expect(!FileManager.default.createFile(atPath: path + "/probe", contents: Data()), "\(path) took a file")
    }
    func remove() {
        if mounted { _ = runTool("/bin/umount", [path]) } else { chmod(path, 0o755) }
    }
}

func runTool(_ tool: String, _ args: [String]) -> Bool {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: tool)
    p.arguments = args
    p.standardError = FileHandle.nullDevice
    p.standardOutput = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return false }
    p.waitUntilExit()
    return p.terminationStatus == 0
}
