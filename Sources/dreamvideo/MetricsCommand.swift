import ArgumentParser
import DreamVideo
import Foundation

struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Measure a video's health (one video) or a re-dream against its source (two).",
        discussion: """
        With one VIDEO: per window of frames, mean saturation, the luminance power spectrum's slope, the \
        fraction of clipped pixels, the mean frame-to-frame change and the spatial diversity (how different \
        the cells of a 4×4 grid are; one texture everywhere scores low). See the README for the values of \
        renders that stay alive.

        With SOURCE and DREAMED: \

        Q = mean |D_t − S_t| (levels 0–255): how strong the dream is. F = mean |D_t − D_t−1| ÷ mean |S_t − S_t−1|: \
        flicker relative to the source's own change. W = mean |D_t − warp(D_t−1)| ÷ the same for the source over \
        pixels whose motion can be trusted (flow from the source): 1 is as coherent as the footage itself. \
        Frame i of DREAMED is compared with frame i of SOURCE (after --start); scene cuts are left out of F and W.
        """)

    @Argument(help: "The video (health), or the source video (with DREAMED).") var source: String
    @Argument(help: "The re-dreamed video.") var dreamed: String?
    @Option(parsing: .unconditional, help: "Frames per health window.") var window: Int = 100
    @Option(parsing: .unconditional, help: "Seconds into the source where the re-dream began.") var start: Double = 0
    @Option(help: "Flow method for W: dis or farneback.") var flow: String = "dis"
    @Option(parsing: .unconditional, help: "Compare at most this many frames.") var frames: Int?

    func validate() throws {
        guard start.isFinite, start >= 0, start <= 1e7 else { throw ValidationError("--start must be 0…10000000 seconds, got \(start)") }
        guard ["dis", "farneback"].contains(flow) else { throw ValidationError("--flow must be dis or farneback, got '\(flow)'") }
        if let frames, frames < 2 || frames > 10_000_000 { throw ValidationError("--frames must be 2…10000000, got \(frames)") }
        if window < 1 || window > 1_000_000 { throw ValidationError("--window must be 1…1000000, got \(window)") }
    }

    func run() throws {
        guard let dreamed else {
            print(healthTable(try HealthMetrics.measure(video: source, window: window)), terminator: "")
            return
        }
        let r = try CoherenceMetrics.measure(source: source, dreamed: dreamed, start: start, flow: FlowMethod(rawValue: flow)!, maxFrames: frames)
        print(String(format: "frames      %d (%d scene cut%@ left out)", r.frames, r.cuts, r.cuts == 1 ? "" : "s"))
        print(String(format: "strength Q  %.2f", r.strength))
        print(String(format: "flicker F   %.3f", r.flicker))
        print(String(format: "warp W      %.3f", r.warpError))
        print(String(format: "source: mean change %.2f, warp residual %.2f per frame", r.sourceChange, r.sourceWarpResidual))
    }
}

/// The health report as a table, one row per window.
func healthTable(_ windows: [HealthWindow]) -> String {
    var out = "frames          saturation   slope  clipped  change  diversity\n"
    for w in windows {
        out += String(format: "%6d–%-6d      %5.3f  %6.2f   %6.4f  %6.2f     %6.3f\n", w.first, w.last, w.mean.saturation, w.mean.slope,
                      w.mean.clipped, w.mean.change, w.mean.diversity)
    }
    return out
}
