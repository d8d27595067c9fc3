import DreamEngine
import Foundation

/// One zoom frame exactly as `ZoomJob` makes it: warp the previous frame, apply the feedback regularisers,
/// dream it, hold the colours. The render and `dreamvideo-bench --zoom-frame` both go through it.
public final class ZoomFrameMaker {
    /// Seconds spent so far warping (with feedback) and dreaming.
    public private(set) var warpSeconds = 0.0, dreamSeconds = 0.0
    let settings: JobSettings
    let seed: Tensor
    private let control: DreamControl
    private let feedback: ZoomFeedback
    private let dreamers: DreamerCache

    /// `seed` is the first frame's start picture (and the reference for the colour and composition feedback).
    public convenience init(settings: JobSettings, network: Network, seed: Tensor) throws {
        self.init(settings: settings, control: try DreamControl(settings), network: network, seed: seed)
    }

    init(settings: JobSettings, control: DreamControl, network: Network, seed: Tensor) {
        self.settings = settings
        self.seed = seed
        self.control = control
        feedback = ZoomFeedback(seed: seed)
        dreamers = DreamerCache(network: network, guide: control.guide)
    }

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
            warpSeconds += Date().timeIntervalSince(tw)
        }
        let dreamer = try dreamers.dreamer(for: fs.dream)
        let td = Date()
        let dreamed = control.keepColors(try dreamer.dream(start, rng: &rng, progress: progress), start: start, reference: seed)
        dreamSeconds += Date().timeIntervalSince(td)
        return dreamed
    }
}
