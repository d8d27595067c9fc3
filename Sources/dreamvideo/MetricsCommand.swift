import ArgumentParser
import DreamVideo
import Foundation

struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Measure a re-dreamed video against its source: strength, flicker and warp error.",
        discussion: """
        Q = mean |D_t − S_t| (levels 0–255): how strong the dream is. F = mean |D_t − D_t−1| ÷ mean |S_t − S_t−1|: \
        flicker relative to the source's own change. W = mean |D_t − warp(D_t−1)| ÷ the same for the source over \
        pixels whose motion can be trusted (flow from the source): 1 is as coherent as the footage itself. \
        Frame i of DREAMED is compared with frame i of SOURCE (after --start); scene cuts are left out of F and W.
        """)

    @Argument(help: "The source video.") var source: String
    @Argument(help: "The re-dreamed video.") var dreamed: String
    @Option(parsing: .unconditional, help: "Seconds into the source where the re-dream began.") var start: Double = 0
    @Option(help: "Flow method for W: dis or farneback.") var flow: String = "dis"
    @Option(parsing: .unconditional, help: "Compare at most this many frames.") var frames: Int?

    func validate() throws {
        guard start.isFinite, start >= 0, start <= 1e7 else { throw ValidationError("--start must be 0…10000000 seconds, got \(start)") }
        guard ["dis", "farneback"].contains(flow) else { throw ValidationError("--flow must be dis or farneback, got '\(flow)'") }
        if let frames, frames < 2 || frames > 10_000_000 { throw ValidationError("--frames must be 2…10000000, got \(frames)") }
    }

    func run() throws {
        let r = try CoherenceMetrics.measure(source: source, dreamed: dreamed, start: start, flow: FlowMethod(rawValue: flow)!, maxFrames: frames)
        print(String(format: "frames      %d (%d scene cut%@ left out)", r.frames, r.cuts, r.cuts == 1 ? "" : "s"))
        print(String(format: "strength Q  %.2f", r.strength))
        print(String(format: "flicker F   %.3f", r.flicker))
        print(String(format: "warp W      %.3f", r.warpError))
        print(String(format: "source: mean change %.2f, warp residual %.2f per frame", r.sourceChange, r.sourceWarpResidual))
    }
}
