import DreamEngine
import DreamVideo
import Foundation
import MediaIO
import Testing
import Yams

/// The render farm for real: a one-node Slurm cluster on this machine (scripts/slurm-local.sh) runs the
/// array scripts `dreamvideo farm slurm` writes, and a Kubernetes manifest is checked field by field.
/// What docs/farm.md states for seams on the suite's panned photo: W at a shard's first frame, with the default
/// lead-in, is at most this many times the whole render's W at that frame (measured 1.13 and 1.22 with lead-in 24).
enum FarmFigures {
    static let seamWarpRatio = 1.5
}

@Suite("Render farm")
struct FarmTests {
    /// A dreamvideo run inside a Slurm task must see the same model home as the suite.
    static var home: String? { ProcessInfo.processInfo.environment["DREAMVIDEO_HOME"] }

    /// Waits until the cluster has no job left (or `timeout` seconds pass); returns whether it emptied.
    static func waitForEmptyQueue(_ env: [String: String], timeout: Double) throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let r = try shell("squeue -h -o %i", env)
            if r.status == 0 && r.out.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return true }
            Thread.sleep(forTimeInterval: 1)
        }
        return false
    }

    /// Runs `command` with bash; its output goes through files (a daemon it starts cannot hold a pipe of ours) and
    /// the wait is bounded: after `timeout` seconds the command's process group is killed and the test fails.
    static func shell(_ command: String, _ env: [String: String], directory: String? = nil, timeout: Double = 120) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        p.arguments = ["--wait", "/bin/bash", "-c", command]
        p.environment = ProcessInfo.processInfo.environment.merging(env) { _, b in b }
        if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let files = try tempDir("shell")
        defer { try? FileManager.default.removeItem(atPath: files) }
        FileManager.default.createFile(atPath: files + "/out", contents: nil)
        FileManager.default.createFile(atPath: files + "/err", contents: nil)
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: files + "/out"))
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: files + "/err"))
        let exited = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in exited.signal() }
        try p.run()
        let read = { (name: String) in (try? String(contentsOfFile: files + "/" + name, encoding: .utf8)) ?? "" }
        if exited.wait(timeout: .now() + timeout) == .timedOut {
            kill(-p.processIdentifier, SIGKILL)
            kill(p.processIdentifier, SIGKILL)
            Issue.record("timed out after \(timeout) s: \(command)\n\(read("out"))\n\(read("err"))")
            _ = exited.wait(timeout: .now() + 10)
            return (-1, read("out"), read("err"))
        }
        return (p.terminationStatus, read("out"), read("err"))
    }

    /// Every frame of a video, decoded.
    static func frames(_ path: String) throws -> [RGBImage] {
        let r = try VideoReader(path: path)
        var out: [RGBImage] = []
        while let f = try r.nextVideoFrame() { out.append(f.image) }
        return out
    }

    /// Slurm runs a 3-shard batch and a 3-shard re-dream; the batch's outputs are those of a single process,
    /// the joined re-dream has every frame at the source's times, the audio once, and seams as coherent as
    /// the rest. CI runs as root and installs slurm-wlm and munge; if the cluster cannot start, this fails
    /// with the reason.
    @Test(.enabled(if: getuid() == 0, "needs root to start slurmd (CI runs the suite as root)"),
          .enabled(if: CLI.installed("efficientnet-lite0"), "needs efficientnet-lite0 (scripts/test.sh installs it)"))
    func aRealSlurmClusterRendersShardedBatchesAndReDreams() throws {
        let dir = try tempDir("slurm")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cluster = dir + "/cluster"
        let up = try Self.shell("'\(CLI.root)/scripts/slurm-local.sh' start '\(cluster)'", [:])
        try #require(up.status == 0, "the Slurm cluster did not start: \(up.err.trimmingCharacters(in: .whitespacesAndNewlines))")
        defer { _ = try? Self.shell("'\(CLI.root)/scripts/slurm-local.sh' stop '\(cluster)'", [:]) }
        let env = ["SLURM_CONF": cluster + "/slurm.conf"]

        // Footage: the cat photo panned and zoomed, 8 s at 10 fps, with a tone.
        try #require(ffmpegTool(["-loop", "1", "-i", CLI.root + "/samples/chelsea.png", "-f", "lavfi", "-i", "sine=frequency=440:duration=8",
                                 "-vf", "scale=480:-2,crop=160:120:'40+t*25':'20+t*8',fps=10", "-t", "8", "-c:v", "libx264", "-preset", "ultrafast",
                                 "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", dir + "/clip.mp4"]), "ffmpeg could not make the clip")
        try FileManager.default.copyItem(atPath: CLI.root + "/samples/chelsea.png", toPath: dir + "/cat.png")
        func batch(_ out: String) -> String {
            """
            jobs:
              - kind: image
                input: cat.png
                output: \(out)/cat.png
                max-side: 96
                iterations: 3
              - kind: zoom
                input: noise
                output: \(out)/zoom.mp4
                size: 96x64
                frames: 6
                iterations: 2
                encoder-preset: ultrafast
              - kind: redream
                input: clip.mp4
                output: \(out)/redream.mp4
                max-side: 96
                iterations: 2
                octaves: 2
                duration: 2
                encoder-preset: ultrafast
            """
        }
        for out in ["farm", "single"] {
            try FileManager.default.createDirectory(atPath: dir + "/" + out, withIntermediateDirectories: true)
            try batch(out).write(toFile: dir + "/\(out).yaml", atomically: true, encoding: .utf8)
        }
        // Lossless, so that W compares the dreams, not the encoder's error at segment starts.
        let redream = ["redream", "clip.mp4", "--max-side", "96", "--iterations", "2", "--octaves", "2", "--encoder-preset", "ultrafast", "--crf", "0"]

        // The farm files, written by the tool, submitted as a user would (`bash FILE`).
        let b = try CLI.run(["farm", "slurm", "--shards", "3", "--cpus", "1", "-o", "batch.sbatch", "--", "batch", "farm.yaml"], directory: dir)
        try #require(b.status == 0, "\(b.stderr)")
        let r = try CLI.run(["farm", "slurm", "--shards", "3", "--cpus", "1", "-o", "redream.sbatch", "--"] + redream + ["-o", "dream.mp4"], directory: dir)
        try #require(r.status == 0, "\(r.stderr)")
        let script = try String(contentsOfFile: dir + "/redream.sbatch", encoding: .utf8)
        for line in ["#SBATCH --array=0-2", "#SBATCH --requeue", "$SLURM_ARRAY_TASK_ID/3", "--dependency=afterok:", "join dream.mp4 --shards 3"] {
            #expect(script.contains(line), "the script has \(line)")
        }
        for file in ["batch.sbatch", "redream.sbatch"] {
            let s = try Self.shell("bash \(file)", env, directory: dir)
            try #require(s.status == 0, "\(file) did not submit: \(s.err)")
            #expect(s.out.contains("submitted shards as job"))
        }
        // Meanwhile, the same work in one process, for comparison.
        let single = try CLI.run(["batch", "single.yaml", "-q"], directory: dir)
        #expect(single.status == 0, "\(single.stderr)")
        let whole = try CLI.run(redream + ["-o", "whole.mp4", "-q"], directory: dir)
        #expect(whole.status == 0, "\(whole.stderr)")

        let emptied = try Self.waitForEmptyQueue(env, timeout: 600)
        let logs = ((try? FileManager.default.contentsOfDirectory(atPath: dir + "/slurm-logs")) ?? []).sorted()
        let logText = logs.map { name in "\(name): " + ((try? String(contentsOfFile: dir + "/slurm-logs/" + name, encoding: .utf8)) ?? "") }.joined(separator: "\n")
        try #require(emptied, "the jobs did not finish in 10 minutes; logs:\n\(logText)")
        #expect(logs.count == 8, "3 + 3 task logs and 2 finishing logs: \(logs)")

        // The batch: every output made once, frame-identical to the single process's.
        try #require(FileManager.default.fileExists(atPath: dir + "/farm/redream.mp4"), "logs:\n\(logText)")
        #expect(try ImageIO.read(dir + "/farm/cat.png") == (try ImageIO.read(dir + "/single/cat.png")))
        for video in ["zoom.mp4", "redream.mp4"] {
            let a = try Self.frames(dir + "/farm/" + video), s = try Self.frames(dir + "/single/" + video)
            #expect(a.count == s.count && a.count > 0 && a == s, "\(video): the farm's frames are the single process's")
        }
        let finish = logs.filter { $0.hasPrefix("dreamvideo-farm-finish-") }.compactMap { try? String(contentsOfFile: dir + "/slurm-logs/" + $0, encoding: .utf8) }
        #expect(finish.count == 1 && finish[0].components(separatedBy: "skipped (done earlier)").count == 4, "the finishing run found every job done:\n\(logText)")

        // The re-dream: joined after the shards, every frame at the source's time, the audio once.
        try #require(FileManager.default.fileExists(atPath: dir + "/dream.mp4"), "not joined; logs:\n\(logText)")
        let joined = try VideoReader(path: dir + "/dream.mp4").readTimes(), ref = try VideoReader(path: dir + "/whole.mp4").readTimes()
        #expect(joined.count == 80 && ref.count == 80 && zip(joined, ref).allSatisfy { abs($0 - $1) < 0.001 }, "\(joined.count) frames")
        let info = try MediaInfo(path: dir + "/dream.mp4")
        #expect(info.audio.count == 1 && abs((info.audio.first?.duration ?? 0) - (info.video?.duration ?? 99)) < 0.1, "\(info.streams)")

        // The seams (first frames of shards 1 and 2) are as coherent as the whole render there.
        let seams = [80 / 3, 80 * 2 / 3]
        let wj = try CoherenceMetrics.measure(source: dir + "/clip.mp4", dreamed: dir + "/dream.mp4", window: 1).windows
        let ww = try CoherenceMetrics.measure(source: dir + "/clip.mp4", dreamed: dir + "/whole.mp4", window: 1).windows
        for s in seams {
            let a = try #require(wj.first { $0.first == s }?.warpError), w = try #require(ww.first { $0.first == s }?.warpError)
            #expect(a <= FarmFigures.seamWarpRatio * w, "frame \(s): W \(a) at the seam, \(w) in the whole render")
        }
    }

    /// The Kubernetes files: an Indexed Job whose pods render their shard from JOB_COMPLETION_INDEX on the shared
    /// volume, survive disruptions, and a join Job; a Dockerfile from Debian with Swift and the set-up command.
    @Test(.enabled(if: CLI.installed("efficientnet-lite0"), "needs efficientnet-lite0 (scripts/test.sh installs it)"))
    func theKubernetesManifestHasWhatAClusterNeeds() throws {
        let dir = try tempDir("k8s")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try #require(ffmpegTool(["-f", "lavfi", "-i", "testsrc=size=96x64:rate=10:duration=2", "-c:v", "mpeg4", dir + "/in clip.mp4"]))
        try FileManager.default.createDirectory(atPath: dir + "/out", withIntermediateDirectories: true)
        let r = try CLI.run(["farm", "k8s", "--shards", "4", "-o", "k8s", "--claim", "renders", "--image", "registry.example/dv:1", "--",
                             "redream", "in clip.mp4", "-o", "out/it's.mp4", "--preset", "gentle-redream"], directory: dir)
        try #require(r.status == 0, "\(r.stderr)")
        let docs = try Yams.load_all(yaml: try String(contentsOfFile: dir + "/k8s/job.yaml", encoding: .utf8)).map { $0 as? [String: Any] }
        try #require(docs.count == 2 && docs.allSatisfy { $0 != nil })
        let shards = docs[0]!, join = docs[1]!
        #expect(shards["apiVersion"] as? String == "batch/v1" && shards["kind"] as? String == "Job")
        let spec = try #require(shards["spec"] as? [String: Any])
        #expect(spec["completionMode"] as? String == "Indexed" && spec["completions"] as? Int == 4 && spec["parallelism"] as? Int == 4)
        let pod = try #require((spec["template"] as? [String: Any])?["spec"] as? [String: Any])
        #expect(pod["restartPolicy"] as? String == "Never")
        #expect((pod["terminationGracePeriodSeconds"] as? Int ?? 0) > 15, "longer than the render's stop-within")
        let container = try #require((pod["containers"] as? [[String: Any]])?.first)
        #expect(container["image"] as? String == "registry.example/dv:1" && container["workingDir"] as? String == "/work")
        let args = try #require(container["args"] as? [String])
        #expect(container["command"] as? [String] == ["/bin/sh", "-c"] && args.count == 1)
        #expect(args[0].contains("--shard \"$JOB_COMPLETION_INDEX/4\" --resume"), "\(args)")
        #expect(args[0].contains("'in clip.mp4'") && args[0].contains("'out/it'\\''s.mp4'"), "paths quoted for the shell: \(args)")
        let mounts = try #require(container["volumeMounts"] as? [[String: Any]])
        let volumes = try #require(pod["volumes"] as? [[String: Any]])
        #expect(mounts.first?["mountPath"] as? String == "/work" && mounts.first?["name"] as? String == volumes.first?["name"] as? String)
        #expect((volumes.first?["persistentVolumeClaim"] as? [String: Any])?["claimName"] as? String == "renders")
        // Preemption is not a failure.
        let rules = try #require((spec["podFailurePolicy"] as? [String: Any])?["rules"] as? [[String: Any]])
        #expect(rules.contains { $0["action"] as? String == "Ignore" && (($0["onPodConditions"] as? [[String: Any]])?.first?["type"] as? String) == "DisruptionTarget" })
        // The join waits for every shard, then joins.
        let joinArgs = try #require(((((join["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any])?["containers"] as? [[String: Any]])?.first?["args"] as? [String])
        #expect(joinArgs[0].contains("farm status 'out/it'\\''s.mp4' --shards 4") && joinArgs[0].contains("join 'out/it'\\''s.mp4' --shards 4"), "\(joinArgs)")
        let docker = try String(contentsOfFile: dir + "/k8s/Dockerfile", encoding: .utf8)
        #expect(docker.contains("FROM swift:") && docker.contains("scripts/setup.sh"))

        // Bad farm commands: one line each, nothing written.
        for (cmd, fragment) in [(["zoom", "noise", "-o", "z.mp4"], "cannot be split in time"),
                                (["redream", "in clip.mp4", "-o", "o.mp4", "--shard", "1/2"], "leave --shard out"),
                                (["redream", "in clip.mp4"], "needs its output"),
                                (["redream", "missing.mp4", "-o", "o.mp4"], "missing.mp4"),
                                (["image", "x.png", "-o", "y.png"], "not 'image'")] {
            let f = try CLI.run(["farm", "slurm", "--shards", "2", "-o", "x.sbatch", "--"] + cmd, directory: dir)
            #expect(f.status != 0 && f.stderr.contains(fragment) && f.stderr.split(separator: "\n").count == 1, "\(cmd): \(f.stderr)")
        }
        let many = try CLI.run(["farm", "slurm", "--shards", "21", "-o", "x.sbatch", "--", "redream", "in clip.mp4", "-o", "o.mp4"], directory: dir)
        #expect(many.status != 0 && many.stderr.contains("21 shards for 20 frames"), "\(many.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/x.sbatch"))
    }
}

@Suite("Cost model")
struct CostModelTests {
    static func estimate(_ kind: JobKind, frames: Int, spf: Double, leadIn: Int = 0) -> CostEstimate {
        CostEstimate(kind: kind, input: "in", output: "out-\(frames)", frames: frames, secondsPerFrame: spf, calibrationFrames: 3, leadIn: leadIn)
    }

    @Test func shardCountsMeetTheDeadline() throws {
        // A re-dream of 5400 frames at 5 s a frame (7.5 h): 2 h needs shards of ≤ 1440 − 24 frames → 4.
        let r = Self.estimate(.redream, frames: 5400, spf: 5, leadIn: 24)
        #expect(CostModel.shards(for: [r], deadline: 7200, batch: false) == 4)
        #expect(r.shardSeconds(4) <= 7200 && r.shardSeconds(3) > 7200)
        // A lead-in longer than the deadline allows: no count.
        #expect(CostModel.shards(for: [Self.estimate(.redream, frames: 100, spf: 10, leadIn: 24)], deadline: 100, batch: false) == nil)
        // A zoom is never split.
        #expect(CostModel.shards(for: [Self.estimate(.zoom, frames: 900, spf: 2)], deadline: 1000, batch: false) == nil)
        #expect(CostModel.shards(for: [Self.estimate(.zoom, frames: 900, spf: 2)], deadline: 1800, batch: false) == 1)
        // A batch: jobs of 3, 3, 2, 2, 2 hours, split as `batch --shard` splits them (costliest first onto the least
        // loaded shard): 2 shards load 7 h and 5 h, 3 shards 5, 3 and 4 h, 4 shards 3, 3, 4 and 2 h.
        let jobs = [3.0, 3, 2, 2, 2].map { Self.estimate(.zoom, frames: Int($0 * 3600), spf: 1) }
        #expect(CostModel.shards(for: jobs, deadline: 7 * 3600, batch: true) == 2)
        #expect(CostModel.shards(for: jobs, deadline: 6 * 3600, batch: true) == 3)
        #expect(CostModel.shards(for: jobs, deadline: 4 * 3600, batch: true) == 4)
        #expect(CostModel.shards(for: jobs, deadline: 2.5 * 3600, batch: true) == nil, "a 3 h job cannot meet 2.5 h")
    }

    @Test func deadlinesReadAsPeopleWriteThem() throws {
        for (text, seconds) in [("90", 90.0), ("90s", 90), ("45m", 2700), ("2h", 7200), ("1h30m", 5400), ("1d", 86400), ("1.5h", 5400)] {
            #expect(try CostModel.parseDuration(text) == seconds, "\(text)")
        }
        for bad in ["", "0", "-1h", "2x", "h", "inf", "nan", "1e40", "400d", "2h30"] {
            #expect(throws: DreamVideoError.self, "\(bad)") { try CostModel.parseDuration(bad) }
        }
    }

    /// The calibration runs the real frame maker: a re-dream's estimate is its frame count times a measured,
    /// positive time per frame, and the scratch folder is gone afterwards.
    @Test(.enabled(if: CLI.installed("efficientnet-lite0"), "needs efficientnet-lite0 (scripts/test.sh installs it)"))
    func estimateCalibratesOnTheRealJob() throws {
        let dir = try tempDir("estimate")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try #require(ffmpegTool(["-f", "lavfi", "-i", "testsrc=size=128x96:rate=10:duration=3", "-c:v", "mpeg4", dir + "/clip.mp4"]))
        let before = Set((try? FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory())) ?? []).filter { $0.hasPrefix("dreamvideo-estimate-") }
        let r = try CLI.run(["estimate", "--deadline", "1h", "--", "redream", "clip.mp4", "-o", "out.mp4", "--max-side", "96", "--iterations", "2"], directory: dir)
        #expect(r.status == 0, "\(r.stderr)")
        let row = try #require(r.stdout.split(separator: "\n").first { $0.hasPrefix("1 ") }.map { $0.split(separator: " ", omittingEmptySubsequences: true) })
        #expect(row[1] == "redream" && row[2] == "30", "\(row)")
        #expect((Double(row[3]) ?? 0) > 0, "a measured time per frame: \(row)")
        #expect(r.stdout.contains("deadline 60 min: 1 shard"), "\(r.stdout)")
        // Nothing after --start: said of the clip, not of a scratch file.
        let past = try CLI.run(["estimate", "--", "redream", "clip.mp4", "-o", "out.mp4", "--start", "1000"], directory: dir)
        #expect(past.status == 1 && past.stderr.contains("clip.mp4: no video frames between 1000 s") && !past.stderr.contains("probe"), "\(past.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["clip.mp4"], "nothing written beside the job")
        let after = Set((try? FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory())) ?? []).filter { $0.hasPrefix("dreamvideo-estimate-") }
        #expect(after.subtracting(before).isEmpty, "the scratch folder is removed")
        for (args, fragment) in [(["estimate", "--deadline", "soon", "--", "zoom", "noise", "-o", "z.mp4"], "--deadline"),
                                 (["estimate", "--", "batch", "x.yaml"], "give the batch file itself"),
                                 (["estimate", "missing.yaml"], "missing.yaml"),
                                 (["estimate", "--", "redream", "nothing.mp4", "-o", "o.mp4"], "nothing.mp4")] {
            let f = try CLI.run(args, directory: dir)
            #expect(f.status != 0 && f.stderr.contains(fragment), "\(args): \(f.stderr)")
        }
    }
}

@Suite("Join, hostile")
struct JoinHostileTests {
    /// The join refuses a source that changed since the shards were made and never replaces a file it did not
    /// make (one that appears while it works included), nor the source itself; bad shard specs exit 64.
    @Test func joinRefusesAChangedSourceAndNeverReplacesAFile() throws {
        let dir = try tempDir("joinhostile")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let video = dir + "/v.mp4", source = dir + "/src.mp4", out = dir + "/j.mp4"
        try writePan(video, frames: 12)
        try #require(ffmpegTool(["-i", video, "-f", "lavfi", "-i", "sine=frequency=330:duration=0.4:sample_rate=48000",
                                 "-c:v", "copy", "-c:a", "aac", "-shortest", source]))
        for i in 0..<2 {
            _ = try redreamJob(source, out, ["overlap": .number(2), "lead-in": .number(0)]).sharded(try Shard(index: i, count: 2))
                .run(store: syntheticStore, shouldStop: { false })
        }
        // A shard made with another seed: status says so (not "done"), the join refuses.
        let other = try redreamJob(source, dir + "/o.mp4", ["overlap": .number(2), "lead-in": .number(0), "seed": .text("99")]).sharded(try Shard(index: 1, count: 2))
        _ = try other.run(store: syntheticStore, shouldStop: { false })
        let mixed = dir + "/m.mp4"
        for (i, from) in [try Shard(index: 0, count: 2).output(for: out), other.output].enumerated() {
            let to = try Shard(index: i, count: 2).output(for: mixed)
            try FileManager.default.copyItem(atPath: from, toPath: to)
            try FileManager.default.copyItem(atPath: RangeManifest.path(for: from), toPath: RangeManifest.path(for: to))
        }
        let rows = try FarmStatus.report(output: mixed)
        #expect(rows[0].state == .done && rows[1].state == .damaged && rows[1].detail.contains("seed"), "\(rows.map(\.detail))")
        #expect(throws: DreamVideoError.self) { try RangeJoin.joinShards(of: mixed) }
        for f in try FileManager.default.contentsOfDirectory(atPath: dir) where f.hasPrefix("m.") || f.hasPrefix("o.") {
            try FileManager.default.removeItem(atPath: dir + "/" + f)
        }
        // Somebody's file where the join writes: refused, untouched.
        try Data("mine".utf8).write(to: URL(fileURLWithPath: out))
        #expect(throws: DreamVideoError.self) { try RangeJoin.joinShards(of: out) }
        #expect(FileManager.default.contents(atPath: out) == Data("mine".utf8))
        try FileManager.default.removeItem(atPath: out)
        // The source changed: refused, naming it.
        try FileManager.default.moveItem(atPath: source, toPath: source + ".keep")
        try FileManager.default.copyItem(atPath: video, toPath: source)
        do { try RangeJoin.joinShards(of: out); Issue.record("joined over a changed source") } catch {
            #expect("\(error)".contains("src.mp4") && "\(error)".contains("changed since"), "\(error)")
        }
        try FileManager.default.removeItem(atPath: source)
        try FileManager.default.moveItem(atPath: source + ".keep", toPath: source)
        try RangeJoin.joinShards(of: out)
        #expect(try VideoReader(path: out).readTimes().count == 12)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".") }.isEmpty, "no hidden files left")
        // From the command line: an empty output and bad shard specs are usage errors.
        try CLI.expectFailure(["join", ""], ["empty"], status: 64)
        for bad in ["3/3", "0/0", "a/b", "0/nan", "-1/4"] {
            try CLI.expectFailure(["redream", source, "-o", dir + "/x.mp4", "--shard", bad], ["shard"], status: 64)
        }
        try CLI.expectFailure(["metrics", source, source, "--no-strength", "--model", "nope"], ["--model", "--no-strength"], status: 64)
        try CLI.expectFailure(["metrics", source, source, "--model", "nope"], ["--model must be one of"], status: 64)
        try CLI.expectFailure(["farm", "k8s", "--shards", "2", "-o", dir + "/k8s", "--claim", "c", "--grace", "20", "--",
                               "redream", source, "-o", dir + "/x.mp4", "--stop-within", "30"], ["--grace 20", "at least 35"], status: 64)
        try CLI.expectFailure(["estimate", "--", "redream", source, "-o", dir + "/e.mp4", "--zoom", "1"], ["does not parse"], status: 64)
        #expect(!FileManager.default.fileExists(atPath: dir + "/k8s"))
        let long = "1+" + String(repeating: "t+", count: 20_000) + "1"
        let r = try CLI.run(["zoom", "noise", "-o", dir + "/z.mp4", "--size", "64x64", "--zoom", long])
        #expect(r.status == 64 && r.stderr.count < 600, "a long formula's error stays one short line (\(r.stderr.count) characters)")
    }
}

