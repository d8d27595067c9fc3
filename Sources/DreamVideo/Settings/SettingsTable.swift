import DreamEngine
import Foundation
import MediaIO

/// One setting, declared once: its key (also the command-line flag `--key` and the preset key), the
/// jobs it applies to, what values are allowed, its default, unit and help, and the field of
/// `JobSettings` it fills. Parsing, range checks and the checks of values set from code happen here and
/// nowhere else.
public struct Setting: Sendable {
    public let key: String
    public let jobs: Set<JobKind>
    /// What values are allowed, for help and errors ("0.25…4", "l2 or mean", "WIDTHxHEIGHT").
    public let allowed: String
    public let unit: String
    public let help: String
    /// The placeholder in flag help (`--size <WxH>`).
    public let valueName: String
    /// Whether the value may be a keyframed schedule.
    public let schedulable: Bool
    /// Numbers per value of a schedule (2 for a shift `dx,dy`).
    public let arity: Int
    /// Whether the setting may be given several times on the command line (a list in presets).
    public let repeatable: Bool
    /// Whether it is a switch without a value on the command line.
    public let isFlag: Bool
    /// Whether a resumed render must keep it (it changes the frames or the encoded stream).
    public let affectsFrames: Bool
    /// Whether the value is a file or folder path (relative paths in a batch or preset file are relative to
    /// that file's folder).
    public let isPath: Bool
    /// The setting that says the same thing another way (`frames` and `duration`, `size` and `max-side`):
    /// giving one unsets the other.
    public let excludes: String?
    /// The built-in default as text, per job kind (nil: unset).
    public let builtIn: @Sendable (JobKind) -> String?
    /// A model's own default as text, per job kind (nil: the built-in one holds).
    public let modelDefault: @Sendable (ModelProfile, JobKind) -> String?
    let apply: @Sendable (SettingValue, inout JobSettings) throws(SettingProblem) -> Void
    /// Checks the value `JobSettings` holds (set in code or decoded) by the same rules `apply` uses.
    let check: @Sendable (JobSettings) throws(SettingProblem) -> Void
    /// The current value as text (nil when unset), in the form `apply` reads back.
    public let format: @Sendable (JobSettings) -> SettingValue?
    /// Unsets an optional setting (nil: it always has a value).
    let clear: (@Sendable (inout JobSettings) -> Void)?
    /// The schedules the setting holds (a keyframed value; one per layer or class term), for the checks every
    /// schedule gets (keyframe order, the video's end).
    let schedules: @Sendable (JobSettings) -> [Schedule]
    /// Whether one number of a schedule is allowed, and the rule in words (formulas are checked frame by frame).
    var valueCheck: (@Sendable (Double) -> Bool)? = nil
    var valueAllowed = ""
    /// For a setting added after renders could be resumed and joined: the value every render made before it
    /// existed had. That value is left out of a render's identity, so checkpoints, ranges and farm tasks made by
    /// earlier builds still resume, join and count as done.
    var impliedBefore: String? = nil

    /// The default in words for help texts: a value, "the model's", or nil when unset by default.
    public var defaultDescription: String? {
        let def = ModelProfiles.default
        if modelDefault(def, .image) != nil || modelDefault(def, .zoom) != nil { return "the model's" }
        let i = builtIn(.image), v = builtIn(.zoom)
        if let i, let v, i != v { return "\(i) (images), \(v) (videos)" }
        return (i ?? v).map { $0 + (unit.isEmpty || allowed.hasSuffix(unit) ? "" : " \(unit)") }
    }

    /// The default for `kind` with `model`, as text (nil: unset).
    public func defaultText(for kind: JobKind, model: ModelProfile?) -> String? {
        model.flatMap { modelDefault($0, kind) } ?? builtIn(kind)
    }

    /// Parses `value` into `settings`; the error carries the key and `origin`.
    public func apply(_ value: SettingValue, to settings: inout JobSettings, origin: SettingOrigin) throws(SettingError) {
        do { try apply(value, &settings) } catch { throw self.error(error, value: value.description, origin: origin) }
    }

    /// Checks the value `settings` holds; the error carries the key and `origin`.
    func check(_ settings: JobSettings, origin: SettingOrigin) throws(SettingError) {
        do { try check(settings) } catch { throw self.error(error, value: format(settings)?.description ?? "", origin: origin) }
    }

    func error(_ p: SettingProblem, value: String, origin: SettingOrigin) -> SettingError {
        switch p {
        case .notAllowed:
            let withUnit = unit.isEmpty || allowed.contains(unit) ? allowed : "\(allowed) (\(unit))"
            return SettingError(key: key, value: value, problem: .notAllowed(allowed: withUnit), origin: origin)
        case .invalid(let m): return SettingError(key: key, value: value, problem: .invalid(m), origin: origin)
        }
    }
}

/// Internal: what went wrong while parsing or checking one value.
enum SettingProblem: Error {
    /// Not of the allowed form or range (the setting's `allowed` text explains).
    case notAllowed
    /// A specific message, e.g. from a schedule.
    case invalid(String)
}

/// The table of every setting. Front ends derive their options from it (`dreamvideo` maps `--key`),
/// presets use the keys, and job resolution applies defaults, presets and overrides through it.
public enum SettingsTable {
    public static let all: [Setting] = dream + control + picture + video + redream

    public static func setting(_ key: String) -> Setting? { byKey[key] }
    /// A key's value in a render's identity, for messages: a value left out because earlier renders all had it
    /// (`Setting.impliedBefore`) is shown as that value.
    static func identityValue(_ key: String, in identity: [String: String]) -> String {
        identity[key] ?? setting(key)?.impliedBefore ?? "(unset)"
    }
    /// Of `keys`, those whose values differ between two render identities, in key order, each with both values as
    /// messages show them.
    static func identityDifferences(_ saved: [String: String], _ now: [String: String], keys: some Sequence<String>) -> [(key: String, was: String, now: String)] {
        keys.sorted().compactMap { k in saved[k] == now[k] ? nil : (k, identityValue(k, in: saved), identityValue(k, in: now)) }
    }
    static let byKey: [String: Setting] = Dictionary(uniqueKeysWithValues: all.map { ($0.key, $0) })

    /// The settings a job kind uses, in table order.
    public static func settings(for kind: JobKind) -> [Setting] { all.filter { $0.jobs.contains(kind) } }

    static let dreamJobs: Set<JobKind> = [.image, .zoom, .redream]
    static let videoJobs: Set<JobKind> = [.zoom, .redream]

    /// The long side of video frames made from a picture or a source when no size is given.
    public static let defaultVideoSide = 1280

    // MARK: dream

    static let dream: [Setting] = [
        field("model", \.model, jobs: dreamJobs, allowed: choiceList(ModelProfiles.all.map(\.name)), valueName: "name",
              help: "Network that dreams: efficientnet-lite0 (fast; eyes, faces), vgg16-hed (heavy; dense textures), googlenet (weights you import).",
              builtIn: { _ in ModelProfiles.defaultName },
              parse: { v throws(SettingProblem) in
                  guard case .text(let t) = v else { throw .notAllowed }
                  return t.trimmingCharacters(in: .whitespaces)
              },
              check: { m throws(SettingProblem) in guard ModelProfiles.all.contains(where: { $0.name == m }) else { throw .notAllowed } },
              format: { .text($0) }),
        field("layer", \.layers, jobs: dreamJobs, allowed: "NAME, NAME[CHANNELS] and an optional :WEIGHT (a number or keyframes)",
              valueName: "name[channels][:weight]",
              help: "Layer to amplify, or some of its channels (blocks.10[17], block4_conv3[3,41,97]); repeat to mix, each with a weight (a number or keyframes) that scales its part of the dream: 0.5 dreams half as strongly, 0 not at all; cross-fade layers by keyframing their weights.",
              schedulable: true, repeatable: true,
              modelDefault: { m, k in m.dream(for: k).layers.map(\.description).joined(separator: "\n") },
              parse: { v throws(SettingProblem) in
                  let items: [String]
                  switch v {
                  case .list(let l): items = l.map(\.description)
                  case .text(let t): items = t.split(separator: "\n").map(String.init)
                  default: throw .notAllowed
                  }
                  guard !items.isEmpty else { throw .invalid("needs at least one layer") }
                  var terms: [LayerTerm] = []
                  for i in items {
                      do throws(ScheduleError) { terms.append(try LayerTerm(parsing: i)) } catch { throw .invalid("'\(i)': \(error.message)") }
                  }
                  return terms
              },
              check: { terms throws(SettingProblem) in
                  for t in terms {
                      guard !t.name.isEmpty else { throw .invalid("has an empty layer name (use NAME or NAME:WEIGHT, e.g. blocks.10:0.5)") }
                      for k in t.weight.keyframes where !(abs(k.values[0]) <= 1000) {
                          throw .invalid("'\(t)': weight \(formatNumber(k.values[0])) must be within -1000…1000")
                      }
                      do throws(ScheduleError) { try t.weight.checkOrder() } catch { throw .invalid("'\(t)': \(error.message)") }
                  }
              },
              format: { .list($0.map { .text($0.description) }) },
              schedules: { $0.map(\.weight) }),
        choice("objective", \.objective, [ObjectiveKind.l2, .mean], jobs: dreamJobs, default: "l2",
               help: "What each layer maximises: l2 = 0.5·mean(act²) (the seed's), mean = mean(act)."),
        schedule("octaves", \.octaves, 1...12, integer: true, jobs: dreamJobs, unit: "",
                 help: "Scales to dream at, smallest first (the pyramid stops early if the picture gets too small for the layer).",
                 modelDefault: { m, k in "\(m.dream(for: k).octaves)" }),
        schedule("octave-scale", \.octaveScale, 1...4, lowerOpen: true, jobs: dreamJobs, unit: "×",
                 help: "Size ratio between octaves.", modelDefault: { m, k in formatNumber(Double(m.dream(for: k).octaveScale)) }),
        schedule("iterations", \.iterations, 1...10_000, integer: true, jobs: dreamJobs, unit: "steps",
                 help: "Gradient-ascent steps per octave.", modelDefault: { m, k in "\(m.dream(for: k).iterations)" }),
        schedule("step", \.step, 0...100, lowerOpen: true, jobs: dreamJobs, unit: "px",
                 help: "Step size in 0–255 pixel units, after dividing the gradient by its mean absolute value.",
                 modelDefault: { m, k in formatNumber(Double(m.dream(for: k).step)) }),
        integer("jitter", \.jitter, 0...512, jobs: dreamJobs, default: "32", unit: "px",
                help: "Largest random shift of the picture per step (hides tile seams and grid artefacts)."),
        schedule("smooth", \.smooth, 0...20, jobs: dreamJobs, default: "0", unit: "px",
                 help: "Gaussian smoothing of the gradient (sigma); 0 is off."),
        field("tile", \.tile, jobs: dreamJobs, allowed: "0 (the model's) or 64…4096", unit: "px",
              help: "Tile side for big pictures (memory stays bounded); 0 uses the model's (1024 efficientnet, 512 vgg16).",
              builtIn: { _ in "0" },
              parse: { v throws(SettingProblem) in try parseInt(v, 0...4096) },
              check: { t throws(SettingProblem) in guard t == 0 || (64...4096).contains(t) else { throw .notAllowed } },
              format: { .number(Double($0)) }),
        field("seed", \.seed, jobs: dreamJobs, allowed: "an integer 0…18446744073709551615",
              help: "Random seed: the same seed, inputs and settings give the same output.",
              builtIn: { _ in "0" },
              parse: { v throws(SettingProblem) in
                  if case .number(let d) = v, d >= 0, d < 9_007_199_254_740_992, d == d.rounded() { return UInt64(d) }  // exact in a double
                  guard let n = UInt64(v.description.trimmingCharacters(in: .whitespaces)) else { throw .notAllowed }
                  return n
              },
              format: { .text("\($0)") }),
    ]

    // MARK: dream control

    static let control: [Setting] = [
        field("class", \.classes, jobs: dreamJobs, allowed: "an ImageNet class name or number 0…999, optionally :WEIGHT",
              valueName: "name|number[:weight]",
              help: "Dream what the network finds essential for an ImageNet class (e.g. \"tiger cat\" or 282); repeat for several. Without --layer, the class alone. Needs a model with a classifier.",
              schedulable: true, repeatable: true,
              parse: { v throws(SettingProblem) in
                  let items: [String]
                  switch v {
                  case .list(let l): items = l.map(\.description)
                  case .text(let t): items = [t]
                  case .number(let n): items = [formatNumber(n)]
                  default: throw .notAllowed
                  }
                  var terms: [ClassTerm] = []
                  for i in items {
                      do throws(ScheduleError) { terms.append(try ClassTerm(parsing: i)) } catch { throw .invalid(error.message) }
                  }
                  return terms
              },
              check: { terms throws(SettingProblem) in
                  for t in terms {
                      guard (0..<ImageNetLabels.names.count).contains(t.index) else { throw .invalid("class number \(t.index) is not 0…\(ImageNetLabels.names.count - 1)") }
                      for k in t.weight.keyframes where !(abs(k.values[0]) <= 1000) {
                          throw .invalid("'\(t)': weight \(formatNumber(k.values[0])) must be within -1000…1000")
                      }
                      do throws(ScheduleError) { try t.weight.checkOrder() } catch { throw .invalid("'\(t)': \(error.message)") }
                  }
              },
              format: { $0.isEmpty ? nil : .list($0.map { .text($0.description) }) },
              schedules: { $0.map(\.weight) }),
        path("guide", \.guide, jobs: dreamJobs, what: "a picture file", valueName: "picture", affectsFrames: true,
             help: "A picture whose patterns the dream takes on: each place of the dream follows the guide's best-matching features at the chosen layers."),
        integer("laplacian", \.laplacian, 0...8, jobs: dreamJobs, default: "0", unit: "levels",
                help: "Normalise the gradient over this many frequency bands (the DeepDream notebook's Laplacian pyramid): bigger structures, less fine texture; 0 is off.",
                modelDefault: { m, k in k == .zoom ? String(m.zoom.laplacian) : nil }),
        choice("keep-colors", \.keepColors, ColorKeeping.allCases, jobs: dreamJobs, default: "none",
               help: "Hold the colours: luminance keeps the start's chroma (the dream changes lightness only); histogram moves the colours onto those of the input, the zoom's seed or the source frame (their joint distribution, so a zoom keeps its seed's palette)."),
    ]

    // MARK: picture

    static let picture: [Setting] = [
        optional("size", \.size, jobs: [.image, .zoom], allowed: "WIDTHxHEIGHT, each side 16…\(FrameSize.maxSide) px (even for videos)", valueName: "WxH",
                 help: "Picture size: resize the input (image), or the exact video frame size (zoom; default: the seed's aspect, long side --max-side).",
                 excludes: "max-side",
                 parse: { v throws(SettingProblem) in
                     guard let sz = try? FrameSize(parsing: v.description) else { throw .notAllowed }
                     return sz
                 },
                 check: { sz throws(SettingProblem) in guard (try? FrameSize(checking: sz.width, sz.height)) != nil else { throw .notAllowed } },
                 format: { .text($0.description) }),
        optional("max-side", \.maxSide, jobs: [.image, .zoom, .redream], allowed: "16…\(FrameSize.maxSide)", unit: "px",
                 help: "Longest side, keeping the aspect: shrink the input (image), or the frame size made from the seed's aspect (zoom) or the source (re-dream).",
                 excludes: "size", builtIn: { k in k == .image ? nil : "\(defaultVideoSide)" },
                 parse: { v throws(SettingProblem) in try parseInt(v, 16...FrameSize.maxSide) },
                 check: { n throws(SettingProblem) in guard (16...FrameSize.maxSide).contains(n) else { throw .notAllowed } },
                 format: { .number(Double($0)) }),
    ]

    // MARK: video

    static let video: [Setting] = [
        optional("frames", \.frames, jobs: [.zoom], allowed: "1…1000000",
                 help: "Length of the video in frames (or give --duration).", excludes: "duration",
                 parse: { v throws(SettingProblem) in try parseInt(v, 1...1_000_000) },
                 check: { n throws(SettingProblem) in guard (1...1_000_000).contains(n) else { throw .notAllowed } },
                 format: { .number(Double($0)) }),
        optional("duration", \.duration, jobs: [.zoom, .redream], allowed: "0.001…100000 seconds", unit: "s",
                 help: "Length in seconds: of the zoom video (instead of --frames; default 4 s), or of the part of the source to re-dream (default: to its end).",
                 excludes: "frames",
                 parse: { v throws(SettingProblem) in try parseDouble(v, 0.001...100_000) },
                 check: { d throws(SettingProblem) in guard d.isFinite, (0.001...100_000).contains(d) else { throw .notAllowed } },
                 format: { .number($0) }),
        field("fps", \.fps, jobs: [.zoom], allowed: "1…240 frames per second: 30, 29.97 or 30000/1001", valueName: "rate",
              help: "Frames per second.", builtIn: { _ in "30" },
              parse: { v throws(SettingProblem) in
                  guard let r = try? FrameRate(parsing: v.description) else { throw .notAllowed }
                  return r
              },
              check: { r throws(SettingProblem) in guard r.num > 0, r.den > 0, r.value >= 1, r.value <= 240 else { throw .notAllowed } },
              format: { .text($0.description) }),
        schedule("zoom", \.zoom, 0.25...4, jobs: [.zoom], default: "1.05", unit: "× per frame",
                 help: "Magnification per frame (> 1 zooms in, < 1 out)."),
        schedule("rotate", \.rotate, -180...180, jobs: [.zoom], default: "0", unit: "° per frame",
                 help: "Counter-clockwise rotation per frame."),
        schedule("translate", \.translate, -1000...1000, arity: 2, jobs: [.zoom], default: "0,0", unit: "px per frame",
                 allowed: "DX,DY with each within -1000…1000, or keyframes of them", valueName: "dx,dy",
                 help: "Shift of the picture per frame (+x right, +y down); a schedule's values are pairs: 0:(0,0), 5s:(2,-1)."),
        schedule("detail-damping", \.detailDamping, 0...1, jobs: [.zoom], unit: "",
                 help: "Before each frame is dreamed, remove this fraction of its finest detail, so fine texture cannot pile up over a long zoom.",
                 modelDefault: { m, _ in formatNumber(m.zoom.detailDamping) }),
        schedule("seed-blend", \.seedBlend, 0...1, jobs: [.zoom], unit: "",
                 help: "Each frame, move this fraction of the picture's low frequencies toward the seed's (its composition), feeding the dream fresh shapes.",
                 modelDefault: { m, _ in formatNumber(m.zoom.seedBlend) }),
        schedule("renormalize", \.renormalize, 0...1, jobs: [.zoom], unit: "",
                 help: "Each frame, move this fraction of the way back to the seed's lightness, contrast and colourfulness, so colours do not drift to neon.",
                 modelDefault: { m, _ in formatNumber(m.zoom.renormalize) }),
        schedule("cadence", \.cadence, 1...30, integer: true, jobs: [.zoom, .redream], default: "1", unit: "frames",
                 help: "Dream every Nth frame and make the frames between without the network (about N times faster): a zoom moves the dreamed frames on either side by the exact part of the camera move between them and cross-fades them (its patches are then dreamed N times less often, so give each dreamed frame more steps: preset fast-zoom); a re-dream carries their dreams along the footage's motion from both sides onto each frame's own picture."),
        field("grid-turn", \.gridTurn, jobs: [.zoom], allowed: "0…45", unit: "°",
              help: "Dream each frame on a pixel grid turned by a random angle up to this many degrees, so a long zoom does not grow straight lines along the network's pixel grid (its dream favours the grid's diagonals, and a zoom keeps every edge's direction); 45 covers every direction, 0 is off and up to 1.5× faster (only the turned picture is dreamed, not the canvas corners around it).",
              builtIn: { _ in "45" },
              parse: { v throws(SettingProblem) in try parseDouble(v, 0...45) },
              check: { d throws(SettingProblem) in guard d.isFinite, (0...45).contains(d) else { throw .notAllowed } },
              format: { .number($0) }),
        choice("codec", \.codec, VideoCodec.allCases, jobs: videoJobs, default: "h264",
               help: "h264: 8-bit H.264, plays everywhere. h265-10bit: 10-bit HEVC (Main 10): four times finer steps for smooth shading and grading, and up to 5 % more of a dream's strength kept at the same crf, in files up to 30 % bigger; plays in VLC, mpv, phones, TVs and Safari, not in every browser.", impliedBefore: "h264"),
        integer("crf", \.crf, 0...51, jobs: videoJobs, default: "18", unit: "",
                help: "Quality: 0 (lossless) … 51 (worst); 18 looks transparent."),
        choice("encoder-preset", \.encoderPreset, EncoderSettings.x264Presets, jobs: videoJobs, default: "medium",
               help: "x264/x265 speed preset: faster presets make bigger files."),
        flag("preview", \.preview, jobs: [.zoom], default: "false", affectsFrames: true,
             help: "Check a camera path in seconds: the zoom's motion and colour work at the real size without dreaming, each frame's values (time, zoom, rotation, shift, layer weights) written in its corner."),
        flag("mpeg4", \.mpeg4, jobs: videoJobs, default: "false", affectsFrames: true,
             help: "Encode MPEG-4 part 2 even when H.264 (libx264) is available."),
        path("frames-dir", \.framesDir, jobs: videoJobs, what: "a folder path", valueName: "dir", affectsFrames: false,
             help: "Also write every frame as PNG into this folder (frame_000000.png …)."),
        integer("checkpoint-every", \.checkpointEvery, 1...100_000, jobs: videoJobs, default: "10", unit: "frames",
                help: "Checkpoint interval: a crash loses at most this many frames.", affectsFrames: false),
        integer("stop-within", \.stopWithin, 1...3600, jobs: videoJobs, default: "15", unit: "s",
                help: "On Ctrl-C or SIGTERM, a frame still dreaming this long after the signal is abandoned and the render stops at its last finished frame (schedulers kill a job a fixed time after SIGTERM: Slurm's KillWait is 30 s).", affectsFrames: false),
    ]

    // MARK: re-dream

    static let redream: [Setting] = [
        field("start", \.start, jobs: [.redream], allowed: "0…10000000 seconds", unit: "s",
              help: "Where in the source to begin.", builtIn: { _ in "0" },
              parse: { v throws(SettingProblem) in try parseDouble(v, 0...10_000_000) },
              check: { d throws(SettingProblem) in guard d.isFinite, (0...10_000_000).contains(d) else { throw .notAllowed } },
              format: { .number($0) }),
        integer("loop", \.loop, 0...10_000, jobs: [.zoom], default: "0", unit: "frames",
                help: "Make the video loop: the zoom is rendered this many frames longer, the video starts that many frames in, and its last frames cross-fade (in the zoom's own motion) into the frames that came before its first, so the last frame flows into the first (0: no loop)."),
        choice("border", \.border, ZoomBorder.allCases, jobs: [.zoom], default: "dream",
               help: "What fills the area a zoom's move reveals (zooming out, rotating, shifting): reflect (the picture mirrored), replicate (the edge repeated, streaks), wrap (tiled), or dream (mirrored and blurred, so the dream paints it anew)."),
        choice("flow", \.flow, FlowMethod.allCases, jobs: [.redream], default: "dis",
               help: "Motion estimate between source frames: dis (OpenCV DIS), farneback, or none (each frame dreamed from its source alone)."),
        schedule("blend", \.blend, 0...1, jobs: [.redream], unit: "",
                 help: "How much of the previous dream, carried along the motion, starts each frame (0: none; 1: all, where the motion is trusted).",
                 modelDefault: { m, _ in formatNumber(m.redream.blend) }),
        schedule("temporal-weight", \.temporalWeight, 0...100, jobs: [.redream], unit: "",
                 help: "Pull toward the carried previous dream while dreaming, against the layer's push (0: off; 1: a 10-level difference pulls as hard as the dream pushes).",
                 modelDefault: { m, _ in formatNumber(m.redream.temporalWeight) }),
        integer("lead-in", \.leadIn, 0...10_000, jobs: [.redream], default: "48", unit: "frames",
                help: "A range or shard of a re-dream first dreams this many frames before its first one, without writing them, so it carries a dream into its first frame as a render of the whole clip would; the seam's jump shrinks by about 40 % with 48 frames and no further with more (docs/farm.md); a lead-in reaching frame 0 makes the whole render's frames."),
        integer("overlap", \.overlap, 0...1000, jobs: [.redream], default: "12", unit: "frames",
                help: "A shard of a re-dream also renders this many frames past its end, and the join cross-fades them into the next shard's first frames, so the dream dissolves across the seam instead of jumping (0: a hard cut)."),
        field("audio", \.audio, jobs: [.zoom, .redream], allowed: "a sound file (zoom), or true or false", valueName: "file|bool",
              help: "A zoom's soundtrack: any audio FFmpeg reads; it sets the video's length unless --frames or --duration is given, goes into the MP4, and its envelopes (loudness, onset, beat, bass, mid, treble) can drive any keyframed value through formulas. For a re-dream: keep the source's audio (true, the default) or not (--no-audio).",
              affectsFrames: true, isPath: true, builtIn: { _ in "true" },
              parse: { v throws(SettingProblem) in
                  if let b = try? parseBool(v) { return b ? .keep : .none }
                  let p = v.description
                  guard !p.trimmingCharacters(in: .whitespaces).isEmpty else { throw .invalid("must be a sound file, or true or false; got an empty path") }
                  return .file(p)
              },
              format: { t in
                  switch t {
                  case .keep: return nil  // the default either way: a re-dream's own audio, a zoom without a song
                  case .none: return .bool(false)
                  case .file(let p): return .text(p)
                  }
              }),
    ]

    // MARK: builders

    /// A setting stored in field `kp` of type `T`: `parse` reads a value, `check` holds its rules (applied
    /// to parsed values and to values set in code alike), `format` writes it back.
    static func field<T: Sendable>(_ key: String, _ kp: WritableKeyPath<JobSettings, T> & Sendable, jobs: Set<JobKind>, allowed: String,
                                   unit: String = "", valueName: String? = nil, help: String,
                                   schedulable: Bool = false, arity: Int = 1, repeatable: Bool = false, isFlag: Bool = false,
                                   affectsFrames: Bool = true, isPath: Bool = false,
                                   builtIn: @escaping @Sendable (JobKind) -> String? = { _ in nil },
                                   modelDefault: @escaping @Sendable (ModelProfile, JobKind) -> String? = { _, _ in nil },
                                   parse: @escaping @Sendable (SettingValue) throws(SettingProblem) -> T,
                                   check: @escaping @Sendable (T) throws(SettingProblem) -> Void = { _ in },
                                   format: @escaping @Sendable (T) -> SettingValue?,
                                   schedules: @escaping @Sendable (T) -> [Schedule] = { _ in [] }) -> Setting {
        Setting(key: key, jobs: jobs, allowed: allowed, unit: unit, help: help,
                valueName: valueName ?? (schedulable ? "value|keyframes" : "value"),
                schedulable: schedulable, arity: arity, repeatable: repeatable, isFlag: isFlag, affectsFrames: affectsFrames,
                isPath: isPath, excludes: nil, builtIn: builtIn, modelDefault: modelDefault,
                apply: { v, s throws(SettingProblem) in
                    let x = try parse(v)
                    try check(x)
                    s[keyPath: kp] = x
                },
                check: { s throws(SettingProblem) in try check(s[keyPath: kp]) },
                format: { s in format(s[keyPath: kp]) },
                clear: nil,
                schedules: { s in schedules(s[keyPath: kp]) })
    }

    /// An optional setting (unset by default unless `builtIn` gives one); `excludes` names the setting
    /// that says the same thing another way.
    static func optional<T: Sendable>(_ key: String, _ kp: WritableKeyPath<JobSettings, T?> & Sendable, jobs: Set<JobKind>, allowed: String,
                                      unit: String = "", valueName: String = "value", help: String, excludes: String? = nil,
                                      affectsFrames: Bool = true, isPath: Bool = false,
                                      builtIn: @escaping @Sendable (JobKind) -> String? = { _ in nil },
                                      parse: @escaping @Sendable (SettingValue) throws(SettingProblem) -> T,
                                      check: @escaping @Sendable (T) throws(SettingProblem) -> Void = { _ in },
                                      format: @escaping @Sendable (T) -> SettingValue?) -> Setting {
        Setting(key: key, jobs: jobs, allowed: allowed, unit: unit, help: help, valueName: valueName,
                schedulable: false, arity: 1, repeatable: false, isFlag: false, affectsFrames: affectsFrames,
                isPath: isPath, excludes: excludes, builtIn: builtIn, modelDefault: { _, _ in nil },
                apply: { v, s throws(SettingProblem) in
                    let x = try parse(v)
                    try check(x)
                    s[keyPath: kp] = x
                },
                check: { s throws(SettingProblem) in if let x = s[keyPath: kp] { try check(x) } },
                format: { s in s[keyPath: kp].flatMap(format) },
                clear: { s in s[keyPath: kp] = nil },
                schedules: { _ in [] })
    }

    static func choice<T: RawRepresentable & Sendable>(_ key: String, _ kp: WritableKeyPath<JobSettings, T> & Sendable, _ choices: [T],
                                                       jobs: Set<JobKind>, default d: String, help: String,
                                                       affectsFrames: Bool = true, impliedBefore: String? = nil) -> Setting where T.RawValue == String {
        let names = choices.map(\.rawValue)
        var setting = field(key, kp, jobs: jobs, allowed: choiceList(names), help: help, affectsFrames: affectsFrames, builtIn: { _ in d },
                     parse: { v throws(SettingProblem) in
                         guard case .text(let t) = v, let c = T(rawValue: t.trimmingCharacters(in: .whitespaces)) else { throw .notAllowed }
                         return c
                     },
                     check: { c throws(SettingProblem) in guard names.contains(c.rawValue) else { throw .notAllowed } },
                     format: { .text($0.rawValue) })
        setting.impliedBefore = impliedBefore
        return setting
    }

    static func choice(_ key: String, _ kp: WritableKeyPath<JobSettings, String> & Sendable, _ choices: [String],
                       jobs: Set<JobKind>, default d: String, help: String, affectsFrames: Bool = true) -> Setting {
        field(key, kp, jobs: jobs, allowed: choiceList(choices), help: help, affectsFrames: affectsFrames, builtIn: { _ in d },
              parse: { v throws(SettingProblem) in
                  guard case .text(let t) = v else { throw .notAllowed }
                  return t.trimmingCharacters(in: .whitespaces)
              },
              check: { c throws(SettingProblem) in guard choices.contains(c) else { throw .notAllowed } },
              format: { .text($0) })
    }

    static func integer(_ key: String, _ kp: WritableKeyPath<JobSettings, Int> & Sendable, _ range: ClosedRange<Int>,
                        jobs: Set<JobKind>, default d: String, unit: String, help: String, affectsFrames: Bool = true,
                        modelDefault: @escaping @Sendable (ModelProfile, JobKind) -> String? = { _, _ in nil }) -> Setting {
        field(key, kp, jobs: jobs, allowed: "\(range.lowerBound)…\(range.upperBound)", unit: unit, help: help,
              affectsFrames: affectsFrames, builtIn: { _ in d }, modelDefault: modelDefault,
              parse: { v throws(SettingProblem) in try parseInt(v, range) },
              check: { n throws(SettingProblem) in guard range.contains(n) else { throw .notAllowed } },
              format: { .number(Double($0)) })
    }

    /// A switch: `--key` / `--no-key` on the command line, true or false in presets.
    static func flag(_ key: String, _ kp: WritableKeyPath<JobSettings, Bool> & Sendable, jobs: Set<JobKind>, default d: String,
                     affectsFrames: Bool, help: String) -> Setting {
        field(key, kp, jobs: jobs, allowed: "true or false", help: help, isFlag: true, affectsFrames: affectsFrames,
              builtIn: { _ in d }, parse: { v throws(SettingProblem) in try parseBool(v) }, format: { .bool($0) })
    }

    /// A file or folder path (checked when it is opened); only an empty one is refused here.
    static func path(_ key: String, _ kp: WritableKeyPath<JobSettings, String?> & Sendable, jobs: Set<JobKind>, what: String,
                     valueName: String, affectsFrames: Bool, help: String) -> Setting {
        optional(key, kp, jobs: jobs, allowed: what, valueName: valueName, help: help, affectsFrames: affectsFrames, isPath: true,
                 parse: { v throws(SettingProblem) in v.description },
                 check: { p throws(SettingProblem) in
                     guard !p.trimmingCharacters(in: .whitespaces).isEmpty else { throw .invalid("must be \(what), got an empty path") }
                 },
                 format: { .text($0) })
    }

    /// A number (or `arity` numbers) that may follow keyframes. `integer` rounds interpolated values;
    /// `lowerOpen` excludes the lower bound.
    static func schedule(_ key: String, _ kp: WritableKeyPath<JobSettings, Schedule> & Sendable, _ range: ClosedRange<Double>,
                         integer: Bool = false, lowerOpen: Bool = false, arity: Int = 1, jobs: Set<JobKind>, default d: String? = nil,
                         unit: String, allowed customAllowed: String? = nil, valueName: String = "value|keyframes", help: String,
                         modelDefault: @escaping @Sendable (ModelProfile, JobKind) -> String? = { _, _ in nil }) -> Setting {
        let lo = formatNumber(range.lowerBound), hi = formatNumber(range.upperBound)
        let allowed = customAllowed ?? ((integer ? "an integer " : "") + (lowerOpen ? "greater than \(lo) and at most \(hi)" : "\(lo)…\(hi)"))
        let inRange = { (x: Double) in x.isFinite && range.contains(x) && !(lowerOpen && x == range.lowerBound) && (!integer || x == x.rounded()) }
        var setting = field(key, kp, jobs: jobs, allowed: allowed, unit: unit, valueName: valueName, help: help,
                     schedulable: true, arity: arity, builtIn: { _ in d }, modelDefault: modelDefault,
                     parse: { v throws(SettingProblem) in
                         if case .number(let x) = v, arity == 1 { return Schedule(x) }
                         do throws(ScheduleError) { return try Schedule(parsing: v.description, arity: arity) } catch {
                             if arity > 1 { throw .invalid("'\(clipped(v.description))': \(error.message) (use DX,DY, e.g. 2,-1.5)") }
                             // A word or a number out of range: the allowed values; a formula or keyframes: what is wrong.
                             if !v.description.contains(where: { "()+-*/^%<>=".contains($0) }) { throw .notAllowed }
                             throw .invalid("'\(clipped(v.description))': \(error.message)")
                         }
                     },
                     check: { sch throws(SettingProblem) in
                         guard sch.arity == arity else { throw .notAllowed }
                         // Numbers here; formulas at every frame once the video's rate and length are known.
                         for k in sch.keyframes where !k.values.indices.allSatisfy({ k.formulas?[$0] != nil || inRange(k.values[$0]) }) {
                             if sch.isConstant || arity > 1 { throw .notAllowed }
                             throw .invalid("keyframe \(k.time) value \(formatNumber(k.values[0])) must be \(allowed)")
                         }
                         do throws(ScheduleError) { try sch.checkOrder() } catch { throw .invalid(error.message) }
                     },
                     format: { sch in sch.isConstant && arity == 1 ? .number(sch.first) : .text(sch.description) },
                     schedules: { [$0] })
        setting.valueCheck = inRange
        setting.valueAllowed = allowed
        return setting
    }

    static func choiceList(_ c: [String]) -> String {
        c.count <= 2 ? c.joined(separator: " or ") : c.dropLast().joined(separator: ", ") + " or " + c.last!
    }
}

// MARK: parsing helpers

/// An integer in `range`; numbers with a fraction, non-finite and overflowing values are refused.
func parseInt(_ v: SettingValue, _ range: ClosedRange<Int>) throws(SettingProblem) -> Int {
    let n: Int?
    switch v {
    case .number(let d): n = d.isFinite && d == d.rounded() && abs(d) < 1e15 ? Int(d) : nil
    case .text(let t): n = Int(t.trimmingCharacters(in: .whitespaces))
    default: n = nil
    }
    guard let n, range.contains(n) else { throw .notAllowed }
    return n
}

/// A finite number in `range`.
func parseDouble(_ v: SettingValue, _ range: ClosedRange<Double>) throws(SettingProblem) -> Double {
    let d: Double?
    switch v {
    case .number(let x): d = x
    case .text(let t): d = Double(t.trimmingCharacters(in: .whitespaces))
    default: d = nil
    }
    guard let d, d.isFinite, range.contains(d) else { throw .notAllowed }
    return d
}

func parseBool(_ v: SettingValue) throws(SettingProblem) -> Bool {
    switch v {
    case .bool(let b): return b
    case .text(let t):
        switch t.lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw .notAllowed
        }
    default: throw .notAllowed
    }
}
