import ArgumentParser
import DreamVideo
import Foundation

struct ImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "Dream one image.",
        discussion: "INPUT is an image file (PNG, JPEG, WebP, …) or white, gray or noise with --size.")

    @Argument(help: "Input image, or white / gray / noise.")
    var input: String

    @OptionGroup(title: "Output") var runFlags: RunFlags
    @OptionGroup(title: "Picture") var picture: ImageSizeFlags
    @OptionGroup(title: "Dream options") var dream: DreamFlags

    /// The job these flags describe (resolved and checked, nothing run).
    func job() throws -> ImageJob {
        try ImageJob.resolve(input: input, output: runFlags.output,
                             sources: try runFlags.sources(settingFlags(dream, picture), kind: .image, printer: ProgressPrinter(quiet: true, verbose: false)))
    }

    func run() throws {
        let printer = ProgressPrinter(quiet: runFlags.quiet, verbose: runFlags.verbose)
        let job = try ImageJob.resolve(input: input, output: runFlags.output,
                                     sources: try runFlags.sources(settingFlags(dream, picture), kind: .image, printer: printer))
        let summary = try job.run(policy: runFlags.policy, progress: printer.observer(video: false))
        printer.clear()
        printer.line(summaryLine(summary))
    }
}
