import Foundation
import MediaIO

/// Runs a batch's jobs in order: keeps going past a failed job, skips jobs finished before with the
/// same settings, resumes interrupted ones, and stops cleanly (after the current job's checkpoint)
/// when asked.
///
/// What it has done is kept per job, in a folder beside the batch file (`.NAME.dreamvideo-state/`): one
/// small file per output, written atomically when the job starts and when it ends, and a lock file the
/// job holds while it runs. So a re-run knows which outputs it made (their size, time and SHA-256) and
/// with what settings; two runs of the same batch at once — on one machine or several sharing the
/// folder — never run one job twice (the second finds it locked and moves on) and never overwrite each
/// other's records; and a batch of 10 000 jobs costs the same per job as one of 10.
public final class BatchRunner {
    public enum Status: Sendable, Equatable {
        case done, skipped, failed(String), interrupted(String), busy, notRun
        public var word: String {
            switch self {
            case .done: return "done"
            case .skipped: return "skipped (done earlier)"
            case .failed: return "FAILED"
            case .interrupted: return "interrupted"
            case .busy: return "running elsewhere"
            case .notRun: return "not run"
            }
        }
    }

    public struct Result: Sendable {
        public var item: BatchFile.Item
        public var status: Status
        public var frames: Int
        public var seconds: Double
    }

    /// What the batch knows of one job's output.
    struct Record: Codable, Equatable {
        var output: String
        var fingerprint: String
        var finished: Bool
        /// The finished output as it was written: a file that differs is no longer the batch's.
        var bytes: Int64
        var modified: Double?
        var sha256: String?
    }

    public let batch: BatchFile
    public let store: ModelStore
    /// Replace outputs that exist but were not made by this batch.
    public let overwrite: Bool
    /// The folder of per-job records and locks.
    public let stateFolder: String
    /// The single state file of dreamvideo before per-job records: read (never written) so a batch finished
    /// by an earlier version is still known.
    let legacyStatePath: String
    /// Notes about the state (a damaged record, a folder that cannot be written), for the summary.
    public private(set) var notes: [String] = []

    /// With a shard, only this shard's jobs run (`BatchFile.share(of:)`).
    public let shard: Shard?

    public init(batch: BatchFile, store: ModelStore = ModelStore(), overwrite: Bool = false, shard: Shard? = nil) {
        self.batch = batch; self.store = store; self.overwrite = overwrite; self.shard = shard
        let u = URL(fileURLWithPath: batch.path)
        let dir = u.deletingLastPathComponent()
        stateFolder = dir.appendingPathComponent("." + u.lastPathComponent + ".dreamvideo-state").path
        legacyStatePath = dir.appendingPathComponent("." + u.lastPathComponent + ".dreamvideo-state.json").path
    }

    /// Where the record of the job writing `output` is kept.
    func recordPath(_ output: String) -> String { stateFolder + "/" + BatchRunner.key(output) + ".json" }
    func lockPath(_ output: String) -> String { stateFolder + "/" + BatchRunner.key(output) + ".lock" }
    static func key(_ output: String) -> String { String(SHA256.hex(of: Data(output.utf8)).prefix(24)) }

    /// The record of `output`, or nil. A damaged record is reported (once, in `notes`) and treated as none.
    func record(_ output: String) -> Record? {
        let path = recordPath(output)
        if let data = FileManager.default.contents(atPath: path) {
            if let r = try? JSONDecoder().decode(Record.self, from: data), r.output == output { return r }
            notes.append("\(path): the batch's record of \(output) is damaged and was ignored; delete it (the job is then treated as never run)")
            return nil
        }
        return legacyRecords[output]
    }

    private lazy var legacyRecords: [String: Record] = {
        struct Legacy: Codable {
            struct Entry: Codable { var fingerprint: String; var finished: Bool; var bytes: Int64 }
            var outputs: [String: Entry]
        }
        guard let d = FileManager.default.contents(atPath: legacyStatePath) else { return [:] }
        guard let s = try? JSONDecoder().decode(Legacy.self, from: d) else {
            notes.append("\(legacyStatePath): the batch's old state file is damaged and was ignored; delete it")
            return [:]
        }
        return s.outputs.reduce(into: [:]) { $0[$1.key] = Record(output: $1.key, fingerprint: $1.value.fingerprint, finished: $1.value.finished, bytes: $1.value.bytes) }
    }()

    func save(_ r: Record) throws {
        try ensureStateFolder()
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try e.encode(r), to: recordPath(r.output))
    }

    func ensureStateFolder() throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: stateFolder, isDirectory: &isDir) {
            guard isDir.boolValue else { throw DreamVideoError.invalidArgument("\(stateFolder): is a file; the batch keeps its records in a folder of that name (move the file away)") }
            return
        }
        if mkdir(stateFolder, 0o755) != 0 && errno != EEXIST {
            throw DreamVideoError.invalidArgument("\(stateFolder): cannot create the batch's record folder (\(AtomicFile.describeErrno(errno)))")
        }
    }

    /// The finished output as it is on disk now.
    static func describe(_ output: String, fingerprint: String) throws -> Record {
        var st = stat()
        let modified = stat(output, &st) == 0 ? Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9 : nil
        return Record(output: output, fingerprint: fingerprint, finished: true, bytes: fileSize(output) ?? 0,
                      modified: modified, sha256: try SHA256.hex(ofFile: output))
    }

    /// Whether the file at `output` is the one the batch finished (same size, time and content).
    static func isOurs(_ r: Record?, output: String) -> Bool {
        guard let r, r.finished, let size = fileSize(output), size == r.bytes else { return false }
        guard let sha = r.sha256 else { return true }  // a record of the old state file: size only
        let now = try? describe(output, fingerprint: r.fingerprint)
        if let m = r.modified, let n = now?.modified, m == n { return true }
        return now?.sha256 == sha
    }

    /// What the batch would do with a job now: skip it, or run it with which output policy (or refuse).
    func plan(_ item: BatchFile.Item) -> (skip: Bool, policy: OutputPolicy, refusal: String?) {
        let output = item.job.job.output
        let r = record(output)
        if fileSize(output) != nil {
            if BatchRunner.isOurs(r, output: output) {
                // Made by this batch: skip it if nothing changed, else render it again over itself.
                return r!.fingerprint == item.fingerprint ? (true, OutputPolicy(), nil) : (false, OutputPolicy(overwrite: true), nil)
            }
            if overwrite { return (false, OutputPolicy(overwrite: true), nil) }
            return (false, OutputPolicy(), "\(output): exists and was not made by this batch; move it away or run the batch with --overwrite")
        }
        // No output yet: continue an interrupted render of the same job. One of other settings (the batch file
        // was edited, or a new version changed a default) is started over only when asked (--overwrite) or when
        // no checkpoint of it reads (as a resume would): its checkpointed frames may be hours of work.
        if let r, r.fingerprint != item.fingerprint {
            let job = item.job.job
            guard !overwrite, let saved = type(of: job).checkpointedSettings(of: output) else { return (false, OutputPolicy(overwrite: true), nil) }
            // Only the job's own settings: the render adds what it works out when it opens (the frame size, …).
            let now = job.identity()
            let diffs = SettingsTable.identityDifferences(saved, now, keys: now.keys.filter { $0 == "input" || SettingsTable.setting($0) != nil })
            let what = diffs.isEmpty ? "its settings or input changed since" : diffs.map { "\($0.key) was \($0.was), now \($0.now)" }.joined(separator: "; ")
            return (false, OutputPolicy(), "\(output): an interrupted render of this job is kept (\(WorkFolder.path(for: output))), but \(what); set the job back to continue it, or run the batch with --overwrite to start it over")
        }
        return (false, OutputPolicy(resume: true), nil)
    }

    /// Runs every job. `observer(jobIndex, item)` gives each job's observer; `shouldStop` is polled
    /// between frames.
    public func run(observer: (Int, BatchFile.Item) -> RenderObserver, jobFinished: (Result) -> Void = { _ in },
                    shouldStop: () throws -> Bool = { Interrupts.requested }) throws -> [Result] {
        try ensureStateFolder()
        var results: [Result] = []
        var stopped = false
        let mine = shard.map { Set(batch.share(of: $0).map(\.number)) }
        for (i, item) in batch.items.enumerated() where mine?.contains(item.number) ?? true {
            if stopped {
                results.append(Result(item: item, status: .notRun, frames: 0, seconds: 0))
                continue
            }
            let t0 = Date()
            var result = Result(item: item, status: .done, frames: 0, seconds: 0)
            let output = item.job.job.output
            // The job's lock: another run of this batch (here or on another machine) may hold it.
            // A job whose lock or record cannot be used fails alone; the batch goes on.
            let lock: JobLock
            do { lock = try JobLock(path: lockPath(output)) } catch {
                result.status = .failed("\(error)")
                result.seconds = Date().timeIntervalSince(t0)
                results.append(result)
                jobFinished(result)
                continue
            }
            if !lock.acquired {
                result.status = .busy
            } else {
                let (skip, policy, refusal) = plan(item)
                if skip {
                    result.status = .skipped
                } else if let refusal {
                    result.status = .failed(refusal)
                } else {
                    var o = observer(i, item)
                    let inner = o.frame
                    var frames = 0
                    o.frame = { p in frames += 1; inner(p) }
                    do {
                        try save(Record(output: output, fingerprint: item.fingerprint, finished: false, bytes: 0))
                        let s = try item.job.job.run(store: store, policy: policy, progress: o, shouldStop: shouldStop)
                        result.frames = s.framesRendered
                        try save(try BatchRunner.describe(output, fingerprint: item.fingerprint))
                    } catch DreamVideoError.interrupted(let m) {
                        result.frames = frames
                        // The batch goes on where it stopped when run again: no flag to add.
                        result.status = .interrupted(m.replacingOccurrences(of: "; continue with the same command plus --resume", with: ""))
                        stopped = true
                    } catch {
                        result.frames = frames
                        result.status = .failed("\(error)")
                    }
                }
            }
            lock.release()
            result.seconds = Date().timeIntervalSince(t0)
            results.append(result)
            jobFinished(result)
            if !stopped, try shouldStop() { stopped = true }
        }
        return results
    }
}

/// An exclusive, non-blocking lock on a file (flock), held until released or the process ends.
final class JobLock {
    private var fd: Int32 = -1
    var acquired: Bool { fd >= 0 }

    init(path: String) throws {
        let f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard f >= 0 else { throw DreamVideoError.invalidArgument("\(path): cannot open the job's lock file (\(AtomicFile.describeErrno(errno)))") }
        if flock(f, LOCK_EX | LOCK_NB) == 0 { fd = f } else { close(f) }
    }

    func release() {
        if fd >= 0 { flock(fd, LOCK_UN); close(fd); fd = -1 }
    }

    deinit { release() }
}
