import DreamVideo
import Foundation

/// Progress on stderr: on a terminal a status line redrawn in place; otherwise (a log file, a
/// scheduler) one plain line every `interval` seconds, so long renders still show they are alive.
final class ProgressPrinter {
    let quiet: Bool
    let verbose: Bool
    let isTerminal: Bool
    let interval: Double
    /// A log gets its first line after `interval` seconds: short runs print nothing but their result.
    private var lastPlain = Date()
    private var recent: [Double] = []
    private var statusShown = false
    /// Put before every status (a batch's overall position).
    var prefix = ""

    init(quiet: Bool, verbose: Bool, interval: Double = 10) {
        self.quiet = quiet; self.verbose = verbose; self.interval = interval
        isTerminal = isatty(STDERR_FILENO) != 0
    }

    private func write(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }

    /// A status that replaces the previous one (a terminal) or is printed every `interval` seconds (a log).
    func status(_ text: String, force: Bool = false) {
        guard !quiet else { return }
        let s = prefix + text
        if isTerminal {
            write("\r\u{1B}[K\(s)")
            statusShown = true
        } else if force || Date().timeIntervalSince(lastPlain) >= interval {
            write(s + "\n")
            lastPlain = Date()
        }
    }

    /// A line that stays (notes, verbose detail).
    func line(_ s: String) {
        guard !quiet else { return }
        if isTerminal && statusShown { write("\r\u{1B}[K") }
        write(s + "\n")
        statusShown = false
    }

    /// An error line: shown even when quiet.
    func error(_ s: String) {
        if isTerminal && statusShown { write("\r\u{1B}[K") }
        write("dreamvideo: " + s + "\n")
        statusShown = false
    }

    func clear() {
        if isTerminal && statusShown && !quiet { write("\r\u{1B}[K"); statusShown = false }
    }

    /// The observer a render reports to.
    func observer(video: Bool) -> RenderObserver {
        var o = RenderObserver()
        o.note = { [unowned self] in self.line($0) }
        o.frame = { [unowned self] p in
            self.recent.append(p.seconds)
            if self.recent.count > 10 { self.recent.removeFirst() }
            let avg = self.recent.reduce(0, +) / Double(self.recent.count)
            let eta = avg * Double(p.count - p.index - 1)
            self.status(String(format: "frame %d/%d  %.2f s/frame  ETA %@", p.index + 1, p.count, avg, formatDuration(eta)))
        }
        o.step = { [unowned self] p in
            let detail = "octave \(p.octave + 1)/\(p.octaves) \(p.size.w)×\(p.size.h)"
            if self.verbose && p.iteration + 1 == p.iterations {
                self.line("  \(detail) objective \(String(format: "%.4g", p.objective))")
            } else if !video {
                self.status("\(detail) step \(p.iteration + 1)/\(p.iterations)")
            }
        }
        return o
    }
}

func formatDuration(_ s: Double) -> String {
    guard s.isFinite, s >= 0, s < 1e9 else { return "--" }
    let t = Int(s.rounded())
    return t >= 3600 ? String(format: "%dh%02dm", t / 3600, (t % 3600) / 60) : String(format: "%dm%02ds", t / 60, t % 60)
}

/// The closing line of a render.
func summaryLine(_ s: RenderSummary) -> String {
    let n = Double(max(1, s.framesRendered))
    if s.totalFrames <= 1 && s.frameRate == nil {
        return String(format: "wrote %@ (%d×%d) in %.1f s", s.output, s.width, s.height, s.wallSeconds)
    }
    var parts = [String(format: "dream %.2f", s.dreamSeconds / n)]
    if s.decodeSeconds > 0 { parts.insert(String(format: "decode %.3f", s.decodeSeconds / n), at: 0) }
    if s.flowSeconds > 0 { parts.append(String(format: "flow %.3f", s.flowSeconds / n)) }
    if s.warpSeconds > 0 { parts.append(String(format: "resample %.3f", s.warpSeconds / n)) }
    parts.append(String(format: "encode %.3f", s.encodeSeconds / n))
    let fps = s.frameRate?.decimal ?? "?"
    let rendered = s.framesRendered == s.totalFrames ? "\(s.totalFrames) frames" : "\(s.totalFrames) frames (\(s.framesRendered) this run)"
    return String(format: "wrote %@: %@ %d×%d at %@ fps, %.1f MB; %.1f s wall, %.2f s/frame (%@)",
                  s.output, rendered, s.width, s.height, fps, Double(s.outputBytes) / 1e6, s.wallSeconds,
                  s.wallSeconds / n, parts.joined(separator: ", "))
}
