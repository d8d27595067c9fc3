import DreamEngine
import Foundation
import MediaIO

/// One zoom frame exactly as `ZoomJob` makes it: warp the previous frame, apply the feedback regularisers,
/// dream it, hold the colours. The render (through `FrameLoop`) and `dreamvideo-bench --zoom-frame` both go
/// through it.
public final class ZoomFrameMaker: FrameMaker {
    /// What a checkpoint carries besides the last frame: nothing yet (each frame's random generator comes
    /// from the seed and the frame index).
    public struct Payload: Codable, Sendable { public init() {} }
    public static let pipeline = "zoom"

    public private(set) var timings = FrameTimings()
    /// Seconds spent so far warping (with feedback) and dreaming.
    public var warpSeconds: Double { timings.warp }
    public var dreamSeconds: Double { timings.dream }
    let settings: JobSettings
    let seed: Tensor
    private let control: DreamControl
    private let feedback: ZoomFeedback
    private let dreamers: DreamerCache
    private let note: (String) -> Void
    private let step: (DreamProgress) -> Void
    private var notedPyramid = false

    /// `seed` is the first frame's start picture (and the reference for the colour and composition feedback).
    public convenience init(settings: JobSettings, network: Network, seed: Tensor) throws {
        self.init(settings: settings, control: try DreamControl(settings), network: network, seed: seed)
    }

    init(settings: JobSettings, control: DreamControl, network: Network, seed: Tensor, progress: RenderObserver = RenderObserver()) {
        self.settings = settings
        self.seed = seed
        self.control = control
        feedback = ZoomFeedback(seed: seed)
        dreamers = DreamerCache(network: network, guide: control.guide)
        note = progress.note
        step = progress.step
    }

    public var frameCount: Int? { settings.frameCount }
    public var estimatedFrameCount: Int { settings.frameCount }

    /// The dreamer for frame `index` (its settings may follow keyframes).
    public func dreamer(at index: Int) throws -> Dreamer {
        try dreamers.dreamer(for: settings.frameSettings(at: index).dream)
    }

    /// The start picture of frame `index`: `previous` warped by the frame's zoom, rotation and translation, then
    /// regularised by the feedback settings (detail damping, seed blend, renormalisation).
    public func start(_ index: Int, previous: Tensor) -> Tensor {
        start(settings.frameSettings(at: index), previous: previous)
    }

    private func start(_ fs: FrameSettings, previous: Tensor) -> Tensor {
        var start = ImageOps.warp(previous, fs.transform)
        ImageOps.clip(&start, 0, 255)
        if fs.detailDamping > 0 || fs.seedBlend > 0 || fs.renormalize > 0 {
            start = feedback.apply(start, damping: fs.detailDamping, seedBlend: fs.seedBlend, renormalize: fs.renormalize)
        }
        return start
    }

    /// Frame `index`, dreamed from `previous` (nil for the first frame, which starts from the seed).
    public func frame(_ index: Int, previous: Tensor?, rng: inout SeededGenerator,
                      progress: ((DreamProgress) -> Void)? = nil) throws -> Tensor {
        let fs = settings.frameSettings(at: index)  // once a frame: schedules are evaluated here only
        var start = seed
        if let previous {
            let tw = Date()
            start = self.start(fs, previous: previous)
            timings.warp += Date().timeIntervalSince(tw)
        }
        let dreamer = try dreamers.dreamer(for: fs.dream)
        if !notedPyramid { noteShortPyramid(dreamer, height: seed.shape.h, width: seed.shape.w, note: note); notedPyramid = true }
        // Each frame is dreamed on a pixel grid turned by its own angle, spread evenly over the grid's 90° period,
        // so the network's preference for its grid's diagonals cannot compound along the zoom (`Dreamer.dream(_:gridTurn:)`).
        let range = fs.gridTurn
        let turn = range > 0 ? Float.random(in: -range..<range, using: &rng) : 0
        let td = Date()
        let dreamed = control.keepColors(try dreamer.dream(start, gridTurn: turn, rng: &rng, progress: progress), start: start, reference: seed)
        timings.dream += Date().timeIntervalSince(td)
        return dreamed
    }

    // MARK: FrameMaker

    public func start(at first: Int) throws -> FrameState<Payload> {
        guard first == 0 else {
            throw DreamVideoError.invalidArgument("a zoom cannot start at frame \(first): each frame is made from the one before, so a zoom renders from frame 0 (split a batch of zooms instead)")
        }
        return FrameState(payload: Payload())
    }

    public func resume(at next: Int, state: FrameState<Payload>) throws {
        if next > 0 && state.images["last"] == nil { throw DreamVideoError.invalidArgument("the checkpoint has no last frame; use --overwrite to start over") }
    }

    public func makeFrame(_ index: Int, state: FrameState<Payload>) throws -> (MadeFrame, FrameState<Payload>)? {
        var rng = SeededGenerator.forFrame(index, seed: settings.seed)
        let dreamed = try frame(index, previous: state.images["last"].map { Tensor($0) }, rng: &rng) { [step] p in
            if p.iteration + 1 == p.iterations { step(p) }
        }
        // The 8-bit frame is what is written and what feeds back, so a resume from the saved PNG is exact.
        let image = dreamed.rgbImage()
        return (MadeFrame(picture: image, pts: Int64(index)), FrameState(payload: state.payload, images: ["last": image]))
    }
}
