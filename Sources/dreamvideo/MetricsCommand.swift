import ArgumentParser
import DreamVideo
import Foundation
import MediaIO

struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Measure a video's health (one video) or a re-dream against its source (two).",
        discussion: """
        With one VIDEO: per window of frames, mean saturation, the luminance power spectrum's slope, the \
        fraction of clipped pixels, the mean frame-to-frame change and the spatial diversity (how different \
        the cells of a 4×4 grid are; one texture everywhere scores low) and the lattice score (structure at \
        periods of 7–64 px along the pixel grid's diagonals over that along rows and columns: under 1 healthy, \
        1.3 and more for a zoom grown into straight diagonal lines). See docs/zoom.md for the values of renders \
        that stay alive.

        With SOURCE and DREAMED, per window of frames and over the whole clip: \

        S (strength as the network sees it) = the dream objective 0.5·mean(act²) at --layer of --model for the \
        dreamed frame ÷ the same for its source frame: > 1 is a dream, ≈ 1 none. Detail = mean |Laplacian| of \
        the dreamed frame ÷ the source's: < 1 is a blur. Q = mean |D_t − S_t| (levels 0–255): how far the \
        picture moved (a blur moves it too). F = mean |D_t − D_t−1| ÷ mean |S_t − S_t−1|: flicker relative to \
        the source's own change. W = mean |D_t − warp(D_t−1)| ÷ the same for the source over pixels whose \
        motion can be trusted (flow from the source): 1 is as coherent as the footage itself. Frame i of DREAMED \
        is compared with frame i of SOURCE (after --start); scene cuts are left out of F and W, which a blur \
        also passes: read them with S and detail. DREAMED may be the folder of PNG frames a render wrote with \
        --frames-dir: the frames as dreamed, before the video's 8-bit encoding (which rounds a dream's pictures \
        afresh in every frame and so adds to W; the footage's own pictures round back to themselves).
        """)

    @Argument(help: "The video (health), or the source video (with DREAMED).") var source: String
    @Argument(help: "The re-dreamed video, or the folder of PNG frames its render wrote with --frames-dir (the dream without the encoder's share).") var dreamed: String?
    @Option(parsing: .unconditional, help: "Frames per window (default: 100 for health, 30 for a re-dream).") var window: Int?
    @Option(name: .customLong("start"), parsing: .unconditional, help: "Seconds into the source where the re-dream began (default: 0).") var startOption: Double?
    @Option(name: .customLong("flow"), help: "Flow method for W: dis or farneback (default: dis).") var flowOption: String?
    var start: Double { startOption ?? 0 }
    var flow: String { flowOption ?? "dis" }
    @Option(parsing: .unconditional, help: "Compare at most this many frames.") var frames: Int?
    @Option(name: .customLong("model"), help: "Model that measures the strength S (default: the re-dream's default model, \(ModelCatalog.defaultModel)).") var modelOption: String?
    var model: String { modelOption ?? ModelCatalog.defaultModel }
    @Option(help: "Layer that measures the strength S (default: the model's re-dream layer).") var layer: String?
    @Flag(help: "Do not measure the strength S (needs no model).") var noStrength = false
    @Option(help: ArgumentHelp("Health: also the distance of each window's colours from this picture's (a zoom's seed), in levels.", valueName: "picture")) var palette: String?
    @Flag(help: "Print the video's parameter track instead: each frame's time and evaluated settings, as dreamvideo wrote them.") var parameters = false

    func validate() throws {
        // An option that does not apply is refused, never silently ignored.
        if dreamed == nil {
            let given = [("--start", startOption != nil), ("--flow", flowOption != nil), ("--frames", frames != nil), ("--model", modelOption != nil),
                         ("--layer", layer != nil), ("--no-strength", noStrength)].filter(\.1).map(\.0)
            if let first = given.first { throw ValidationError("\(first) compares a re-dream with its source: give SOURCE and DREAMED, or leave \(first) out for a health report") }
        } else if noStrength, let given = [("--model", modelOption != nil), ("--layer", layer != nil)].first(where: \.1)?.0 {
            throw ValidationError("\(given) chooses how the strength S is measured; leave it out with --no-strength")
        } else if let m = modelOption, (try? ModelProfiles.profile(m)) == nil {
            throw ValidationError("--model must be one of \(ModelCatalog.modelNames.joined(separator: ", ")), got '\(m)'")
        }
        if parameters && (dreamed != nil || palette != nil || window != nil) {
            throw ValidationError("--parameters prints one video's parameter track; give only VIDEO")
        }
        if dreamed != nil, palette != nil {
            throw ValidationError("--palette is for the health report of one video (a zoom against its seed); leave it out when comparing SOURCE and DREAMED")
        }
        guard start.isFinite, start >= 0, start <= 1e7 else { throw ValidationError("--start must be 0…10000000 seconds, got \(start)") }
        guard ["dis", "farneback"].contains(flow) else { throw ValidationError("--flow must be dis or farneback, got '\(flow)'") }
        if let frames, frames < 2 || frames > 10_000_000 { throw ValidationError("--frames must be 2…10000000, got \(frames)") }
        if let window, window < 1 || window > 1_000_000 { throw ValidationError("--window must be 1…1000000, got \(window)") }
    }

    func run() throws {
        if parameters {
            let cues = try ParameterTrack.read(source)
            guard !cues.isEmpty else { throw DreamVideoError.invalidArgument("\(source): has no parameter track (dreamvideo writes one in the videos it finishes)") }
            for c in cues { print(String(format: "%.3f\t", c.time) + c.text.replacingOccurrences(of: "\n", with: "  |  ")) }
            return
        }
        guard let dreamed else {
            print(healthTable(try HealthMetrics.measure(video: source, window: window ?? 100, paletteOf: palette)), terminator: "")
            return
        }
        var objective: LayerObjective? = nil
        if !noStrength {
            let profile = try ModelProfiles.profile(model)
            let name = layer ?? profile.redream.dream.layers[0].name
            _ = try ModelProfiles.architecture(model).nodeIndex(name)
            objective = try LayerObjective(network: try ModelStore().load(model, log: { FileHandle.standardError.write(Data("\($0)\n".utf8)) }), layer: name)
        }
        let r = try CoherenceMetrics.measure(source: source, dreamed: dreamed, start: start, flow: FlowMethod(rawValue: flow)!, maxFrames: frames,
                                             window: window ?? 30, objective: objective)
        print(coherenceTable(r), terminator: "")
        for n in r.notes { FileHandle.standardError.write(Data("dreamvideo: note: \(n)\n".utf8)) }
    }
}

/// A re-dream's measures as a table, one row per window and one for the whole clip.
func coherenceTable(_ r: CoherenceReport) -> String {
    func num(_ v: Double?, _ f: String) -> String { v.map { String(format: f, $0) } ?? "n/a" }
    func pad(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - s.count)) + s }
    var out = "frames \(r.frames), scene cuts left out of F and W: \(r.cuts); strength S measured with \(r.measuredWith ?? "nothing (--no-strength)")\n"
    out += "frames            S  detail       Q       F       W\n"
    let rows = r.windows.map { ("\($0.first)–\($0.last)", $0) } + [("all", r.total)]
    for (label, w) in rows {
        out += label.padding(toLength: 12, withPad: " ", startingAt: 0) + pad(num(w.strength, "%.2f"), 7) + pad(num(w.detail, "%.2f"), 8)
            + pad(String(format: "%.1f", w.difference), 8) + pad(num(w.flicker, "%.3f"), 8) + pad(num(w.warpError, "%.3f"), 8) + "\n"
    }
    out += String(format: "source: mean change %.2f, warp residual %.2f per frame\n", r.sourceChange, r.sourceWarpResidual)
    return out
}

/// The health report as a table, one row per window.
func healthTable(_ windows: [HealthWindow]) -> String {
    let withPalette = windows.contains { $0.palette != nil }
    var out = "frames          saturation   slope  clipped  change  diversity  lattice" + (withPalette ? "  palette" : "") + "\n"
    for w in windows {
        out += String(format: "%6d–%-6d      %5.3f  %6.2f   %6.4f  %6.2f     %6.3f    %5.2f", w.first, w.last, w.mean.saturation, w.mean.slope,
                      w.mean.clipped, w.mean.change, w.mean.diversity, w.mean.lattice)
            + (w.palette.map { String(format: "   %6.2f", $0) } ?? "") + "\n"
    }
    return out
}
