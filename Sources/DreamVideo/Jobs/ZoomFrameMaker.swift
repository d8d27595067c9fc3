import DreamEngine
import Foundation
import MediaIO

/// One zoom frame exactly as `ZoomJob` makes it: warp the previous frame, apply the feedback regularisers,
/// dream it, hold the colours. The render (through `FrameLoop`) and `dreamvideo-bench --zoom-frame` both go
/// through it.
public final class ZoomFrameMaker: FrameMaker {
    /// What a checkpoint carries besides its pictures ("key": the last dreamed frame; "next": the next one,
    /// once dreamed, while the frames between are made): their frame indices.
    public struct Payload: Codable, Sendable {
        public var key: Int
        public var next: Int?
        public init(key: Int = 0, next: Int? = nil) { self.key = key; self.next = next }
    }
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
        dreamers = DreamerCache(network: network, guide: control.guide, cancel: control.cancel)
        note = progress.note
        step = progress.step
    }

    public var frameCount: Int? { settings.frameCount }
    public var estimatedFrameCount: Int { settings.frameCount }
    /// The soundtrack file, cut to the video's length at the join (copied where MP4 can hold it, else AAC).
    public var audio: AudioSource? {
        guard case .file(let path) = settings.audio else { return nil }
        return AudioSource(path: path)
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

    /// `picture` moved by `m` (where each output pixel reads), what lies outside filled as `--border` says: the
    /// edge repeated, the picture mirrored or tiled; `dream` mirrors and blurs the new area (σ 6 px, feathered 8 px
    /// outward from the old picture's edge, which stays untouched), so the dream paints its own patterns there
    /// instead of a mirror image.
    func moved(_ picture: Tensor, sampling m: Affine2D) -> Tensor {
        switch settings.border {
        case .replicate: return ImageOps.warp(picture, sampling: m, border: .replicate)
        case .reflect: return ImageOps.warp(picture, sampling: m, border: .reflect)
        case .wrap: return ImageOps.warp(picture, sampling: m, border: .wrap)
        case .dream:
            let mirrored = ImageOps.warp(picture, sampling: m, border: .reflect)
            // A zoom in (the usual move) reveals nothing: no mask, no blur.
            guard !m.readsInside(width: picture.shape.w, height: picture.shape.h) else { return mirrored }
            let inside = ImageOps.coverage(m, width: picture.shape.w, height: picture.shape.h, feather: 8, beyond: true)
            return ImageOps.blend(ImageOps.gaussianBlur(mirrored, sigma: 6), toward: mirrored, mask: inside, amount: 1)
        }
    }

    private func start(_ fs: FrameSettings, previous: Tensor) -> Tensor {
        var start = fs.transform.isIdentity ? previous
            : moved(previous, sampling: Affine2D(sampling: fs.transform, width: previous.shape.w, height: previous.shape.h))
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
        return try dream(start, settings: fs, rng: &rng, progress: progress)
    }

    /// Dreams a start picture with a frame's settings, on a turned grid, colours kept as asked.
    private func dream(_ start: Tensor, settings fs: FrameSettings, rng: inout SeededGenerator,
                       progress: ((DreamProgress) -> Void)?) throws -> Tensor {
        if settings.preview { return control.keepColors(start, start: start, reference: seed) }  // the motion alone
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
        if next > 0 && state.images["key"] == nil { throw DreamVideoError.invalidArgument("the checkpoint has no last frame; use --overwrite to start over") }
    }

    /// The sampling map from frame `to`'s picture back to frame `from`'s (`from` < `to`): the camera moves of
    /// frames from+1 … to composed, so a picture is moved several frames on with one resampling.
    func motion(from: Int, to: Int, width: Int, height: Int) -> Affine2D {
        var m = Affine2D.identity
        for j in stride(from: to, to: from, by: -1) {
            m = Affine2D(sampling: settings.frameSettings(at: j).transform, width: width, height: height).after(m)
        }
        return m
    }

    /// Frames rendered: the video's, and with `--loop N` N more (the video starts N frames in).
    var clipCount: Int { settings.frameCount + settings.loop }

    /// Video frame `index`. Without a loop, rendered frame `index`. With `--loop N`: rendered frame `index + N`;
    /// the first N rendered frames are kept (as "head-i" pictures) and the video's last N frames cross-fade into
    /// them, the head's weight rising (i+1)/(N+1), so the last frame leads into the first as one frame into the next.
    public func makeFrame(_ index: Int, state: FrameState<Payload>) throws -> (MadeFrame, FrameState<Payload>)? {
        let n = settings.loop
        guard n > 0 else { return try makeRendered(index, state: state) }
        var st = state
        var heads: [String: RGBImage] = st.images.filter { $0.key.hasPrefix("head-") }
        if index == 0 {
            // The frames before the video's first: rendered now, kept for the end.
            note("loop: rendering the \(n) frames the video's end fades into")
            for c in 0..<n {
                guard let (f, after) = try makeRendered(c, state: st) else { return nil }
                heads["head-\(c)"] = f.picture
                st = after
            }
        }
        let c = index + n
        let inner = FrameState(payload: st.payload, images: st.images.filter { !$0.key.hasPrefix("head-") })
        guard var (frame, after) = try makeRendered(c, state: inner) else { return nil }
        let fade = c - settings.frameCount  // ≥ 0: one of the last n frames
        if fade >= 0, let head = heads["head-\(fade)"] {
            frame.picture = frame.picture.mixed(with: head, weight: Double(fade + 1) / Double(n + 1))
            heads["head-\(fade)"] = nil  // used; later checkpoints need not carry it
        }
        frame.pts = Int64(index)
        after.images.merge(heads) { a, _ in a }
        return (frame, after)
    }

    /// Rendered frame `index`: a dreamed frame every `cadence` frames (the first and the last always), the frames
    /// between made from the dreamed frames on either side, each moved by the exact part of the camera move
    /// that lies between, cross-faded.
    func makeRendered(_ index: Int, state: FrameState<Payload>) throws -> (MadeFrame, FrameState<Payload>)? {
        if index == 0 {
            let image = try dreamKey(0, from: nil, keyIndex: 0)
            return (MadeFrame(picture: shown(image, 0), pts: 0), FrameState(payload: Payload(key: 0), images: ["key": image]))
        }
        guard let keyImage = state.images["key"] else { throw DreamVideoError.invalidArgument("the zoom lost its last frame") }
        var payload = state.payload
        var images = state.images
        let k = payload.key
        if payload.next == nil || images["next"] == nil {
            // The next dreamed frame: `cadence` frames on (the last frame at the latest).
            let n = max(1, settings.frameSettings(at: k).cadence)
            let next = min(k + n, clipCount - 1)
            images["next"] = try dreamKey(next, from: keyImage, keyIndex: k)
            payload.next = next
        }
        let next = payload.next!, nextImage = images["next"]!
        if index >= next {
            // A dreamed frame: it becomes the frame the next ones are made from.
            return (MadeFrame(picture: shown(nextImage, index), pts: Int64(index)), FrameState(payload: Payload(key: next), images: ["key": nextImage]))
        }
        let tw = Date()
        let w = keyImage.width, h = keyImage.height
        // Forward from the last dreamed frame, backward from the next; where the backward move reads outside the
        // next frame (a zoom in reveals nothing new going back), the forward picture alone.
        let forward = moved(Tensor(keyImage), sampling: motion(from: k, to: index, width: w, height: h))
        let back = motion(from: index, to: next, width: w, height: h).inverse ?? .identity
        let backward = ImageOps.warp(Tensor(nextImage), sampling: back)
        var weight = ImageOps.coverage(back, width: w, height: h)
        weight.scale(by: Float(index - k) / Float(next - k))
        let frame = ImageOps.blend(forward, toward: backward, mask: weight, amount: 1).rgbImage()
        timings.warp += Date().timeIntervalSince(tw)
        return (MadeFrame(picture: shown(frame, index), pts: Int64(index)), FrameState(payload: payload, images: images))
    }

    /// The picture as written: in a preview, with the frame's evaluated values in its top-left corner (the
    /// frame carried to the next stays clean).
    /// Rendered frame `index`'s evaluated settings: the motion, then the layers' weights, the step and the
    /// soundtrack's envelopes (when there is one).
    func settingsLines(_ index: Int) -> [String] {
        let fs = settings.frameSettings(at: index)
        let t = fs.transform
        let song = settings.soundtrack
        var second = settings.layers.map { l in
            String(format: "%@ %.2f", l.name as NSString, l.weight.value(at: Double(index), fps: settings.fps.value, frames: settings.frameCount, audio: song))
        }
        second.append(String(format: "step %.2f", Double(fs.dream.step)))
        if let v = song?.values(at: Double(index)) {
            second.append(String(format: "beat %.2f bass %.2f loud %.2f", v.beat, v.bass, v.loudness))
        }
        return [String(format: "f %d  t %.2fs  zoom %.4f  rot %.2f  dx %.1f dy %.1f", index, Double(index) / settings.fps.value,
                       Double(t.zoom), Double(t.rotate), Double(t.dx), Double(t.dy)),
                second.joined(separator: "  ")]
    }

    /// The parameter track's line for video frame `index` (rendered frame `index + loop`).
    public func parameters(at index: Int) -> String? { settingsLines(index + settings.loop).joined(separator: "\n") }

    func shown(_ image: RGBImage, _ index: Int) -> RGBImage {
        guard settings.preview else { return image }
        let lines = settingsLines(index).map { $0.uppercased() }
        let scale = image.width >= 960 ? 2 : 1
        var pixels = image.pixels
        let lineHeight = (BitmapFont.glyphHeight + 3) * scale
        let boxW = min(image.width, (lines.map { BitmapFont.measure($0, scale: scale).width }.max() ?? 0) + 6 * scale)
        let boxH = min(image.height, lineHeight * lines.count + 3 * scale)
        for y in 0..<boxH { for x in 0..<boxW { for c in 0..<3 { pixels[(y * image.width + x) * 3 + c] /= 3 } } }
        for (i, line) in lines.enumerated() {
            BitmapFont.draw(line, into: &pixels, width: image.width, height: image.height, x: 3 * scale, y: 3 * scale + i * lineHeight,
                            scale: scale, color: (255, 255, 255))
        }
        return RGBImage(width: image.width, height: image.height, pixels: pixels)
    }

    /// Dreams frame `index` (8-bit): the seed for frame 0, otherwise `key` (frame `keyIndex`) moved to frame
    /// `index` in one resampling, with the feedback of the frames between, then dreamed.
    private func dreamKey(_ index: Int, from key: RGBImage?, keyIndex: Int) throws -> RGBImage {
        var rng = SeededGenerator.forFrame(index, seed: settings.seed)
        let step = self.step
        let progress: (DreamProgress) -> Void = { p in if p.iteration + 1 == p.iterations { step(p) } }
        guard let key else { return try frame(0, previous: nil, rng: &rng, progress: progress).rgbImage() }
        let fs = settings.frameSettings(at: index)
        let steps = index - keyIndex
        let tw = Date()
        var start = moved(Tensor(key), sampling: motion(from: keyIndex, to: index, width: key.width, height: key.height))
        ImageOps.clip(&start, 0, 255)
        // The feedback of `steps` frames at once: what remains after each is (1 − amount)^steps.
        func over(_ a: Float) -> Float { steps == 1 ? a : 1 - pow(1 - a, Float(steps)) }
        if fs.detailDamping > 0 || fs.seedBlend > 0 || fs.renormalize > 0 {
            start = feedback.apply(start, damping: over(fs.detailDamping), seedBlend: over(fs.seedBlend), renormalize: over(fs.renormalize))
        }
        timings.warp += Date().timeIntervalSince(tw)
        return try dream(start, settings: fs, rng: &rng, progress: progress).rgbImage()
    }
}
