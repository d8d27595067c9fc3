import DreamEngine
import MediaIO

/// The kinds of render.
public enum JobKind: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case image, zoom, redream
    public var description: String { rawValue }
    public var isVideo: Bool { self != .image }
}

/// A layer in the objective, with its weight (which may follow a schedule, to cross-fade layers) and
/// optionally some of its channels. Text form: `NAME`, `NAME[3,41]`, `NAME:WEIGHT` or
/// `NAME[17]:WEIGHT`, WEIGHT a number or a schedule (`blocks.4:0:(0), 5s:(1)`).
public struct LayerTerm: Sendable, Equatable, Codable, CustomStringConvertible {
    public var name: String
    public var weight: Schedule
    /// Channels to amplify (nil: the whole layer).
    public var channels: [Int]?
    public init(_ name: String, weight: Schedule = Schedule(1), channels: [Int]? = nil) {
        self.name = name; self.weight = weight; self.channels = channels
    }

    public init(parsing text: String) throws(ScheduleError) {
        let t = text.trimmingCharacters(in: .whitespaces)
        var head = t
        if let colon = t.firstIndex(of: ":") {
            head = String(t[..<colon])
            weight = try Schedule(parsing: String(t[t.index(after: colon)...]))
        } else {
            weight = Schedule(1)
        }
        if let open = head.firstIndex(of: "[") {
            guard head.hasSuffix("]") else { throw ScheduleError("has '[' without a closing ']' (channels are NAME[3,41])") }
            let inner = head[head.index(after: open)..<head.index(before: head.endIndex)]
            var list: [Int] = []
            for part in inner.split(separator: ",", omittingEmptySubsequences: false) {
                let p = part.trimmingCharacters(in: .whitespaces)
                guard let c = Int(p), c >= 0, c < 1_000_000 else { throw ScheduleError("channel '\(p)' is not a channel number") }
                list.append(c)
            }
            guard !list.isEmpty, list.count <= 4096 else { throw ScheduleError("needs 1…4096 channels in [ ]") }
            channels = list
            head = String(head[..<open])
        } else {
            channels = nil
        }
        name = head.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty else { throw ScheduleError("has an empty layer name (use NAME or NAME:WEIGHT, e.g. blocks.10:0.5)") }
    }

    public var description: String {
        let ch = channels.map { "[" + $0.map(String.init).joined(separator: ",") + "]" } ?? ""
        return weight == Schedule(1) ? name + ch : "\(name)\(ch):\(weight)"
    }

    public init(from decoder: any Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(parsing: s) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "layer '\(s)' \(error.message)"))
        }
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// Every setting of a render: one field per key of `SettingsTable`, which holds each one's rules and
/// defaults. `JobSettings()` holds the table's defaults for a picture with the default model;
/// `JobSettings.defaults(for:model:)` those of another kind of job or model. Fields a job kind does not use
/// are ignored. Schedules are evaluated per frame by `frameSettings(at:)`. However a value is made (flags,
/// a preset, code, JSON), a job checks it with the table before it runs (`validate(for:)`).
public struct JobSettings: Sendable, Equatable, Codable {
    // The initial values below are placeholders: every public way to make settings overwrites each field
    // with the table's default (`defaults(for:model:)`).
    // Dream
    public var model = ""
    public var layers: [LayerTerm] = []
    public var objective = ObjectiveKind.l2
    public var octaves = Schedule(0)
    public var octaveScale = Schedule(0)
    public var iterations = Schedule(0)
    public var step = Schedule(0)
    public var jitter = 0
    public var smooth = Schedule(0)
    public var tile = 0
    public var seed: UInt64 = 0
    // Picture size
    public var size: FrameSize? = nil
    public var maxSide: Int? = nil
    // Video
    public var frames: Int? = nil
    public var duration: Double? = nil
    public var fps = FrameRate(0)
    public var zoom = Schedule(0)
    /// Frames over which a zoom's end cross-fades into its beginning (0: no loop).
    public var loop = 0
    /// What a zoom's camera move reveals outside the previous frame is filled with.
    public var border = ZoomBorder.dream
    public var rotate = Schedule(0)
    public var translate = Schedule(pair: 0, 0)
    public var crf = 0
    public var encoderPreset = ""
    public var mpeg4 = false
    public var codec = VideoCodec.h264
    /// A zoom's motion and colour work without dreaming, the frame's values written on it.
    public var preview = false
    public var framesDir: String? = nil
    public var checkpointEvery = 0
    /// Seconds after a stop signal within which a frame in progress must finish (else it is abandoned).
    public var stopWithin = 0
    // Re-dream
    public var start = 0.0
    public var flow = FlowMethod.none
    public var blend = Schedule(0)
    public var temporalWeight = Schedule(0)
    /// The soundtrack: a re-dream keeps its source's (`keep`) or drops it; a zoom is silent or takes a sound file,
    /// whose envelopes formulas can follow.
    public var audio = AudioTrack.keep
    /// Frames dreamed before a range's first frame (re-dream).
    public var leadIn = 0
    /// Frames a shard renders past its end, cross-faded with the next shard's first frames at the join.
    public var overlap = 0
    // Dream control
    /// ImageNet classes to dream (models with a classifier).
    public var classes: [ClassTerm] = []
    /// A picture whose patterns the dream takes on.
    public var guide: String? = nil
    public var keepColors = ColorKeeping.none
    /// Laplacian-pyramid levels of gradient normalisation (0: off).
    public var laplacian = 0
    // Zoom feedback regularisation
    public var detailDamping = Schedule(0)
    public var seedBlend = Schedule(0)
    public var renormalize = Schedule(0)
    /// Largest turn (degrees) of the pixel grid each zoom frame is dreamed on (0: none).
    public var gridTurn = 0.0
    /// Dream every Nth frame; the frames between are made without the network.
    public var cadence = Schedule(0)

    private init(placeholders: Void) {}

    /// The table's defaults for a picture (image job) with the default model.
    public init() { self = JobSettings.imageDefaults }

    private static let imageDefaults: JobSettings = JobSettings.tableDefaults(for: .image, model: ModelProfiles.default)

    /// The table's defaults for `kind` with `model`: what a job gets when nothing is given. Settings of
    /// other kinds of job hold their own defaults.
    public static func defaults(for kind: JobKind, model: String = ModelProfiles.defaultName) throws -> JobSettings {
        tableDefaults(for: kind, model: try ModelProfiles.profile(model))
    }

    static func tableDefaults(for kind: JobKind, model: ModelProfile) -> JobSettings {
        var s = JobSettings(placeholders: ())
        for setting in SettingsTable.all {
            let k = setting.jobs.contains(kind) ? kind : JobKind.allCases.first { setting.jobs.contains($0) }!
            guard let text = setting.defaultText(for: k, model: model) else { continue }
            let value: SettingValue = setting.repeatable ? .list(text.split(separator: "\n").map { .text(String($0)) }) : .text(text)
            // Defaults are the table's own values; one that did not parse would be a bug in the table, caught by its tests.
            try? setting.apply(value, to: &s, origin: .defaults)
        }
        s.model = model.name
        return s
    }

    /// Whether any setting follows keyframes (changes over the video).
    public var isKeyframed: Bool {
        SettingsTable.all.contains { $0.schedulable && $0.schedules(self).contains { !$0.isConstant } }
    }

    /// Whether a formula uses the video's length (`T` or `F`).
    public var usesVideoLength: Bool {
        SettingsTable.all.contains { $0.schedulable && $0.schedules(self).contains(where: \.usesLength) }
    }

    /// The envelopes of a zoom's soundtrack file at the video's frame rate (analysed once; nil without one, or when
    /// it cannot be read — the settings check reports that).
    /// With `--loop`, indexed by rendered frame (see `AudioEnvelopes.looped`).
    public var soundtrack: AudioEnvelopes? {
        guard case .file(let path) = audio else { return nil }
        return try? AudioEnvelopeCache.envelopes(path, fps: fps.value, loop: loop, videoFrames: loop > 0 ? frameCount : 0)
    }

    /// The encoder options.
    public var encoder: EncoderSettings { EncoderSettings(crf: crf, preset: encoderPreset, forceMPEG4: mpeg4, codec: codec) }

    /// The number of frames of a zoom video: `frames`, or `duration` × fps, or four seconds.
    public var frameCount: Int {
        if let frames { return frames }
        // With a soundtrack and no length given: the soundtrack's length.
        if duration == nil, case .file(let path) = audio, let song = try? AudioEnvelopeCache.envelopes(path, fps: fps.value) { return song.frameCount }
        let seconds = duration ?? 4
        let n = seconds * fps.value
        return n.isFinite && n < 1e9 ? Swift.max(1, Int(n.rounded())) : Int(1e9)
    }

    /// The settings for one frame (`frame` counted from 0), schedules evaluated. Keyframes in seconds are
    /// placed at `rate` frames per second (default: the `fps` setting; re-dream passes the source's).
    /// `frames`: the video's length for formulas that use `T` or `F` (default: a zoom's `frameCount`).
    public func frameSettings(at frame: Int, rate: Double? = nil, frames length: Int? = nil) -> FrameSettings {
        let f = Double(frame), r = rate ?? fps.value
        let n = length ?? frameCount
        let song = soundtrack
        func int(_ s: Schedule) -> Int {
            let v = s.value(at: f, fps: r, frames: n, audio: song).rounded()
            return v.isFinite && abs(v) < 1e9 ? Int(v) : 0
        }
        func float(_ s: Schedule) -> Float { Float(s.value(at: f, fps: r, frames: n, audio: song)) }
        let terms = layers.map { LayerWeight($0.name, weight: float($0.weight), channels: $0.channels, kind: guide != nil ? .guide : nil) }
            + classes.map { LayerWeight(ClassTerm.logitsNode(model), weight: float($0.weight), channels: [$0.index], kind: .mean) }
        // Terms faded to 0 cost nothing; when every term is at 0 the first stays (at 0: the frame is not dreamed).
        var active = terms.filter { $0.weight != 0 }
        if active.isEmpty, let first = terms.first { active = [first] }
        let dream = DreamSettings(layers: active, objective: objective, iterations: int(iterations), octaves: int(octaves),
                                  octaveScale: float(octaveScale), step: float(step), jitter: jitter, smooth: float(smooth),
                                  tileSize: tile, laplacianLevels: laplacian)
        let t = translate.values(at: f, fps: r, frames: n, audio: song)
        return FrameSettings(dream: dream, transform: FrameTransform(zoom: float(zoom), rotate: float(rotate),
                                                                   dx: Float(t[0]), dy: Float(t.count > 1 ? t[1] : 0)),
                             blend: float(blend), temporalWeight: float(temporalWeight),
                             detailDamping: float(detailDamping), seedBlend: float(seedBlend), renormalize: float(renormalize),
                             gridTurn: Float(gridTurn), cadence: int(cadence))
    }
}

/// What fills the area a zoom's camera move reveals (zooming out, rotating, shifting).
public enum ZoomBorder: String, Sendable, Codable, CaseIterable {
    /// The picture mirrored at its edge.
    case reflect
    /// The edge pixels repeated outward (streaks).
    case replicate
    /// The picture tiled.
    case wrap
    /// Mirrored and blurred: the dream paints new patterns there.
    case dream
}

/// A video's soundtrack.
public enum AudioTrack: Sendable, Equatable, Codable, CustomStringConvertible {
    /// A re-dream keeps its source's audio (a zoom has none).
    case keep
    /// No audio.
    case none
    /// A sound file (any audio FFmpeg reads): a zoom's soundtrack.
    case file(String)

    public var description: String {
        switch self {
        case .keep: return "true"
        case .none: return "false"
        case .file(let p): return p
        }
    }
}

/// What one frame is dreamed with.
public struct FrameSettings: Sendable, Equatable {
    public var dream: DreamSettings
    /// The camera move that makes the next frame's start image (zoom videos).
    public var transform: FrameTransform
    /// How much of the warped previous dream starts the frame (re-dream), 0…1.
    public var blend: Float
    /// Strength of the pull toward the warped previous dream while dreaming (re-dream).
    public var temporalWeight: Float
    /// Zoom feedback regularisation of this frame's start picture.
    public var detailDamping: Float
    public var seedBlend: Float
    public var renormalize: Float
    /// Largest turn (degrees) of the pixel grid the frame is dreamed on (zoom).
    public var gridTurn: Float
    /// Dream every this many frames (1: every frame).
    public var cadence: Int
}
