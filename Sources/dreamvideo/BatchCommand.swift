import ArgumentParser
import DreamVideo
import Foundation

struct BatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "Render the jobs of a batch file in order, unattended.",
        discussion: """
        A batch file lists jobs (kind, input, output, preset and any settings; the preset format, paths \
        relative to the batch file). Every job is checked before the first runs. A failed job does not stop \
        the others; a re-run skips jobs already done with the same settings and resumes interrupted ones. \
        Ctrl-C stops after checkpointing the current job. Two runs of one batch at once share the work: \
        each job runs once. The exit status is 1 if any job failed.
        """)

    @Argument(help: "The batch file (YAML).") var file: String
    @Flag(help: "Replace outputs that exist but were not made by this batch.") var overwrite = false
    @Flag(name: [.customShort("q"), .long], help: "Print only the summary and errors.") var quiet = false
    @Flag(help: "Print per-octave detail.") var verbose = false
    @Option(help: ArgumentHelp("Run shard I of N (I from 0): its share of the jobs, split by estimated cost; shards may run at once, on machines sharing the folder.", valueName: "I/N"))
    var shard: String?

    func validate() throws {
        if let shard { do { _ = try Shard(parsing: shard) } catch { throw ValidationError("\(error)") } }
    }

    func run() throws {
        Interrupts.install()
        let shard = try self.shard.map { try Shard(parsing: $0) }
        let batch = try BatchFile.load(path: file)
        let printer = ProgressPrinter(quiet: quiet, verbose: verbose)
        let runner = BatchRunner(batch: batch, overwrite: overwrite, shard: shard)
        let work = batch.items.map(\.estimatedWork)
        let total = (shard.map { batch.share(of: $0) } ?? batch.items).map(\.estimatedWork).reduce(0, +)
        let start = Date()
        var doneWork = 0.0
        let n = batch.items.count
        let results = try runner.run(observer: { i, item in
            var o = printer.observer(video: item.job.kind != .image)
            let base = o.frame
            printer.line("job \(i + 1)/\(n): \(item.job.kind) \(item.job.job.input) → \(item.job.job.output)\(item.preset.map { " (preset \($0))" } ?? "")")
            o.frame = { p in
                let fraction = Double(p.index + 1) / Double(max(1, p.count))
                let done = doneWork + work[i] * fraction
                let elapsed = Date().timeIntervalSince(start)
                let eta = done > 0 ? elapsed * (total - done) / done : .nan
                printer.prefix = "[job \(i + 1)/\(n), batch ETA \(formatDuration(eta))] "
                base(p)
            }
            return o
        }, jobFinished: { r in
            doneWork += work[r.item.number - 1]
            printer.prefix = ""
            printer.clear()
            // Errors are shown whatever the verbosity (-q is "the summary and errors").
            if case .failed(let m) = r.status { printer.error("job \(r.item.number) failed: \(m)") }
        })
        printer.clear()
        for n in runner.notes { printer.error(n) }
        // The summary table goes to stdout, whatever the verbosity.
        print(summaryTable(results))
        let failed = results.filter { if case .failed = $0.status { return true }; return false }.count
        if let i = results.first(where: { if case .interrupted = $0.status { return true }; return false }), case .interrupted(let m) = i.status {
            FileHandle.standardError.write(Data("dreamvideo: batch stopped: job \(i.item.number) \(m); run the same batch command again to continue where it stopped\n".utf8))
            throw ExitCode(130)
        }
        let notRun = results.filter { if case .notRun = $0.status { return true }; return false }
        if let firstNotRun = notRun.first {
            // Stopped between jobs (an image job finishes its picture first): the rest did not run.
            FileHandle.standardError.write(Data("dreamvideo: batch stopped before job \(firstNotRun.item.number): \(notRun.count) job\(notRun.count == 1 ? "" : "s") not run; run the same batch command again to continue\n".utf8))
            throw ExitCode(130)
        }
        if failed > 0 {
            FileHandle.standardError.write(Data("dreamvideo: \(failed) of \(results.count) jobs failed\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// The batch's summary: one aligned row per job (columns padded by characters, not by a C format).
func summaryTable(_ results: [BatchRunner.Result]) -> String {
    let rows = [["job", "kind", "status", "frames", "time", "output"]] + results.map {
        ["\($0.item.number)", $0.item.job.kind.rawValue, $0.status.word, "\($0.frames)", formatDuration($0.seconds), $0.item.job.job.output]
    }
    let widths = (0..<5).map { c in rows.map { $0[c].count }.max() ?? 0 }
    let rightAligned: Set<Int> = [3, 4]
    return rows.map { row in
        (0..<5).map { c in
            let pad = String(repeating: " ", count: widths[c] - row[c].count)
            return rightAligned.contains(c) ? pad + row[c] : row[c] + pad
        }.joined(separator: "  ") + "  " + row[5]
    }.joined(separator: "\n")
}
