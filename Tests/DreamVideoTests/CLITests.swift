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
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates += [root.appendingPathComponent(".build/release/dreamvideo").path, root.appendingPathComponent(".build/debug/dreamvideo").path]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates.last!
    }()
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    struct Result { let status: Int32; let stdout: String; let stderr: String }

    /// Runs with `args`; `shell` wraps it in /bin/sh (for ulimit); `signalAfter` sends a signal once a file exists.
    @discardableResult
    static func run(_ args: [String], shellPrefix: String? = nil, signal: (Int32, whenExists: String)? = nil, timeout: Double = 300) throws -> Result {
        let p = Process()
        if let shellPrefix {
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", shellPrefix + "; exec \"$0\" \"$@\"", binary] + args
        } else {
            p.executableURL = URL(fileURLWithPath: binary)
            p.arguments = args
        }
        p.currentDirectoryURL = URL(fileURLWithPath: root)
        let outFile = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString).out")
        let errFile = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString).err")
        FileManager.default.createFile(atPath: outFile.path, contents: nil)
        FileManager.default.createFile(atPath: errFile.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: outFile); try? FileManager.default.removeItem(at: errFile) }
        p.standardOutput = try FileHandle(forWritingTo: outFile)
        p.standardError = try FileHandle(forWritingTo: errFile)
        try p.run()
        let start = Date()
        if let (sig, path) = signal {
            // Wait for the trigger file, then signal the process (polling isRunning is unreliable right after launch).
            while !FileManager.default.fileExists(atPath: path) && Date().timeIntervalSince(start) < timeout { usleep(5_000) }
            kill(p.processIdentifier, sig)
        }
        while p.isRunning {
            if Date().timeIntervalSince(start) > timeout { p.terminate(); Issue.record("timed out: \(args)"); break }
            usleep(20_000)
        }
        p.waitUntilExit()
        return Result(status: p.terminationStatus,
                      stdout: (try? String(contentsOf: outFile, encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOf: errFile, encoding: .utf8)) ?? "")
    }

    /// Asserts a failure with exactly one line on stderr containing every `fragment`.
    static func expectFailure(_ args: [String], _ fragments: [String], shellPrefix: String? = nil,
                              sourceLocation: SourceLocation = #_sourceLocation) throws {
        let r = try run(args, shellPrefix: shellPrefix)
        #expect(r.status != 0, "\(args) should fail", sourceLocation: sourceLocation)
        let lines = r.stderr.split(separator: "\n").filter { !$0.hasPrefix("Usage:") && !$0.hasPrefix("  See '") && !$0.isEmpty }
        #expect(lines.count == 1, "stderr: \(r.stderr)", sourceLocation: sourceLocation)
        for f in fragments { #expect(r.stderr.contains(f), "'\(f)' missing from: \(r.stderr)", sourceLocation: sourceLocation) }
        #expect(!r.stderr.contains("Fatal error"), sourceLocation: sourceLocation)
    }
}

@Suite("Command line", .serialized)
struct CLITests {
    let small = ["--iterations", "1", "--octaves", "1"]

    @Test func imageBadInputs() throws {
        let dir = try tempDir("cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/o.png"
        try CLI.expectFailure(["image", dir + "/missing.png", "-o", out], [dir + "/missing.png", "no such file"])
        try "hello".write(toFile: dir + "/notes.txt", atomically: true, encoding: .utf8)
        try CLI.expectFailure(["image", dir + "/notes.txt", "-o", out], [dir + "/notes.txt"])
        try CLI.expectFailure(["image", "samples/chelsea.png", "-o", out, "--model", "resnet"], ["unknown model 'resnet'"])
        try CLI.expectFailure(["image", "samples/chelsea.png", "-o", out, "--layer", "blocks.100"], ["blocks.100", "blocks.10"])
        try CLI.expectFailure(["image", "samples/chelsea.png", "-o", out, "--layer", "blocks.10:lots"], ["'lots'", "not a number"])
        try CLI.expectFailure(["image", "samples/chelsea.png", "-o", out, "--iterations", "0"], ["--iterations"])
        try CLI.expectFailure(["image", "samples/chelsea.png", "-o", out, "--octave-scale", "1"], ["--octave-scale"])
        try CLI.expectFailure(["image", "samples/chelsea.png", "-o", dir + "/nope/o.png"], ["does not exist"])
        try CLI.expectFailure(["image", "samples/chelsea.png", "-o", "/proc/dreamvideo-test.png"] + small, ["/proc/dreamvideo-test.png"])
        try CLI.expectFailure(["image", "white", "-o", out], ["--size"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0 != "notes.txt" }.isEmpty, "no partial output")
    }

    @Test func imageIsDeterministic() throws {
        let dir = try tempDir("det")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let args = ["image", "samples/chelsea.png", "--max-side", "160", "--iterations", "3", "--octaves", "2", "--seed", "5", "-q"]
        #expect(try CLI.run(args + ["-o", dir + "/a.png"]).status == 0)
        #expect(try CLI.run(args + ["-o", dir + "/b.png"]).status == 0)
        let a = FileManager.default.contents(atPath: dir + "/a.png"), b = FileManager.default.contents(atPath: dir + "/b.png")
        #expect(a != nil && a == b)
        try CLI.expectFailure(args + ["-o", dir + "/a.png"], ["already exists", "--overwrite"])
        let r = try CLI.run(["image", "noise", "--size", "96x64", "-o", dir + "/n.jpg", "-q"] + small)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try ImageIO.read(dir + "/n.jpg").width == 96)
    }

    @Test func classifyAndModels() throws {
        let r = try CLI.run(["classify", "samples/coffee.png", "--top", "1"])
        #expect(r.status == 0 && r.stdout.contains("967") && r.stdout.contains("espresso"), "\(r.stdout + r.stderr)")
        let l = try CLI.run(["models", "layers", "efficientnet-lite0", "--size", "512x512"])
        #expect(l.stdout.contains("blocks.10") && l.stdout.contains("112×32×32"), "\(l.stdout)")
        let g = try CLI.run(["models", "layers", "googlenet"])
        #expect(g.stdout.contains("inception4c") && g.stdout.contains("512×14×14"), "\(g.stdout)")
        let i = try CLI.run(["models", "inspect", "samples/chelsea.png", "--layer", "blocks.10"])
        #expect(i.status == 0 && i.stdout.contains("112×19×29") && i.stdout.contains("grad_l2"), "\(i.stdout + i.stderr)")
    }

    @Test func zoomBadInputs() throws {
        let dir = try tempDir("zbad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/z.mp4"
        let base = ["zoom", "samples/chelsea.png", "-o", out, "--size", "96x64"] + small
        try CLI.expectFailure(base + ["--zoom", "0"], ["--zoom"])
        try CLI.expectFailure(base + ["--fps", "0"], ["frame rate"])
        try CLI.expectFailure(base + ["--frames", "0"], ["--frames"])
        try CLI.expectFailure(["zoom", "samples/chelsea.png", "-o", out, "--size", "0x0"], ["too small"])
        try CLI.expectFailure(["zoom", "samples/chelsea.png", "-o", out, "--size", "99998x100"], ["too large"])
        try CLI.expectFailure(["zoom", "samples/chelsea.png", "-o", out, "--size", "97x64"], ["even"])
        try CLI.expectFailure(["zoom", "samples/chelsea.png", "-o", dir + "/missing/z.mp4"] + small, ["does not exist"])
        FileManager.default.createFile(atPath: out, contents: Data("x".utf8))
        try CLI.expectFailure(base + ["--frames", "2"], ["already exists"])
        try FileManager.default.removeItem(atPath: out)
        // A full disk (a 64 KiB file-size limit stands in): a clear error, and no file posing as complete.
        try CLI.expectFailure(base + ["--frames", "30", "--size", "320x240", "--checkpoint-every", "100"], ["z.mp4"], shellPrefix: "ulimit -f 64")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test func zoomInterruptWithSIGINTThenResume() throws {
        let dir = try tempDir("zsig")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let common = ["zoom", "samples/chelsea.png", "--size", "192x128", "--frames", "30", "--checkpoint-every", "4", "--seed", "3",
                      "--zoom", "1.1", "--rotate", "2", "-q", "--encoder-preset", "ultrafast", "--iterations", "2", "--octaves", "1"]
        #expect(try CLI.run(common + ["-o", dir + "/full.mp4", "--frames-dir", dir + "/full"]).status == 0)
        let r = try CLI.run(common + ["-o", dir + "/r.mp4", "--frames-dir", dir + "/r"],
                            signal: (SIGINT, whenExists: dir + "/r/frame_000002.png"))
        #expect(r.status == 130, "status \(r.status): \(r.stderr)")
        #expect(r.stderr.contains("--resume"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/r.mp4"))
        #expect(FileManager.default.fileExists(atPath: dir + "/r.partial.mp4"))
        // And a SIGKILL of the resumed run: at most the frames since the last checkpoint are lost.
        let k = try CLI.run(common + ["-o", dir + "/r.mp4", "--frames-dir", dir + "/r", "--resume"],
                            signal: (SIGKILL, whenExists: dir + "/r/frame_000014.png"))
        #expect(k.status != 0)
        let done = try CLI.run(common + ["-o", dir + "/r.mp4", "--frames-dir", dir + "/r", "--resume"])
        #expect(done.status == 0, "\(done.stderr)")
        for i in 0..<30 {
            let name = String(format: "frame_%06d.png", i)
            #expect(FileManager.default.contents(atPath: dir + "/full/" + name) == FileManager.default.contents(atPath: dir + "/r/" + name), "\(name)")
        }
        #expect(try VideoReader(path: dir + "/r.mp4").readAll().count == 30)
        #expect(!FileManager.default.fileExists(atPath: dir + "/r.partial.mp4"))
    }
}
