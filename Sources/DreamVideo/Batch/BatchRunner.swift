import Foundation
import MediaIO

/// Runs a batch's jobs in order: keeps going past a failed job, skips jobs finished before with the
/// same settings, resumes interrupted ones, and stops cleanly (after the current job's checkpoint)
/// when asked. What it has done is kept in a state file beside the batch file
/// (`.NAME.dreamvideo-state.json`), so a re-run knows which outputs it made and with what settings.
public final class BatchRunner {
    public enum Status: Sendable, Equatable {
        case done, skipped, failed(String), interrupted(String), notRun
        public var word: String {
            switch self {
            case .done: return "done"
            case .skipped: return "skipped (done earlier)"
            case .failed: return "FAILED"
            case .interrupted: return "interrupted"
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

    struct State: Codable {
        struct Entry: Codable { var fingerprint: String; var finished: Bool; var bytes: Int64 }
        var outputs: [String: Entry] = [:]
    }

    public let batch: BatchFile
    public let store: ModelStore
    /// Replace outputs that exist but were not made by this batch.
    public let overwrite: Bool
    let statePath: String

    public init(batch: BatchFile, store: ModelStore = ModelStore(), overwrite: Bool = false) {
        self.batch = batch; self.store = store; self.overwrite = overwrite
        let u = URL(fileURLWithPath: batch.path)
        statePath = u.deletingLastPathComponent().appendingPathComponent("." + u.lastPathComponent + ".dreamvideo-state.json").path
    }

    func loadState() -> State {
        guard let d = FileManager.default.contents(atPath: statePath), let s = try? JSONDecoder().decode(State.self, from: d) else { return State() }
        return s
    }

    func save(_ s: State) throws {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try e.encode(s), to: statePath)
    }

    /// What the batch would do with a job now: skip it, or run it with which output policy.
    func plan(_ item: BatchFile.Item, _ state: State) -> (skip: Bool, policy: OutputPolicy, refusal: String?) {
        let output = item.job.job.output
        let entry = state.outputs[output]
        if let size = fileSize(output) {
            if let e = entry, e.finished, e.fingerprint == item.fingerprint, e.bytes == size { return (true, OutputPolicy(), nil) }
            if entry != nil || overwrite { return (false, OutputPolicy(overwrite: true), nil) }
            return (false, OutputPolicy(), "\(output): exists and was not made by this batch; move it away or run the batch with --overwrite")
        }
        if let e = entry, e.fingerprint != item.fingerprint { return (false, OutputPolicy(overwrite: true), nil) }
        return (false, OutputPolicy(resume: true), nil)
    }

    /// Runs every job. `progress(jobIndex, item)` gives each job's observer; `shouldStop` is polled
    /// between frames.
    public func run(observer: (Int, BatchFile.Item) -> RenderObserver, jobFinished: (Result) -> Void = { _ in },
                    shouldStop: () throws -> Bool = { Interrupts.requested }) throws -> [Result] {
        var state = loadState()
        var results: [Result] = []
        var stopped = false
        for (i, item) in batch.items.enumerated() {
            if stopped {
                results.append(Result(item: item, status: .notRun, frames: 0, seconds: 0))
                continue
            }
            let t0 = Date()
            let (skip, policy, refusal) = plan(item, state)
            var result = Result(item: item, status: .done, frames: 0, seconds: 0)
            if skip {
                result.status = .skipped
            } else if let refusal {
                result.status = .failed(refusal)
            } else {
                let output = item.job.job.output
                state.outputs[output] = .init(fingerprint: item.fingerprint, finished: false, bytes: 0)
                try save(state)
                do {
                    let s = try item.job.job.run(store: store, policy: policy, progress: observer(i, item), shouldStop: shouldStop)
                    result.frames = s.framesRendered
                    state.outputs[output] = .init(fingerprint: item.fingerprint, finished: true, bytes: fileSize(output) ?? 0)
                    try save(state)
                } catch DreamVideoError.interrupted(let m) {
                    result.status = .interrupted(m)
                    stopped = true
                } catch {
                    result.status = .failed("\(error)")
                }
            }
            result.seconds = Date().timeIntervalSince(t0)
            results.append(result)
            jobFinished(result)
            if !stopped, try shouldStop() { stopped = true }
        }
        return results
    }
}
