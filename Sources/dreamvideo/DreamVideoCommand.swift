import ArgumentParser
import DreamEngine
import DreamVideo
import Foundation

/// The `dreamvideo` tool: maps flags to a job, shows progress, exits with a status. The work is in DreamVideo.
@main
struct DreamVideoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dreamvideo",
        abstract: "DeepDream images and videos on the CPU.",
        version: DreamVideoInfo.version,
        subcommands: [ImageCommand.self, ZoomCommand.self, RedreamCommand.self, BatchCommand.self, JoinCommand.self, FarmCommand.self, EstimateCommand.self,
                      PresetsCommand.self, SweepCommand.self, MetricsCommand.self, AudioCommand.self, ClassifyCommand.self, ModelsCommand.self, SettingsCommand.self])

    /// Exit statuses: 0 done, 1 failed, 64 a bad flag or setting, 130 interrupted.
    static let usageError: Int32 = 64

    /// Runs the command, turning every error into one line on stderr and a non-zero exit.
    static func main() {
        BLASKernels.restartWithBetterKernelsIfNeeded()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let e as SettingError {
            fail(e.description, status: usageError)
        } catch let e as DreamVideoError {
            if case .interrupted(let msg) = e {
                FileHandle.standardError.write(Data("dreamvideo: \(msg)\n".utf8))
                Foundation.exit(130)
            }
            if case .alreadyDone = e {
                FileHandle.standardError.write(Data("dreamvideo: \(e.description)\n".utf8))
                Foundation.exit(0)
            }
            fail(e.description)
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch where isParserError(error) {
            // --help and --version print and exit 0; usage errors become one line, like every other error.
            let code = exitCode(for: error)
            if code == .success { exit(withError: error) }
            let message = self.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            fail(message.hasPrefix("Error: ") ? String(message.dropFirst(7)) : message, status: usageError)
        } catch {
            // Engine, media and import errors describe themselves in one line naming the file or setting.
            fail("\(error)")
        }
    }

    static func isParserError(_ e: Error) -> Bool { String(reflecting: type(of: e)).hasPrefix("ArgumentParser.") }

    static func fail(_ message: String, status: Int32 = 1) -> Never {
        FileHandle.standardError.write(Data("dreamvideo: error: \(message)\n".utf8))
        Foundation.exit(status)
    }
}

/// Flags every render command has that are not settings: where to write and what to do with what exists.
struct RunFlags: ParsableArguments {
    @Option(name: .shortAndLong, help: "Output file.")
    var output: String

    @Flag(help: "Continue an interrupted render of the same output (from its last good checkpoint).")
    var resume = false

    @Flag(help: "Replace an existing output, or an unfinished render of it.")
    var overwrite = false

    @Flag(name: [.customShort("q"), .long], help: "Print nothing but errors.")
    var quiet = false

    @Flag(help: "Print per-octave detail.")
    var verbose = false

    @Option(help: ArgumentHelp("Settings from a preset (a name from `dreamvideo presets list`, or a file); flags override it.", valueName: "name|path"))
    var preset: String?

    func validate() throws {
        if resume && overwrite { throw ValidationError("--resume and --overwrite cannot be used together.") }
    }

    var policy: OutputPolicy { OutputPolicy(resume: resume, overwrite: overwrite) }

    /// The preset (if any) under the flags, and a note when it was made for another kind of job.
    func sources(_ flags: SettingSource, kind: JobKind, printer: ProgressPrinter) throws -> [SettingSource] {
        guard let name = preset else { return [flags] }
        let p = try PresetLibrary.find(name)
        if let k = p.kind, k != kind { printer.line("note: preset \(p.name) is made for \(k) jobs; its settings for those are ignored here") }
        return [p.source, flags]
    }
}

/// A video command: flags (over a preset) to a job, the render with progress, the summary, the health
/// report when asked, and the render's notes.
func renderVideo<Job: RenderJob>(_ type: Job.Type, input: String, runFlags: RunFlags, flags: SettingSource, health: Bool,
                                  adjust: (Job) throws -> Job = { $0 }) throws {
    Interrupts.install()
    let printer = ProgressPrinter(quiet: runFlags.quiet, verbose: runFlags.verbose)
    let job = try adjust(try Job.resolve(input: input, output: runFlags.output, sources: try runFlags.sources(flags, kind: Job.kind, printer: printer)))
    let summary = try job.run(store: ModelStore(), policy: runFlags.policy, progress: printer.observer(video: true), shouldStop: { Interrupts.requested })
    printer.clear()
    printer.line(summaryLine(summary))
    if health { printer.line(healthTable(try HealthMetrics.measure(video: runFlags.output)).trimmingCharacters(in: .newlines)) }
    for n in summary.notes { printer.line(n) }
}
