import DreamEngine
import Foundation
import MediaIO

/// One setting, declared once: its key (also the command-line flag `--key` and the preset key), the
/// jobs it applies to, what values are allowed, its default, unit and help. Parsing and range checks
/// happen here and nowhere else.
public struct Setting: Sendable {
    public let key: String
    public let jobs: Set<JobKind>
    /// What values are allowed, for help and errors ("0.25…4", "l2 or mean", "WIDTHxHEIGHT").
    public let allowed: String
    public let unit: String
    public let help: String
    /// Whether the value may be a keyframed schedule.
    public let schedulable: Bool
    /// Whether the setting may be given several times on the command line (a list in presets).
    public let repeatable: Bool
    /// Whether it is a switch without a value on the command line.
    public let isFlag: Bool
    /// Whether a resumed render must keep it (it changes the frames or the encoded stream).
    public let affectsFrames: Bool
    /// The built-in default as text, per job kind (nil: unset).
    public let builtIn: @Sendable (JobKind) -> String?
    /// A model's own default as text, per job kind (nil: the built-in one holds).
    public let modelDefault: @Sendable (ModelDefinition, JobKind) -> String?
    let apply: @Sendable (SettingValue, inout JobSettings) throws(SettingProblem) -> Void
    /// The current value as text (nil when unset), in the form `apply` reads back.
    public let format: @Sendable (JobSettings) -> SettingValue?

    /// Unsets an optional setting (the other of two exclusive ones was given).
    func clear(_ s: inout JobSettings) {
        switch key {
        case "frames": s.frames = nil
        case "duration": s.duration = nil
        case "size": s.size = nil
        case "max-side": s.maxSide = nil
        default: break
        }
    }

    /// The default in words for help texts: a value, "the model's", or nil when unset by default.
    public var defaultDescription: String? {
        let def = ModelZoo.all[0]
        if modelDefault(def, .image) != nil || modelDefault(def, .zoom) != nil { return "the model's" }
        let i = builtIn(.image), v = builtIn(.zoom)
        if let i, let v, i != v { return "\(i) (images), \(v) (videos)" }
        return (i ?? v).map { $0 + (unit.isEmpty || allowed.hasSuffix(unit) ? "" : " \(unit)") }
    }

    /// The default for `kind` with `model`, as text (nil: unset).
    public func defaultText(for kind: JobKind, model: ModelDefinition?) -> String? {
        model.flatMap { modelDefault($0, kind) } ?? builtIn(kind)
    }

    /// Parses `value` into `settings`; the error carries the key and `origin`.
    public func apply(_ value: SettingValue, to settings: inout JobSettings, origin: SettingOrigin) throws(SettingError) {
        do { try apply(value, &settings) } catch {
            switch error {
            case .notAllowed:
                let withUnit = unit.isEmpty || allowed.contains(unit) ? allowed : "\(allowed) (\(unit))"
                throw SettingError(key: key, value: value.description, problem: .notAllowed(allowed: withUnit), origin: origin)
            case .invalid(let m): throw SettingError(key: key, value: value.description, problem: .invalid(m), origin: origin)
            }
        }
    }
}

/// Internal: what went wrong while parsing one value.
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
    static let byKey: [String: Setting] = Dictionary(uniqueKeysWithValues: all.map { ($0.key, $0) })

    /// The settings a job kind uses, in table order.
    public static func settings(for kind: JobKind) -> [Setting] { all.filter { $0.jobs.contains(kind) } }

    static let dreamJobs: Set<JobKind> = [.image, .zoom, .redream]
    static let videoJobs: Set<JobKind> = [.zoom, .redream]

    // MARK: dream

    static let dream: [Setting] = [
        choice("model", \.model, ModelZoo.all.map(\.name), jobs: dreamJobs, default: ModelZoo.defaultName,
               help: "Network that dreams: efficientnet-lite0 (fast; eyes, faces), vgg16-hed (heavy; dense textures), googlenet (weights you import)."),
        Setting(key: "layer", jobs: dreamJobs, allowed: "NAME, NAME[CHANNELS] and an optional :WEIGHT (a number or keyframes)", unit: "",
                help: "Layer to amplify, or some of its channels (blocks.10[17], block4_conv3[3,41,97]); repeat to mix, each with a weight that may follow keyframes to cross-fade.",
                schedulable: true, repeatable: true, isFlag: false, affectsFrames: true,
                builtIn: { _ in nil },
                modelDefault: { m, k in dreamDefaults(m, k).layers.map(\.description).joined(separator: "\n") },
                apply: { v, s throws(SettingProblem) in
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
                    for t in terms {
                        for k in t.weight.keyframes where !(abs(k.values[0]) <= 1000) {
                            throw .invalid("'\(t)': weight \(formatNumber(k.values[0])) must be within -1000…1000")
                        }
                    }
                    s.layers = terms
                },
                format: { s in .list(s.layers.map { .text($0.description) }) }),
        choice("objective", \.objective, [ObjectiveKind.l2, .mean], jobs: dreamJobs, default: "l2",
               help: "What each layer maximises: l2 = 0.5·mean(act²) (the seed's), mean = mean(act)."),
        schedule("octaves", \.octaves, 1...12, integer: true, jobs: dreamJobs, unit: "",
                 help: "Scales to dream at, smallest first (the pyramid stops early if the picture gets too small for the layer).",
                 modelDefault: { m, k in "\(dreamDefaults(m, k).octaves)" }),
        schedule("octave-scale", \.octaveScale, 1...4, lowerOpen: true, jobs: dreamJobs, unit: "×",
                 help: "Size ratio between octaves.", modelDefault: { m, k in formatNumber(Double(dreamDefaults(m, k).octaveScale)) }),
        schedule("iterations", \.iterations, 1...10_000, integer: true, jobs: dreamJobs, unit: "steps",
                 help: "Gradient-ascent steps per octave.", modelDefault: { m, k in "\(dreamDefaults(m, k).iterations)" }),
        schedule("step", \.step, 0...100, lowerOpen: true, jobs: dreamJobs, unit: "px",
                 help: "Step size in 0–255 pixel units, after dividing the gradient by its mean absolute value.",
                 modelDefault: { m, k in formatNumber(Double(dreamDefaults(m, k).step)) }),
        integer("jitter", \.jitter, 0...512, jobs: dreamJobs, default: "32", unit: "px",
                help: "Largest random shift of the picture per step (hides tile seams and grid artefacts)."),
        schedule("smooth", \.smooth, 0...20, jobs: dreamJobs, default: "0", unit: "px",
                 help: "Gaussian smoothing of the gradient (sigma); 0 is off."),
        Setting(key: "tile", jobs: dreamJobs, allowed: "0 (the model's) or 64…4096", unit: "px",
                help: "Tile side for big pictures (memory stays bounded); 0 uses the model's (1024 efficientnet, 512 vgg16).",
                schedulable: false, repeatable: false, isFlag: false, affectsFrames: true,
                builtIn: { _ in "0" }, modelDefault: { _, _ in nil },
                apply: { v, s throws(SettingProblem) in
                    let t = try parseInt(v, 0...4096)
                    guard t == 0 || t >= 64 else { throw .notAllowed }
                    s.tile = t
                },
                format: { s in .number(Double(s.tile)) }),
        Setting(key: "seed", jobs: dreamJobs, allowed: "an integer 0…18446744073709551615", unit: "",
                help: "Random seed: the same seed, inputs and settings give the same output.",
                schedulable: false, repeatable: false, isFlag: false, affectsFrames: true,
                builtIn: { _ in "0" }, modelDefault: { _, _ in nil },
                apply: { v, s throws(SettingProblem) in
                    guard let n = UInt64(v.description.trimmingCharacters(in: .whitespaces)) else { throw .notAllowed }
                    s.seed = n
                },
                format: { s in .text("\(s.seed)") }),
    ]

    // MARK: dream control

    static let control: [Setting] = [
        Setting(key: "class", jobs: dreamJobs, allowed: "an ImageNet class name or number 0…999, optionally :WEIGHT", unit: "",
                help: "Dream what the network finds essential for an ImageNet class (e.g. \"tiger cat\" or 282); repeat for several. Without --layer, the class alone. Needs a model with a classifier.",
                schedulable: true, repeatable: true, isFlag: false, affectsFrames: true,
                builtIn: { _ in nil }, modelDefault: { _, _ in nil },
                apply: { v, s throws(SettingProblem) in
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
                    s.classes = terms
                },
                format: { s in s.classes.isEmpty ? nil : .list(s.classes.map { .text($0.description) }) }),
        path("guide", \.guide, jobs: dreamJobs, what: "a picture file", affectsFrames: true,
             help: "A picture whose patterns the dream takes on: each place of the dream follows the guide's best-matching features at the chosen layers."),
        integer("laplacian", \.laplacian, 0...8, jobs: dreamJobs, default: "0", unit: "levels",
                help: "Normalise the gradient over this many frequency bands (the DeepDream notebook's Laplacian pyramid): bigger structures, less fine texture; 0 is off.",
                modelDefault: { m, k in k == .zoom ? String(ZoomFeedbackDefaults.for(m.name).laplacian) : nil }),
        choice("keep-colors", \.keepColors, ColorKeeping.allCases, jobs: dreamJobs, default: "none",
               help: "Hold the colours: luminance keeps the start's chroma (the dream changes lightness only); histogram matches each channel to the input, the zoom's seed or the source frame."),
    ]

    // MARK: picture

    static let picture: [Setting] = [
        Setting(key: "size", jobs: [.image, .zoom], allowed: "WIDTHxHEIGHT, each side 16…\(FrameSize.maxSide) px (even for videos)", unit: "",
                help: "Picture size: resize the input (image), or the exact video frame size (zoom; default: the seed's aspect, long side --max-side).",
                schedulable: false, repeatable: false, isFlag: false, affectsFrames: true,
                builtIn: { _ in nil }, modelDefault: { _, _ in nil },
                apply: { v, s throws(SettingProblem) in
                    guard let sz = try? FrameSize(parsing: v.description) else { throw .notAllowed }
                    s.size = sz
                },
                format: { s in s.size.map { .text($0.description) } }),
        Setting(key: "max-side", jobs: [.image, .zoom, .redream], allowed: "16…\(FrameSize.maxSide)", unit: "px",
                help: "Longest side, keeping the aspect: shrink the input (image), or the frame size made from the seed's aspect (zoom) or the source (re-dream).",
                schedulable: false, repeatable: false, isFlag: false, affectsFrames: true,
                builtIn: { k in k == .image ? nil : "1280" }, modelDefault: { _, _ in nil },
                apply: { v, s throws(SettingProblem) in s.maxSide = try parseInt(v, 16...FrameSize.maxSide) },
                format: { s in s.maxSide.map { .number(Double($0)) } }),
    ]

    // MARK: video

    static let video: [Setting] = [
        Setting(key: "frames", jobs: [.zoom], allowed: "1…1000000", unit: "",
                help: "Length of the video in frames (or give --duration).",
                schedulable: false, repeatable: false, isFlag: false, affectsFrames: true,
                builtIn: { _ in nil }, modelDefault: { _, _ in nil },
                apply: { v, s throws(SettingProblem) in s.frames = try parseInt(v, 1...1_000_000) },
                format: { s in s.frames.map { .number(Double($0)) } }),
        Setting(key: "duration", jobs: [.zoom, .redream], allowed: "0.001…100000 seconds", unit: "s",
                help: "Length in seconds: of the zoom video (instead of --frames; default 4 s), or of the part of the source to re-dream (default: to its end).",
                schedulable: false, repeatable: false, isFlag: false, affectsFrames: true,
                builtIn: { _ in nil }, modelDefault: { _, _ in nil },
                apply: { v, s throws(SettingProblem) in s.duration = try parseDouble(v, 0.001...100_000) },
                format: { s in s.duration.map { .number($0) } }),
        Setting(key: "fps", jobs: [.zoom], allowed: "1…240 frames per second: 30, 29.97 or 30000/1001", unit: "",
                help: "Frames per second.",
                schedulable: false, repeatable: false, isFlag: false, affectsFrames: true,
                builtIn: { _ in "30" }, modelDefault: { _, _ in nil },
                apply: { v, s throws(SettingProblem) in
                    guard let r = try? FrameRate(parsing: v.description), r.value >= 1, r.value <= 240 else { throw .notAllowed }
                    s.fps = r
                },
                format: { s in .text(s.fps.description) }),
        schedule("zoom", \.zoom, 0.25...4, jobs: [.zoom], default: "1.05", unit: "× per frame",
                 help: "Magnification per frame (> 1 zooms in, < 1 out)."),
        schedule("rotate", \.rotate, -180...180, jobs: [.zoom], default: "0", unit: "° per frame",
                 help: "Counter-clockwise rotation per frame."),
        Setting(key: "translate", jobs: [.zoom], allowed: "DX,DY with each within -1000…1000, or keyframes of them", unit: "px per frame",
                help: "Shift of the picture per frame (+x right, +y down); a schedule's values are pairs: 0:(0,0), 5s:(2,-1).",
                schedulable: true, repeatable: false, isFlag: false, affectsFrames: true,
                builtIn: { _ in "0,0" }, modelDefault: { _, _ in nil },
                apply: { v, s throws(SettingProblem) in
                    let sch: Schedule
                    do throws(ScheduleError) { sch = try Schedule(parsing: v.description, arity: 2) } catch { throw .invalid("'\(v)': \(error.message) (use DX,DY, e.g. 2,-1.5)") }
                    guard sch.keyframes.allSatisfy({ $0.values.allSatisfy { abs($0) <= 1000 } }) else { throw .notAllowed }
                    s.translate = sch
                },
                format: { s in .text(s.translate.description) }),
        schedule("detail-damping", \.detailDamping, 0...1, jobs: [.zoom], unit: "",
                 help: "Before each frame is dreamed, remove this fraction of its finest detail, so fine texture cannot pile up over a long zoom.",
                 modelDefault: { m, _ in formatNumber(ZoomFeedbackDefaults.for(m.name).detailDamping) }),
        schedule("seed-blend", \.seedBlend, 0...1, jobs: [.zoom], unit: "",
                 help: "Each frame, move this fraction of the picture's low frequencies toward the seed's (its composition), feeding the dream fresh shapes.",
                 modelDefault: { m, _ in formatNumber(ZoomFeedbackDefaults.for(m.name).seedBlend) }),
        schedule("renormalize", \.renormalize, 0...1, jobs: [.zoom], unit: "",
                 help: "Each frame, move this fraction of the way back to the seed's lightness, contrast and colourfulness, so colours do not drift to neon.",
                 modelDefault: { m, _ in formatNumber(ZoomFeedbackDefaults.for(m.name).renormalize) }),
        integer("crf", \.crf, 0...51, jobs: videoJobs, default: "18", unit: "",
                help: "H.264 quality: 0 (lossless) … 51 (worst); 18 looks transparent."),
        choice("encoder-preset", \.encoderPreset, EncoderSettings.x264Presets, jobs: videoJobs, default: "medium",
               help: "x264 speed preset: faster presets make bigger files."),
        Setting(key: "mpeg4", jobs: videoJobs, allowed: "true or false", unit: "",
                help: "Encode MPEG-4 part 2 even when H.264 (libx264) is available.",
                schedulable: false, repeatable: false, isFlag: true, affectsFrames: true,
                builtIn: { _ in "false" }, modelDefault: { _, _ in nil },
                apply: { v, s throws(SettingProblem) in s.mpeg4 = try parseBool(v) },
                format: { s in .bool(s.mpeg4) }),
        path("frames-dir", \.framesDir, jobs: videoJobs, what: "a folder path", affectsFrames: false,
             help: "Also write every frame as PNG into this folder (frame_000000.png …)."),
        integer("checkpoint-every", \.checkpointEvery, 1...100_000, jobs: videoJobs, default: "10", unit: "frames",
                help: "Checkpoint interval: a crash loses at most this many frames.", affectsFrames: false),
    ]

    // MARK: re-dream

    static let redream: [Setting] = [
        Setting(key: "start", jobs: [.redream], allowed: "0…10000000 seconds", unit: "s",
                help: "Where in the source to begin.",
                schedulable: false, repeatable: false, isFlag: false, affectsFrames: true,
                builtIn: { _ in "0" }, modelDefault: { _, _ in nil },
                apply: { v, s throws(SettingProblem) in s.start = try parseDouble(v, 0...10_000_000) },
                format: { s in .number(s.start) }),
        choice("flow", \.flow, FlowMethod.allCases, jobs: [.redream], default: "dis",
               help: "Motion estimate between source frames: dis (OpenCV DIS), farneback, or none (each frame dreamed from its source alone)."),
        schedule("blend", \.blend, 0...1, jobs: [.redream], unit: "",
                 help: "How much of the previous dream, carried along the motion, starts each frame (0: none; 1: all, where the motion is trusted).",
                 modelDefault: { m, _ in formatNumber(RedreamDefaults.for(m.name).blend) }),
        schedule("temporal-weight", \.temporalWeight, 0...100, jobs: [.redream], unit: "",
                 help: "Pull toward the carried previous dream while dreaming, against the layer's push (0: off; 1: a 10-level difference pulls as hard as the dream pushes).",
                 modelDefault: { m, _ in formatNumber(RedreamDefaults.for(m.name).temporalWeight) }),
        Setting(key: "audio", jobs: [.redream], allowed: "true or false", unit: "",
                help: "Keep the source's audio (copied, or re-encoded to AAC when MP4 cannot hold it); --no-audio drops it.",
                schedulable: false, repeatable: false, isFlag: true, affectsFrames: true,
                builtIn: { _ in "true" }, modelDefault: { _, _ in nil },
                apply: { v, s throws(SettingProblem) in s.audio = try parseBool(v) },
                format: { s in .bool(s.audio) }),
    ]

    // MARK: builders

    static func choice<T: RawRepresentable & Sendable>(_ key: String, _ kp: WritableKeyPath<JobSettings, T> & Sendable, _ choices: [T],
                                                       jobs: Set<JobKind>, default d: String, help: String,
                                                       affectsFrames: Bool = true) -> Setting where T.RawValue == String {
        Setting(key: key, jobs: jobs, allowed: choiceList(choices.map(\.rawValue)), unit: "", help: help,
                schedulable: false, repeatable: false, isFlag: false, affectsFrames: affectsFrames,
                builtIn: { _ in d }, modelDefault: { _, _ in nil },
                apply: { v, s throws(SettingProblem) in
                    guard case .text(let t) = v, let c = T(rawValue: t.trimmingCharacters(in: .whitespaces)) else { throw .notAllowed }
                    s[keyPath: kp] = c
                },
                format: { s in .text(s[keyPath: kp].rawValue) })
    }

    static func choice(_ key: String, _ kp: WritableKeyPath<JobSettings, String> & Sendable, _ choices: [String],
                       jobs: Set<JobKind>, default d: String, help: String, affectsFrames: Bool = true) -> Setting {
        Setting(key: key, jobs: jobs, allowed: choiceList(choices), unit: "", help: help,
                schedulable: false, repeatable: false, isFlag: false, affectsFrames: affectsFrames,
                builtIn: { _ in d }, modelDefault: { _, _ in nil },
                apply: { v, s throws(SettingProblem) in
                    guard case .text(let t) = v, choices.contains(t.trimmingCharacters(in: .whitespaces)) else { throw .notAllowed }
                    s[keyPath: kp] = t.trimmingCharacters(in: .whitespaces)
                },
                format: { s in .text(s[keyPath: kp]) })
    }

    static func integer(_ key: String, _ kp: WritableKeyPath<JobSettings, Int> & Sendable, _ range: ClosedRange<Int>,
                        jobs: Set<JobKind>, default d: String, unit: String, help: String, affectsFrames: Bool = true,
                        modelDefault: @escaping @Sendable (ModelDefinition, JobKind) -> String? = { _, _ in nil }) -> Setting {
        Setting(key: key, jobs: jobs, allowed: "\(range.lowerBound)…\(range.upperBound)", unit: unit, help: help,
                schedulable: false, repeatable: false, isFlag: false, affectsFrames: affectsFrames,
                builtIn: { _ in d }, modelDefault: modelDefault,
                apply: { v, s throws(SettingProblem) in s[keyPath: kp] = try parseInt(v, range) },
                format: { s in .number(Double(s[keyPath: kp])) })
    }

    /// A file or folder path (checked when it is opened); only an empty one is refused here.
    static func path(_ key: String, _ kp: WritableKeyPath<JobSettings, String?> & Sendable, jobs: Set<JobKind>, what: String,
                     affectsFrames: Bool, help: String) -> Setting {
        Setting(key: key, jobs: jobs, allowed: what, unit: "", help: help,
                schedulable: false, repeatable: false, isFlag: false, affectsFrames: affectsFrames,
                builtIn: { _ in nil }, modelDefault: { _, _ in nil },
                apply: { v, s throws(SettingProblem) in
                    let p = v.description
                    guard !p.trimmingCharacters(in: .whitespaces).isEmpty else { throw .invalid("must be \(what), got an empty path") }
                    s[keyPath: kp] = p
                },
                format: { s in s[keyPath: kp].map { .text($0) } })
    }

    /// A number that may follow keyframes. `integer` rounds interpolated values; `lowerOpen` excludes the lower bound.
    static func schedule(_ key: String, _ kp: WritableKeyPath<JobSettings, Schedule> & Sendable, _ range: ClosedRange<Double>,
                         integer: Bool = false, lowerOpen: Bool = false, jobs: Set<JobKind>, default d: String? = nil,
                         unit: String, help: String,
                         modelDefault: @escaping @Sendable (ModelDefinition, JobKind) -> String? = { _, _ in nil }) -> Setting {
        let lo = formatNumber(range.lowerBound), hi = formatNumber(range.upperBound)
        let allowed = (integer ? "an integer " : "") + (lowerOpen ? "greater than \(lo) and at most \(hi)" : "\(lo)…\(hi)")
        return Setting(key: key, jobs: jobs, allowed: allowed, unit: unit, help: help,
                       schedulable: true, repeatable: false, isFlag: false, affectsFrames: true,
                       builtIn: { _ in d }, modelDefault: modelDefault,
                       apply: { v, s throws(SettingProblem) in
                           let sch: Schedule
                           if case .number(let x) = v { sch = Schedule(x) } else {
                               do throws(ScheduleError) { sch = try Schedule(parsing: v.description) } catch {
                                   if !v.description.contains("(") { throw .notAllowed }
                                   throw .invalid("'\(v)': \(error.message)")
                               }
                           }
                           for k in sch.keyframes {
                               let x = k.values[0]
                               guard x.isFinite, range.contains(x), !(lowerOpen && x == range.lowerBound),
                                     !integer || x == x.rounded() else {
                                   if sch.isConstant { throw .notAllowed }
                                   throw .invalid("keyframe \(k.time) value \(formatNumber(x)) must be \(allowed)")
                               }
                           }
                           s[keyPath: kp] = sch
                       },
                       format: { s in
                           let sch = s[keyPath: kp]
                           return sch.isConstant ? .number(sch.first) : .text(sch.description)
                       })
    }

    /// The dream settings a model suggests for a kind of job.
    static func dreamDefaults(_ m: ModelDefinition, _ k: JobKind) -> DreamDefaults {
        switch k {
        case .image: return m.defaults
        case .zoom: return m.videoDefaults
        case .redream: return RedreamDefaults.for(m.name).dream ?? m.videoDefaults
        }
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
