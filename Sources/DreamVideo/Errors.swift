/// Errors of the pipelines and the model store, each a single actionable line.
public enum DreamVideoError: Error, CustomStringConvertible {
    case modelNotInstalled(String, hint: String)
    case modelNotInstallable(String)
    case downloadFailed(package: String, reason: String)
    case commandFailed(String, String)
    case invalidArgument(String)
    case outputExists(String)
    case interrupted(String)
    /// `--resume` of a range that is already rendered, complete and checked, with the same settings: nothing to do
    /// (a requeued farm task that had finished).
    case alreadyDone(String)
    /// Another render holds the output.
    case busy(String)
    /// A resumed render's settings differ from the checkpoint's: (key, was, now).
    case resumeMismatch(output: String, differences: [(key: String, was: String, now: String)])

    public var description: String {
        switch self {
        case .modelNotInstalled(let m, let hint): return "model \(m) is not installed; \(hint)"
        case .modelNotInstallable(let m): return "model \(m) has no downloadable weights; import them with `dreamvideo models import \(m) FILE`"
        case .downloadFailed(let p, let r):
            return "could not download \(p) (\(r)); check the network or proxy settings for pip, then run `dreamvideo models install`"
        case .commandFailed(let what, let msg): return "\(what) failed: \(msg)"
        case .invalidArgument(let s): return s
        case .outputExists(let p): return "\(p): already exists (pass --overwrite to replace it)"
        case .interrupted(let s): return s
        case .alreadyDone(let p): return "\(p): already rendered with these settings (checked against its range manifest); nothing to do"
        case .busy(let s): return s
        case .resumeMismatch(let output, let diffs):
            let list = diffs.prefix(4).map { "\($0.key) was \($0.was), now \($0.now)" }.joined(separator: "; ")
            return "\(output): cannot resume: settings differ from the interrupted render (\(list)\(diffs.count > 4 ? "; …" : "")); use the original settings with --resume, or --overwrite to start over"
        }
    }
}
