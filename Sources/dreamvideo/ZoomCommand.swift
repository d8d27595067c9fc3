import ArgumentParser
import DreamVideo
import Foundation

struct ZoomCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zoom",
        abstract: "Render an endless-zoom video: dream a frame, zoom into it, dream again.",
        discussion: """
        Frame 0 is the dreamed seed image; every next frame starts from the previous one zoomed about \
        the centre (and optionally rotated and shifted). Frames go straight into an MP4 through FFmpeg's \
        libraries. Ctrl-C finishes the current frame, writes a checkpoint and a playable OUT.partial.mp4; \
        run the same command with --resume to continue with the identical frames (encoded anew from the resume point). Numeric settings take \
        keyframes: --zoom '0:(1.05), 5s:(1.05) smooth, 7s:(1)'.
        """)

    @Argument(help: "Seed image, or white / gray / noise.")
    var seedImage: String

    @OptionGroup(title: "Output") var runFlags: RunFlags
    @OptionGroup(title: "Video") var video: ZoomFlags
    @OptionGroup(title: "Dream options (per frame)") var dream: DreamFlags
    @OptionGroup(title: "Encoding") var encode: EncodeFlags

    @Flag(help: "After the render, print the health report of the result (see `dreamvideo metrics`).")
    var health = false

    /// The job these flags describe (resolved and checked, nothing run).
    func job() throws -> ZoomJob {
        try ZoomJob.resolve(input: seedImage, output: runFlags.output,
                            sources: try runFlags.sources(settingFlags(dream, video, encode), kind: .zoom, printer: ProgressPrinter(quiet: true, verbose: false)))
    }

    func run() throws {
        try renderVideo(ZoomJob.self, input: seedImage, runFlags: runFlags, flags: settingFlags(dream, video, encode), health: health)
    }
}
