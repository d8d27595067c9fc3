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
        if output.isEmpty { throw ValidationError("the output to join is empty; give the path the shards were rendered for") }
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
        subcommands: [Status.self, Slurm.self, Kubernetes.self])

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

    /// The farmed command, read and checked as the tool would run it; the models it uses.
    static func plan(_ command: [String], shards: Int) throws -> FarmPlan {
        var plan = try FarmPlan(arguments: command, shards: shards)
        let parsed: ParsableCommand
        do { parsed = try DreamVideoCommand.parseAsRoot(command) } catch {
            throw ValidationError("the farmed command does not parse: \(DreamVideoCommand.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)")")
        }
        if let r = parsed as? RedreamCommand {
            let job = try r.job()
            try job.validate()
            let frames = try job.clipFrameCount()
            guard shards <= frames else { throw DreamVideoError.invalidArgument("\(shards) shards for \(frames) frames of \(job.input): give at most \(frames)") }
            plan.models = [job.settings.model]
        } else if let b = parsed as? BatchCommand {
            let batch = try BatchFile.load(path: b.file)
            guard shards <= batch.items.count else {
                throw DreamVideoError.invalidArgument("\(shards) shards for \(batch.items.count) job\(batch.items.count == 1 ? "" : "s") of \(b.file): give at most \(batch.items.count)")
            }
            plan.models = Array(Set(batch.items.map { $0.job.job.settings.model })).sorted()
        }
        return plan
    }

    static var ownBinary: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
    }

    struct Slurm: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a Slurm array script that renders a re-dream or a batch in N shards, then joins or finishes it.",
            discussion: """
            Give the command to farm after --, as you would run it: `dreamvideo farm slurm --shards 8 -o dream.sbatch \
            -- redream clip.mp4 -o dream.mp4 --preset film`. `bash dream.sbatch` submits the shards as one array job \
            and the join after them (--dependency=afterok); tasks are requeued when preempted and continue from \
            their checkpoints. Relative paths are relative to the current folder, which every node must see.
            """)
        @Option(help: "How many shards (array tasks).") var shards: Int
        @Option(name: [.customShort("o"), .long], help: "The script to write.") var output: String
        @Option(help: "CPUs per task (dreamvideo uses them all).") var cpus: Int = 2
        @Option(help: "Memory per task, as sbatch takes it (e.g. 8G).") var mem: String?
        @Option(help: "Time limit per task, as sbatch takes it (e.g. 4:00:00); the task is told to stop 60 s before it.") var time: String?
        @Option(help: "Partition to submit to.") var partition: String?
        @Option(help: "Folder for the tasks' logs (default: slurm-logs beside the script).") var logs: String?
        @Option(help: "The dreamvideo binary the nodes run (default: this one).") var binary: String?
        @Flag(help: "Replace the script if it exists.") var overwrite = false
        @Argument(parsing: .postTerminator, help: "The command to farm: redream IN -o OUT … or batch FILE …") var command: [String] = []

        func validate() throws {
            guard (1...100_000).contains(shards) else { throw ValidationError("--shards must be 1…100000, got \(shards)") }
            guard (1...1024).contains(cpus) else { throw ValidationError("--cpus must be 1…1024, got \(cpus)") }
            for (flag, v) in [("--mem", mem), ("--time", time), ("--partition", partition)] {
                if let v, v.isEmpty || v.contains(where: { $0.isWhitespace || $0.isNewline || $0 == "#" }) {
                    throw ValidationError("\(flag) must be one word, got '\(v)'")
                }
            }
        }

        func run() throws {
            let plan = try FarmCommand.plan(command, shards: shards)
            let cwd = FileManager.default.currentDirectoryPath
            let scriptDir = URL(fileURLWithPath: output, relativeTo: URL(fileURLWithPath: cwd + "/")).deletingLastPathComponent().standardizedFileURL.path
            let logsDir = logs.map { URL(fileURLWithPath: $0, relativeTo: URL(fileURLWithPath: cwd + "/")).standardizedFileURL.path } ?? scriptDir + "/slurm-logs"
            var o = FarmPlan.SlurmOptions(binary: binary ?? FarmCommand.ownBinary, directory: cwd, logs: logsDir)
            o.cpusPerTask = cpus; o.memory = mem; o.time = time; o.partition = partition
            o.home = ProcessInfo.processInfo.environment["DREAMVIDEO_HOME"].map { URL(fileURLWithPath: $0, relativeTo: URL(fileURLWithPath: cwd + "/")).standardizedFileURL.path }
            try FarmPlan.write(plan.slurmScript(o), to: output, executable: true, overwrite: overwrite)
            print("wrote \(output): \(shards) shard\(shards == 1 ? "" : "s"); submit with `bash \(output)`")
        }
    }

    struct Kubernetes: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "k8s",
            abstract: "Write a Kubernetes Indexed Job (and a join Job) for a re-dream or a batch in N shards, and a Dockerfile.",
            discussion: """
            Writes DIR/job.yaml and DIR/Dockerfile. Paths in the farmed command are taken relative to the shared \
            volume (the PersistentVolumeClaim --claim, mounted at --mount in every pod). Build the image from the \
            repository with the Dockerfile, push it where the cluster pulls from, then `kubectl apply -f DIR/job.yaml`.
            """)
        @Option(help: "How many shards (completions of the Indexed Job).") var shards: Int
        @Option(name: [.customShort("o"), .long], help: "The folder to write job.yaml and Dockerfile into.") var output: String
        @Option(help: "The container image the pods run.") var image: String = "dreamvideo:latest"
        @Option(help: "The PersistentVolumeClaim (ReadWriteMany) holding the inputs and outputs.") var claim: String
        @Option(help: "Where pods mount it (their working folder).") var mount: String = "/work"
        @Option(help: "Pods at once (default: all shards).") var parallelism: Int?
        @Option(help: "CPUs per pod.") var cpus: Int = 2
        @Option(help: "Memory per pod (request and limit), e.g. 4Gi.") var memory: String = "4Gi"
        @Option(help: "Seconds between SIGTERM and SIGKILL (terminationGracePeriodSeconds); above the render's stop-within.") var grace: Int = 60
        @Flag(help: "Replace the files if they exist.") var overwrite = false
        @Argument(parsing: .postTerminator, help: "The command to farm: redream IN -o OUT … or batch FILE …") var command: [String] = []

        func validate() throws {
            guard (1...100_000).contains(shards) else { throw ValidationError("--shards must be 1…100000, got \(shards)") }
            guard (1...1024).contains(cpus) else { throw ValidationError("--cpus must be 1…1024, got \(cpus)") }
            if let p = parallelism, !(1...100_000).contains(p) { throw ValidationError("--parallelism must be 1…100000, got \(p)") }
            guard (20...86_400).contains(grace) else { throw ValidationError("--grace must be 20…86400 seconds (dreamvideo needs up to its stop-within, 15 s by default, to checkpoint), got \(grace)") }
            guard mount.hasPrefix("/") else { throw ValidationError("--mount must be an absolute path, got '\(mount)'") }
            let dns = { (s: String) in !s.isEmpty && s.count <= 253 && s.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-" || $0 == ".") } }
            guard dns(claim) else { throw ValidationError("--claim must be a Kubernetes name (lower-case letters, digits, '-', '.'), got '\(claim)'") }
            guard !image.isEmpty, !image.contains(where: { $0.isWhitespace }) else { throw ValidationError("--image must be an image reference, got '\(image)'") }
            guard memory.range(of: #"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|K|M|G|T)?$"#, options: .regularExpression) != nil else {
                throw ValidationError("--memory must be a Kubernetes quantity like 4Gi, got '\(memory)'")
            }
        }

        func run() throws {
            let plan = try FarmCommand.plan(command, shards: shards)
            // The pods' grace must leave the render its stop-within (and a few seconds to write the checkpoint).
            if let text = FarmPlan.value(of: ["--stop-within"], in: command), let within = Double(text), Double(grace) < within + 5 {
                throw ValidationError("--grace \(grace) s is too short for the command's --stop-within \(text) s: give at least \(Int(within) + 5)")
            }
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: output, isDirectory: &isDir) {
                guard isDir.boolValue else { throw DreamVideoError.invalidArgument("\(output): is a file; -o names the folder to write job.yaml and Dockerfile into") }
                // Both files are checked before either is written.
                for f in ["job.yaml", "Dockerfile"] where !overwrite && FileManager.default.fileExists(atPath: output + "/" + f) {
                    throw DreamVideoError.outputExists(output + "/" + f)
                }
            } else {
                let parent = URL(fileURLWithPath: output).deletingLastPathComponent().path
                guard FileManager.default.fileExists(atPath: parent, isDirectory: &isDir), isDir.boolValue else {
                    throw DreamVideoError.invalidArgument("\(output): cannot be created: the folder \(parent) does not exist")
                }
                do { try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: false) } catch {
                    throw DreamVideoError.invalidArgument("\(output): cannot be created (\((error as NSError).localizedFailureReason ?? "\(error)"))")
                }
            }
            var o = FarmPlan.KubernetesOptions(image: image, claim: claim)
            o.mountPath = mount; o.parallelism = parallelism; o.cpus = cpus; o.memory = memory; o.gracePeriod = grace
            try FarmPlan.write(plan.kubernetesManifest(o), to: output + "/job.yaml", executable: false, overwrite: overwrite)
            try FarmPlan.write(plan.dockerfile(), to: output + "/Dockerfile", executable: false, overwrite: overwrite)
            print("wrote \(output)/job.yaml and \(output)/Dockerfile; build the image, then `kubectl apply -f \(output)/job.yaml`")
        }
    }
}
