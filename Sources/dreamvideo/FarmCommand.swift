import ArgumentParser
import DreamVideo
import Foundation

struct JoinCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "join",
        abstract: "Put the shards of a re-dream together: OUT.shard-I-of-N.mp4 → OUT, by stream copy, with the source's audio.",
        discussion: """
        Every shard must be done (`dreamvideo farm status OUT` says which are). Timestamps run on where the whole \
        render would have put them; the source's audio is attached once and cut to the joined length. Shards \
        made from another source or with other settings, missing or overlapping ranges are refused, and nothing \
        is written then.
        """)
    @Argument(help: "The output the shards were rendered for.") var output: String
    @Option(help: "How many shards (default: the count the shard files beside OUT carry).") var shards: Int?
    @Flag(help: "Replace OUT if it exists.") var overwrite = false
    @Flag(name: [.customShort("q"), .long], help: "Print nothing but errors.") var quiet = false

    func validate() throws {
        if let shards, !(1...100_000).contains(shards) { throw ValidationError("--shards must be 1…100000, got \(shards)") }
    }

    func run() throws {
        let report = try RangeJoin.joinShards(of: output, count: shards, overwrite: overwrite)
        if !quiet {
            var line = "wrote \(output): \(report.videoPackets) frames"
            if !report.copiedAudio.isEmpty { line += "; audio copied: \(report.copiedAudio.joined(separator: ", "))" }
            if !report.transcodedAudio.isEmpty { line += "; audio re-encoded to AAC: \(report.transcodedAudio.joined(separator: ", "))" }
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }
}

struct FarmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "farm",
        abstract: "Render farms: where the shards of an output stand, and ready-made Slurm and Kubernetes files.",
        subcommands: [Status.self])

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Which shards of OUT are done, running, interrupted, damaged or missing.")
        @Argument(help: "The output the shards are rendered for.") var output: String
        @Option(help: "How many shards (default: the count the shard files beside OUT carry).") var shards: Int?
        func validate() throws {
            if let shards, !(1...100_000).contains(shards) { throw ValidationError("--shards must be 1…100000, got \(shards)") }
        }
        func run() throws {
            let rows = try FarmStatus.report(output: output, count: shards)
            let width = rows.map { URL(fileURLWithPath: $0.path).lastPathComponent.count }.max() ?? 10
            for r in rows {
                let name = URL(fileURLWithPath: r.path).lastPathComponent
                print("\(name.padding(toLength: width, withPad: " ", startingAt: 0))  \(r.state.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0))  \(r.detail)")
            }
            let done = rows.filter { $0.state == .done }.count
            print("\(done) of \(rows.count) shards done" + (done == rows.count ? "; join them with `dreamvideo join \(output)`" : ""))
            if done < rows.count { throw ExitCode(1) }
        }
    }
}
