import ArgumentParser
import DreamVideo
import Foundation

struct RedreamCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redream",
        abstract: "Re-dream an existing video, frame by frame, coherently in time, keeping its audio.",
        discussion: """
        Each frame starts from its source frame blended with the previous dream carried along the motion \
        (optical flow between the source frames) where that motion can be trusted, and is pulled toward it \
        while it dreams; scene cuts start afresh. Output frames keep their source frames' times; audio is \
        copied (or re-encoded to AAC when MP4 cannot hold it). Ctrl-C leaves a playable OUT.partial.mp4; \
        --resume continues with the identical frames (encoded anew from the resume point).
        """)

    @Argument(help: "Source video (MP4, MOV, MKV, WebM, AVI, GIF…).")
    var input: String

    @OptionGroup(title: "Output") var runFlags: RunFlags
    @OptionGroup(title: "Source and motion") var source: RedreamFlags
    @OptionGroup(title: "Dream options (per frame)") var dream: DreamFlags
    @OptionGroup(title: "Encoding") var encode: EncodeFlags

    @Flag(help: "After the render, print the health report of the result (see `dreamvideo metrics`).")
    var health = false

    @Option(help: ArgumentHelp("Render shard I of N (I from 0): a contiguous share of the frames, into OUT.shard-I-of-N.mp4 beside OUT; `dreamvideo join OUT` puts the shards together with the audio.", valueName: "I/N"))
    var shard: String?

    func validate() throws {
        if let shard { do { _ = try Shard(parsing: shard) } catch { throw ValidationError("\(error)") } }
    }

    /// The job these flags describe (resolved and checked, nothing run).
    func job() throws -> RedreamJob {
        try RedreamJob.resolve(input: input, output: runFlags.output,
                               sources: try runFlags.sources(settingFlags(dream, source, encode), kind: .redream, printer: ProgressPrinter(quiet: true, verbose: false)))
    }

    func run() throws {
        let shard = try self.shard.map { try Shard(parsing: $0) }
        try renderVideo(RedreamJob.self, input: input, runFlags: runFlags, flags: settingFlags(dream, source, encode), health: health) { job in
            try shard.map { try job.sharded($0) } ?? job
        }
    }
}
