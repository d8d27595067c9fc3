import Foundation
import MediaIO

/// Ready-made files for the schedulers render farms run: a Slurm array script and a Kubernetes Indexed Job
/// (with a join step each, and a container build file), from one dreamvideo command line.
///
/// A farmed command is a re-dream (its frames split into N contiguous shards, joined by stream copy) or a
/// batch (its jobs split by estimated cost; a last step renders whatever a shard left and prints the
/// summary). A zoom cannot be split in time, each frame being dreamed from the one before: farm a batch of
/// zooms instead.
public struct FarmPlan: Sendable, Equatable {
    public enum Kind: String, Sendable { case redream, batch }
    public var kind: Kind
    /// The command's arguments after `dreamvideo` (`redream IN -o OUT …` or `batch FILE …`), without `--shard`.
    public var arguments: [String]
    /// The re-dream's output (the join's target), or the batch file.
    public var target: String
    public var shards: Int
    /// A short name for jobs and logs (from the target's file name).
    public var name: String
    /// Models the command uses (installed into the container image).
    public var models: [String]

    /// Reads a dreamvideo command line: `redream IN -o OUT …` or `batch FILE …`.
    public init(arguments: [String], shards: Int) throws {
        guard (1...100_000).contains(shards) else { throw DreamVideoError.invalidArgument("--shards must be 1…100000, got \(shards)") }
        guard let first = arguments.first else {
            throw DreamVideoError.invalidArgument("give the command to farm after --: redream IN -o OUT … or batch FILE …")
        }
        switch first {
        case "redream": kind = .redream
        case "batch": kind = .batch
        case "zoom":
            throw DreamVideoError.invalidArgument("a zoom cannot be split in time (each frame is dreamed from the one before); farm a batch of zooms instead: dreamvideo farm slurm --shards N -- batch FILE")
        default:
            throw DreamVideoError.invalidArgument("dreamvideo farms re-dreams and batches, not '\(first)': give redream IN -o OUT … or batch FILE …")
        }
        if arguments.contains(where: { $0 == "--shard" || $0.hasPrefix("--shard=") }) {
            throw DreamVideoError.invalidArgument("leave --shard out of the farmed command: each task adds its own")
        }
        for banned in ["--overwrite", "--resume"] where arguments.contains(banned) {
            throw DreamVideoError.invalidArgument("leave \(banned) out of the farmed command: tasks always resume their own work (a requeued task continues), and never replace what they did not make")
        }
        self.arguments = arguments
        self.shards = shards
        switch kind {
        case .redream:
            guard let out = FarmPlan.value(of: ["-o", "--output"], in: arguments) else {
                throw DreamVideoError.invalidArgument("the farmed re-dream needs its output: redream IN -o OUT.mp4 …")
            }
            target = out
        case .batch:
            guard arguments.count >= 2, !arguments[1].hasPrefix("-") else { throw DreamVideoError.invalidArgument("the farmed batch needs its file: batch FILE …") }
            target = arguments[1]
        }
        let stem = URL(fileURLWithPath: target).deletingPathExtension().lastPathComponent
        let cleaned = String(stem.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }.prefix(40)).trimmingCharacters(in: CharacterSet(charactersIn: "-"))
        name = "dreamvideo-" + (cleaned.isEmpty ? "job" : cleaned)
        models = []
    }

    public static func value(of flags: [String], in args: [String]) -> String? {
        for (i, a) in args.enumerated() {
            for f in flags {
                if a == f, i + 1 < args.count { return args[i + 1] }
                if a.hasPrefix(f + "=") { return String(a.dropFirst(f.count + 1)) }
            }
        }
        return nil
    }

    /// The command a task runs, with `index` standing for its shard index (a shell variable).
    func shardCommand(binary: String, index: String) -> String {
        // A re-dream resumes its own work folder with --resume; a batch always resumes its jobs.
        ([binary] + arguments).map(shellQuote).joined(separator: " ") + " --shard \"\(index)/\(shards)\"" + (kind == .redream ? " --resume" : "")
    }

    /// The command run after every shard: the join of a re-dream, or the batch whole (it renders whatever the
    /// shards left, skipping what they did, and prints the summary).
    func finishCommand(binary: String) -> String {
        switch kind {
        case .redream: return [binary, "join", target, "--shards", String(shards)].map(shellQuote).joined(separator: " ")
        case .batch:
            return ([binary] + arguments).map(shellQuote).joined(separator: " ")
        }
    }

    // MARK: Slurm

    public struct SlurmOptions: Sendable {
        public var binary: String
        /// The folder tasks run in (relative paths of the command are relative to it).
        public var directory: String
        public var logs: String
        public var cpusPerTask = 2
        public var memory: String? = nil
        public var time: String? = nil
        public var partition: String? = nil
        /// DREAMVIDEO_HOME for the tasks (where the models are), when set.
        public var home: String? = nil
        public init(binary: String, directory: String, logs: String) { self.binary = binary; self.directory = directory; self.logs = logs }
    }

    /// An sbatch array script: `bash FILE` submits the N shards as one array job (`--requeue`: a preempted or
    /// failed-node task runs again and continues from its checkpoint) and the finishing step after them.
    public func slurmScript(_ o: SlurmOptions) -> String {
        let q = shellQuote
        var s = """
        #!/bin/bash
        # Written by `dreamvideo farm slurm`: \(shards) shard\(shards == 1 ? "" : "s") of `dreamvideo \(arguments.joined(separator: " "))`.
        #
        #   bash THIS_FILE      submits the shards as one array job and then \(kind == .redream ? "the join" : "the finishing batch run"), which waits for them
        #   sbatch THIS_FILE    submits the shards alone
        #
        # Each task renders its shard with --resume: a task that is preempted or requeued continues from its last
        # checkpoint (dreamvideo stops within its stop-within setting, 15 s by default, on SIGTERM, inside Slurm's
        # KillWait), and a finished shard that runs again does nothing. Follow with:
        #   \(o.binary) farm status \(kind == .redream ? target : "…") --shards \(shards)
        #SBATCH --job-name=\(name)
        #SBATCH --array=0-\(shards - 1)
        #SBATCH --requeue
        #SBATCH --open-mode=append
        #SBATCH --cpus-per-task=\(o.cpusPerTask)
        #SBATCH --chdir=\(o.directory)
        #SBATCH --output=\(o.logs)/\(name)-%A_%a.log

        """
        if let m = o.memory { s += "#SBATCH --mem=\(m)\n" }
        if let t = o.time { s += "#SBATCH --time=\(t)\n#SBATCH --signal=B:TERM@60\n" }
        if let p = o.partition { s += "#SBATCH --partition=\(p)\n" }
        s += "set -euo pipefail\n"
        if let h = o.home { s += "export DREAMVIDEO_HOME=\(q(h))\n" }
        let dependency = kind == .redream ? "afterok" : "afterany"
        s += """
        if [ -z "${SLURM_ARRAY_TASK_ID:-}" ]; then
            # Outside Slurm: submit the shards, then the step that waits for all of them.
            mkdir -p \(q(o.logs))
            cd \(q(o.directory))
            shards=$(sbatch --parsable "$0")
            shards=${shards%%;*}
            finish=$(sbatch --parsable --dependency=\(dependency):"$shards" --kill-on-invalid-dep=yes --job-name=\(name)-finish \\
                --chdir=\(q(o.directory)) --output=\(q(o.logs + "/" + name + "-finish-%j.log")) --cpus-per-task=\(o.cpusPerTask) \\
                --wrap=\(q("exec " + finishCommand(binary: o.binary))))
            echo "submitted shards as job $shards and \(kind == .redream ? "the join" : "the finishing batch run") as job $finish"
            exit 0
        fi
        export DREAMVIDEO_THREADS="${SLURM_CPUS_PER_TASK:-\(o.cpusPerTask)}"
        exec \(shardCommand(binary: o.binary, index: "$SLURM_ARRAY_TASK_ID"))

        """
        return s
    }

    // MARK: Kubernetes

    public struct KubernetesOptions: Sendable {
        public var image: String
        /// The PersistentVolumeClaim every pod mounts (shared, ReadWriteMany), and where.
        public var claim: String
        public var mountPath = "/work"
        public var parallelism: Int? = nil
        public var cpus = 2
        public var memory = "4Gi"
        public var gracePeriod = 60
        public init(image: String, claim: String) { self.image = image; self.claim = claim }
    }

    /// An Indexed Job of N completions (one per shard, `JOB_COMPLETION_INDEX`), pods that survive preemption
    /// (disruptions do not count as failures; each pod resumes its shard), and a finishing Job that waits
    /// for every shard (`farm status`) and joins them.
    public func kubernetesManifest(_ o: KubernetesOptions) -> String {
        let binary = "dreamvideo"
        let y = PresetLibrary.yamlQuote
        let shardScript = "exec " + shardCommand(binary: binary, index: "$JOB_COMPLETION_INDEX")
        let waitScript = "until \(binary) farm status \(shellQuote(target)) --shards \(shards) >/dev/null; do sleep 30; done; exec " + finishCommand(binary: binary)
        func container(_ script: String) -> String {
            """
                  - name: dreamvideo
                    image: \(y(o.image))
                    workingDir: \(y(o.mountPath))
                    command: ["/bin/sh", "-c"]
                    args: [\(y(script))]
                    env:
                    - name: DREAMVIDEO_THREADS
                      value: "\(o.cpus)"
                    resources:
                      requests:
                        cpu: "\(o.cpus)"
                        memory: \(y(o.memory))
                      limits:
                        memory: \(y(o.memory))
                    volumeMounts:
                    - name: work
                      mountPath: \(y(o.mountPath))
                  volumes:
                  - name: work
                    persistentVolumeClaim:
                      claimName: \(y(o.claim))
            """
        }
        var s = """
        # Written by `dreamvideo farm k8s`: \(shards) shard\(shards == 1 ? "" : "s") of `dreamvideo \(arguments.joined(separator: " "))`.
        # Paths in the command are relative to the shared volume (mounted at \(o.mountPath)). Build the image with
        # the Dockerfile written beside this file, then: kubectl apply -f THIS_FILE
        # Each pod renders its shard with --resume: a pod evicted or preempted (SIGTERM, then
        # terminationGracePeriodSeconds) continues from its last checkpoint when it runs again.\(kind == .batch ? "\n# When the Job completes, `dreamvideo \(arguments.joined(separator: " "))` (in the volume) prints the summary and renders anything left." : "")
        apiVersion: batch/v1
        kind: Job
        metadata:
          name: \(name)
          labels:
            app: dreamvideo
        spec:
          completionMode: Indexed
          completions: \(shards)
          parallelism: \(min(o.parallelism ?? shards, shards))
          backoffLimitPerIndex: 3
          podFailurePolicy:
            rules:
            - action: Ignore
              onPodConditions:
              - type: DisruptionTarget
          template:
            metadata:
              labels:
                app: dreamvideo
            spec:
              restartPolicy: Never
              terminationGracePeriodSeconds: \(o.gracePeriod)
              containers:
        \(container(shardScript))

        """
        if kind == .redream {
            s += """
            ---
            # Waits until every shard is done, then joins them by stream copy with the source's audio.
            apiVersion: batch/v1
            kind: Job
            metadata:
              name: \(name)-join
              labels:
                app: dreamvideo
            spec:
              backoffLimit: 6
              template:
                metadata:
                  labels:
                    app: dreamvideo
                spec:
                  restartPolicy: OnFailure
                  containers:
            \(container(waitScript))

            """
        }
        return s
    }

    /// A container build file: Debian with Swift, the README's set-up commands, and the command's models.
    public func dockerfile() -> String {
        var s = """
        # Written by `dreamvideo farm k8s`. The image every farm pod runs: Debian 12 with Swift 6, built from this
        # repository with the README's set-up command. Build it from the repository's root:
        #   docker build -f THIS_FILE -t dreamvideo .
        FROM swift:6.3-bookworm
        WORKDIR /opt/dreamvideo
        COPY . .
        RUN rm -rf .build out && scripts/setup.sh && rm -rf out \\
         && ln -s /opt/dreamvideo/.build/release/dreamvideo /usr/local/bin/dreamvideo

        """
        for m in models where m != "efficientnet-lite0" { s += "RUN dreamvideo models install \(m)\n" }
        s += "WORKDIR /work\n"
        return s
    }
}

extension FarmPlan {
    /// Writes a farm file whole (atomically), never over a file unless `overwrite`.
    public static func write(_ text: String, to path: String, executable: Bool, overwrite: Bool) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            if isDir.boolValue { throw DreamVideoError.invalidArgument("\(path): is a folder") }
            if !overwrite { throw DreamVideoError.outputExists(path) }
        } else if !overwrite && entryExists(path) {
            throw DreamVideoError.outputExists(path)
        }
        try AtomicFile.write(Data(text.utf8), to: path)
        if executable { chmod(path, 0o755) }
    }
}

/// A word for the shell: left as is when it needs no quoting, single-quoted otherwise.
public func shellQuote(_ s: String) -> String {
    if !s.isEmpty, s.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_./=:,+@%".contains($0)) }) { return s }
    return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
