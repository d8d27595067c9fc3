import ArgumentParser
import DreamVideo
import Foundation

struct EstimateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "estimate",
        abstract: "How long a job or a batch takes on this machine, and how many shards meet a deadline.",
        discussion: """
        Give a batch file, or a command after -- (`dreamvideo estimate --deadline 2h -- redream clip.mp4 -o out.mp4 \\
        --preset gentle-redream`). Each job's real frame maker renders a few frames into a scratch folder (a \\
        re-dream's from the middle of its clip; the first frame is not timed: it pays for warm-up), and the time \\
        per frame is multiplied by the job's frames. Shards are counted for machines like this one: a re-dream \\
        splits its frames (each shard also dreams its lead-in), a batch its jobs; a zoom cannot be split.
        """)

    @Argument(help: "A batch file (YAML); or nothing, with the command after --.") var file: String?
    @Option(help: "A deadline (90m, 2h, 1h30m, 1d): prints the shard count that meets it.") var deadline: String?
    @Option(help: "Frames to time per job (after one warm-up frame).") var calibrate: Int = 3
    @Argument(parsing: .postTerminator, help: "The command to estimate: redream IN -o OUT …, zoom …, image ….") var command: [String] = []

    func validate() throws {
        if file == nil && command.isEmpty { throw ValidationError("give a batch file, or a command after -- (e.g. -- redream clip.mp4 -o out.mp4)") }
        if file != nil && !command.isEmpty { throw ValidationError("give a batch file or a command after --, not both") }
        guard (1...100).contains(calibrate) else { throw ValidationError("--calibrate must be 1…100 frames, got \(calibrate)") }
        if let deadline { _ = try CostModel.parseDuration(deadline) }
    }

    func run() throws {
        let deadline = try self.deadline.map { try CostModel.parseDuration($0) }
        var jobs: [AnyRenderJob] = []
        var isBatch = false
        if let file {
            jobs = try BatchFile.load(path: file).items.map(\.job)
            isBatch = true
        } else {
            let parsed: ParsableCommand
            do { parsed = try DreamVideoCommand.parseAsRoot(command) } catch {
                throw ValidationError("the command does not parse: \(DreamVideoCommand.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)")")
            }
            if let r = parsed as? RedreamCommand {
                jobs = [.redream(try r.job())]
            } else if let z = parsed as? ZoomCommand {
                jobs = [.zoom(try z.job())]
            } else if let i = parsed as? ImageCommand {
                jobs = [.image(try i.job())]
            } else if parsed is BatchCommand {
                throw DreamVideoError.invalidArgument("give the batch file itself: dreamvideo estimate FILE")
            } else {
                throw DreamVideoError.invalidArgument("dreamvideo estimates image, zoom and redream commands and batch files, not '\(command.first ?? "")'")
            }
        }
        let store = ModelStore()
        var cache: [String: (Double, Int)] = [:]
        var estimates: [CostEstimate] = []
        for (n, job) in jobs.enumerated() {
            FileHandle.standardError.write(Data("calibrating job \(n + 1)/\(jobs.count): \(job.kind) \(job.job.input)…\n".utf8))
            estimates.append(try CostModel.estimate(job, store: store, calibrationFrames: calibrate, cache: &cache))
        }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        print("job  kind     frames  s/frame      time  output")
        for (n, e) in estimates.enumerated() {
            let time = span(e.seconds)
            print(String(format: "%-4d %-8@ %6d  %7.2f  ", n + 1, e.kind.rawValue as NSString, e.frames, e.secondsPerFrame)
                  + String(repeating: " ", count: max(0, 8 - time.count)) + time + "  " + e.output)
        }
        let total = estimates.map(\.seconds).reduce(0, +)
        print(String(format: "total: %d frames, %@ on this machine (%d cores: %.2f CPU-hours), timed from %d calibration frames",
                     estimates.map(\.frames).reduce(0, +), span(total) as NSString, cores, total / 3600 * Double(cores),
                     estimates.map(\.calibrationFrames).reduce(0, +)))
        if let deadline {
            let pretty = span(deadline)
            if let n = CostModel.shards(for: estimates, deadline: deadline, batch: isBatch) {
                let longest = isBatch || estimates.count != 1 ? nil : estimates[0].shardSeconds(n)
                print("deadline \(pretty): \(n) shard\(n == 1 ? "" : "s") on machines like this one" +
                      (longest.map { " (each at most \(span($0)), its lead-in included)" } ?? "") +
                      (n > 1 ? "; write the farm files with `dreamvideo farm slurm --shards \(n) …`" : ""))
            } else {
                let worst = estimates.max { $0.seconds < $1.seconds }!
                let why = worst.splittable
                    ? "even one frame per shard, with its lead-in of \(worst.leadIn), takes longer"
                    : String(format: "%@ alone takes %@ and cannot be split in time%@", worst.output as NSString, span(worst.seconds) as NSString,
                             isBatch && estimates.contains(where: \.splittable) ? " (a re-dream in a batch is not split; farm it by itself)" : "")
                print("deadline \(pretty): no shard count meets it: \(why)")
                throw ExitCode(1)
            }
        }
    }
}

/// A length of time as people say it: 45 s, 12 min, 3.4 h, 2.1 days.
func span(_ seconds: Double) -> String {
    if seconds < 90 { return String(format: "%.0f s", seconds) }
    if seconds < 5400 { return String(format: "%.0f min", seconds / 60) }
    if seconds < 2 * 86400 { return String(format: "%.1f h", seconds / 3600) }
    return String(format: "%.1f days", seconds / 86400)
}
