import DreamEngine
import DreamVideo
import Foundation
import MediaIO
import Testing

@Suite("Reliability", .serialized)
struct ReliabilityTests {
    @Test func nonFiniteAndDamagedWeightsAreRefused() throws {
        let home = try tempDir("weights")
        defer { try? FileManager.default.removeItem(atPath: home) }
        let store = ModelStore(root: URL(fileURLWithPath: home))
        #expect(throws: (any Error).self) { try store.verify("googlenet") }
        // A weights file with a bad value and a matching record is caught by the finite check on load.
        try FileManager.default.createDirectory(atPath: home + "/models", withIntermediateDirectories: true)
        let bad = try SafeTensors.encode(["conv1.conv.weight": NamedArray(shape: [1], values: [.nan])], metadata: [:])
        try bad.write(to: store.weightsURL("googlenet"))
        let record = "{\"bytes\":\(bad.count),\"sha256\":\"\(SHA256.hex(of: bad))\",\"source\":\"test\"}"
        try record.write(toFile: home + "/models/googlenet.json", atomically: true, encoding: .utf8)
        do { _ = try store.load("googlenet"); Issue.record("loaded NaN weights") } catch {
            #expect("\(error)".contains("non-finite"), "\(error)")
        }
        // A truncated file fails its install record.
        try bad.prefix(bad.count / 2).write(to: store.weightsURL("googlenet"))
        do { try store.verify("googlenet"); Issue.record("truncated weights verified") } catch {
            #expect("\(error)".contains("damaged or truncated") && "\(error)".contains("models import googlenet"), "\(error)")
        }
    }

    @Test func anImageWithAlphaIsCompositedOverWhite() throws {
        let dir = try tempDir("alpha")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try #require(ffmpegTool(["-f", "lavfi", "-i", "color=c=red@0.5:s=16x16,format=rgba", "-frames:v", "1", dir + "/a.png"]), "ffmpeg could not make the picture")
        let img = try ImageIO.read(dir + "/a.png")
        let p = (Int(img.pixels[0]), Int(img.pixels[1]), Int(img.pixels[2]))
        #expect(abs(p.0 - 255) <= 2 && abs(p.1 - 127) <= 3 && abs(p.2 - 127) <= 3, "half-transparent red over white: \(p)")
    }

    @Test func rgbConversionNeverTrapsOnNaN() {
        var t = Tensor(zeros: Shape(3, 2, 2))
        t.data = [.nan, .infinity, -.infinity, 300, -5, 0.4, 0.6, 254.6, 128, 1e30, -1e30, .nan]
        let img = t.rgbImage()
        #expect(img.pixels.count == 12)
        #expect(img.pixels[0] == 0 && img.pixels.contains(255))
    }

    @Test func hostileCommandLines() throws {
        let dir = try tempDir("hostile-cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let zoom = ["zoom", "samples/chelsea.png", "-o", dir + "/z.mp4", "--size", "96x64"]
        for d in ["inf", "1e18", "3.1e17", "nan", "-1"] { try CLI.expectFailure(zoom + ["--duration", d], ["--duration must be"], status: 64) }
        try CLI.expectFailure(["image", "samples/chelsea.png", "-o", dir + "/i.png", "--layer", "blocks.10:3e38"], ["--layer", "-1000…1000"], status: 64)
        try CLI.expectFailure(["image", "samples/chelsea.png", "-o", dir + "/i.png", "--layer", "blocks.10:1e40"], ["--layer", "-1000…1000"], status: 64)
        // --frames-dir that cannot be a folder.
        try Data("x".utf8).write(to: URL(fileURLWithPath: dir + "/file"))
        for (fd, fragment) in [(dir + "/file", "this is a file"), ("/dev/null", "this is a file"), ("", "--frames-dir"), (dir + "/no/such/dir", "does not exist")] {
            try CLI.expectFailure(zoom + ["--frames", "2", "--frames-dir", fd], [fragment], status: fd.isEmpty ? 64 : 1)
        }
        // DREAMVIDEO_HOME that is a file.
        try CLI.expectFailure(["image", "samples/chelsea.png", "-o", dir + "/i.png"], [dir + "/file", "is a file, not a folder"],
                              environment: ["DREAMVIDEO_HOME": dir + "/file", "XDG_CACHE_HOME": dir + "/file"])
        // A file named `noise` does not shadow the synthetic input; ./noise is the file.
        try Data("not a picture".utf8).write(to: URL(fileURLWithPath: dir + "/noise"))
        try CLI.expectFailure(["image", "./noise", "-o", dir + "/n.png"], ["./noise"], status: 1, directory: dir)
        // --max-side that would squash the picture.
        try CLI.expectFailure(["image", "samples/chelsea.png", "-o", dir + "/i.png", "--max-side", "16"], ["under 16 px", "at least 25"], status: 1)
        // A render too big for the memory it may use.
        try CLI.expectFailure(["zoom", "noise", "-o", dir + "/big.mp4", "--size", "8192x8192", "--frames", "1"], ["needs about", "MiB", "available"],
                              status: 1, shellPrefix: "ulimit -v 3000000")
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: dir)) == ["file", "noise"], "nothing written but the test's own files")
    }

    @Test(.enabled(if: CLI.installed("efficientnet-lite0"), "needs efficientnet-lite0 (scripts/test.sh installs it)"))
    func messagesTellTheTruth() throws {
        let dir = try tempDir("truth")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // --verbose shows octave detail in a log too; 29.97 fps is printed as such; a short pyramid is noted.
        let r = try CLI.run(["zoom", "samples/chelsea.png", "-o", dir + "/z.mp4", "--size", "128x96", "--frames", "2", "--fps", "29.97",
                             "--iterations", "1", "--octaves", "9", "--verbose"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("octave 1/"), "verbose detail: \(r.stderr)")
        #expect(r.stderr.contains("at 29.97 fps"), "\(r.stderr)")
        #expect(r.stderr.contains("of 9 octaves fit"), "\(r.stderr)")
        let help = try CLI.run(["image", "--help"])
        let flat = help.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
        #expect(flat.contains("greater than 0 and at most 100"), "--step's help gives its real range")
    }

    /// Two renders started at the same instant: the second can find the first's work folder made and locked but its
    /// marker not yet written. It is told another render is writing the output, not that the folder is someone else's.
    @Test func aLockedWorkFolderWithoutItsMarkerYetIsAnotherRender() throws {
        let dir = try tempDir("locked")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let work = dir + "/out.mp4.dreamvideo"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: false)
        #expect(FileManager.default.createFile(atPath: work + "/.owner.json.tmp", contents: Data("{".utf8)))  // the marker half-written
        let fd = open(work, O_RDONLY | O_DIRECTORY)
        try #require(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
        let r = try CLI.run(["zoom", "samples/chelsea.png", "-o", dir + "/out.mp4", "--size", "64x48", "--frames", "2", "-q"])
        flock(fd, LOCK_UN); close(fd)
        #expect(r.status == 1 && r.stderr.contains("another dreamvideo render is writing it"), "\(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: work) == [".owner.json.tmp"], "nothing touched")
    }
    @Test(.enabled(if: CLI.installed("efficientnet-lite0"), "needs efficientnet-lite0 (scripts/test.sh installs it)"))
    func twoRendersOfOneOutputThroughTheCommandLine() throws {
        let dir = try tempDir("two")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The first render is held (SIGSTOP) as soon as it has written a frame, so it certainly holds its lock
        // while the second tries, however fast the machine; then it is let go and stopped with Ctrl-C.
        let a = ["zoom", "samples/chelsea.png", "-o", dir + "/out.mp4", "--size", "128x96", "--frames", "500", "--iterations", "1",
                 "--octaves", "1", "--frames-dir", dir + "/a", "--checkpoint-every", "2", "-q", "--encoder-preset", "ultrafast"]
        let first = Process()
        first.executableURL = URL(fileURLWithPath: CLI.binary)
        first.arguments = a
        first.currentDirectoryURL = URL(fileURLWithPath: CLI.root)
        first.standardError = FileHandle.nullDevice
        try first.run()
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: dir + "/a/frame_000001.png") && first.isRunning && Date() < deadline { usleep(2_000) }
        try #require(first.isRunning, "the first render ended before it could be held")
        kill(first.processIdentifier, SIGSTOP)
        let second = try CLI.run(a.map { $0 == dir + "/a" ? dir + "/b" : $0 } + ["--zoom", "1.2", "--overwrite"])
        kill(first.processIdentifier, SIGCONT)
        kill(first.processIdentifier, SIGINT)
        first.waitUntilExit()
        #expect(first.terminationStatus == 130, "the held render stops cleanly on Ctrl-C: \(first.terminationStatus)")
        #expect(second.status == 1 && second.stderr.contains("another dreamvideo render is writing it"), "\(second.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/b"), "the refused render wrote nothing")
        #expect(try VideoReader(path: dir + "/out.partial.mp4").readAll().count >= 2, "the first render's work is intact")
    }
}
