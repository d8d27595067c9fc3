import DreamEngine
import Foundation

/// Values for settings from one place: a preset file, the command line, or code.
public struct SettingSource: Sendable {
    public struct Entry: Sendable {
        public var key: String
        public var value: SettingValue
        public var origin: SettingOrigin
        public init(key: String, value: SettingValue, origin: SettingOrigin) { self.key = key; self.value = value; self.origin = origin }
    }
    public var entries: [Entry]
    /// Whether keys that do not apply to the job kind are ignored (a zoom preset used for an image)
    /// rather than refused.
    public var ignoresOtherJobKeys: Bool
    /// Where the values come from, for errors about settings the source left out.
    public var origin: SettingOrigin

    public init(entries: [Entry], origin: SettingOrigin, ignoresOtherJobKeys: Bool = false) {
        self.entries = entries; self.origin = origin; self.ignoresOtherJobKeys = ignoresOtherJobKeys
    }

    /// Command-line values (`--key value`).
    public static func flags(_ values: [(String, SettingValue)]) -> SettingSource {
        SettingSource(entries: values.map { Entry(key: $0.0, value: $0.1, origin: .flag) }, origin: .flag)
    }

    /// Values set from code.
    public static func api(_ values: [String: SettingValue]) -> SettingSource {
        SettingSource(entries: values.sorted { $0.key < $1.key }.map { Entry(key: $0.key, value: $0.value, origin: .api) }, origin: .api)
    }
}

/// Resolved settings and where each value came from.
public struct ResolvedSettings: Sendable {
    public var settings: JobSettings
    public var origins: [String: SettingOrigin]
    public let kind: JobKind
    /// The origin of settings not in `origins`.
    var defaultOrigin = SettingOrigin.defaults
    /// Where the last source came from (the flags, usually), for errors about a setting nobody gave.
    public internal(set) var lastOrigin = SettingOrigin.api

    init(settings: JobSettings, origins: [String: SettingOrigin], kind: JobKind, defaultOrigin: SettingOrigin = .defaults) {
        self.settings = settings; self.origins = origins; self.kind = kind; self.defaultOrigin = defaultOrigin
    }

    func origin(_ key: String) -> SettingOrigin { origins[key] ?? defaultOrigin }
    func error(_ key: String, _ message: String) -> SettingError {
        let v = SettingsTable.setting(key)?.format(settings)?.description ?? ""
        return SettingError(key: key, value: v, problem: .invalid(message), origin: origin(key))
    }
}

extension JobSettings {
    /// Built-in defaults ← the model's defaults ← each source in order (a preset, then flags).
    /// Checks every value against the table, then the settings against each other (`validate`).
    public static func resolve(kind: JobKind, sources: [SettingSource]) throws(SettingError) -> ResolvedSettings {
        // Known keys only; flags for another kind of job are refused, preset keys for one are skipped.
        var entries: [SettingSource.Entry] = []
        for source in sources {
            for e in source.entries {
                guard let setting = SettingsTable.setting(e.key) else {
                    throw SettingError(key: e.key, value: e.value.description,
                                       problem: .unknownKey(suggestion: suggestKey(e.key)), origin: e.origin)
                }
                if !setting.jobs.contains(kind) {
                    if source.ignoresOtherJobKeys { continue }
                    throw SettingError(key: e.key, value: e.value.description,
                                       problem: .invalid("does not apply to \(kind) jobs (it is for \(setting.jobs.map(\.rawValue).sorted().joined(separator: ", ")))"),
                                       origin: e.origin)
                }
                entries.append(e)
            }
        }
        // The model first: its defaults sit under every source.
        var probe = JobSettings()
        var modelOrigin = SettingOrigin.defaults
        for e in entries where e.key == "model" {
            try SettingsTable.setting("model")!.apply(e.value, to: &probe, origin: e.origin)
            modelOrigin = e.origin
        }
        let profile: ModelProfile
        do { profile = try ModelProfiles.profile(probe.model) } catch {
            throw SettingError(key: "model", value: probe.model, problem: .invalid("\(error)"), origin: modelOrigin)
        }
        var r = ResolvedSettings(settings: tableDefaults(for: kind, model: profile), origins: ["model": modelOrigin], kind: kind)
        r.lastOrigin = sources.last?.origin ?? .api
        // Sources in order; settings that say one thing two ways (`frames` and `duration`) replace each other across sources.
        for e in entries where e.key != "model" {
            let setting = SettingsTable.setting(e.key)!
            if let prior = r.origins[e.key], prior != .defaults, sameSource(prior, e.origin), !setting.repeatable {
                throw SettingError(key: e.key, value: e.value.description, problem: .invalid("is given twice"), origin: e.origin)
            }
            try setting.apply(e.value, to: &r.settings, origin: e.origin)
            if let other = setting.excludes {
                if let o = r.origins[other], o != .defaults, sameSource(o, e.origin) {
                    throw SettingError(key: e.key, value: e.value.description, problem: .invalid("cannot be used together with \(other); give one of them"), origin: e.origin)
                }
                SettingsTable.setting(other)?.clear?(&r.settings)
                r.origins[other] = nil
            }
            r.origins[e.key] = e.origin
        }
        // A class objective alone unless layers were asked for too.
        if !r.settings.classes.isEmpty && r.origin("layer") == .defaults { r.settings.layers = [] }
        try r.check()
        return r
    }

    /// Checks settings however they were made (flags, a preset, code, JSON) by the table's rules, then
    /// against each other and the model's architecture. The error names the setting.
    public func validate(for kind: JobKind) throws(SettingError) {
        try ResolvedSettings(settings: self, origins: [:], kind: kind, defaultOrigin: .api).check()
    }

    /// The closest known key, if close enough to be a likely typo.
    static func suggestKey(_ key: String) -> String? {
        closeMatch(key, in: SettingsTable.all.map(\.key))
    }
}

/// The nearest of `names` to `name`, if it is a plausible typo (edit distance at most a third of the length).
func closeMatch(_ name: String, in names: [String]) -> String? {
    guard let best = Graph.nearest(name, in: names, count: 1).first else { return nil }
    return editDistance(name.lowercased(), best.lowercased()) <= max(1, min(name.count, best.count) / 3) ? best : nil
}

private func sameSource(_ a: SettingOrigin, _ b: SettingOrigin) -> Bool {
    switch (a, b) {
    case (.flag, .flag), (.api, .api): return true
    case (.file(let p, _), .file(let q, _)): return p == q
    default: return false
    }
}

extension ResolvedSettings {
    /// Checks every value by the table's rules, then the settings against each other and the model's
    /// architecture (needs no weights).
    func check() throws(SettingError) {
        let s = settings
        for setting in SettingsTable.settings(for: kind) {
            try setting.check(s, origin: origin(setting.key))
        }
        if s.layers.isEmpty && s.classes.isEmpty { throw error("layer", "needs at least one layer (or a --class)") }
        if kind.isVideo, let size = s.size, size.width % 2 != 0 || size.height % 2 != 0 {
            throw error("size", "must have even width and height for a video (yuv420p)")
        }
        if kind.isVideo && s.mpeg4 && s.codec == .h265_10bit {
            throw error("codec", "cannot be used together with mpeg4 (two codecs); give one of them")
        }
        switch (kind, s.audio) {
        case (.zoom, .file(let path)):
            // Read and analysed here (once per process), so a render never starts with a soundtrack it cannot use.
            do { _ = try AudioEnvelopeCache.envelopes(path, fps: s.fps.value) } catch {
                throw SettingError(key: "audio", value: path, problem: .invalid("cannot be used: \(error)"), origin: origin("audio"))
            }
        case (.zoom, .keep), (.zoom, .none):
            // Only a value someone gave (a flag, a preset, a batch file); code that builds a job leaves the default.
            if let given = origins["audio"], given != .defaults {
                throw error("audio", "'\(s.audio)': a zoom's --audio is a sound file (true or false is for a re-dream's own audio)")
            }
        case (.redream, .file(let path)):
            throw error("audio", "'\(clipped(path))': a re-dream keeps its source's audio (true) or drops it (false); another soundtrack is for zoom videos")
        default: break
        }
        if kind == .zoom {
            let n = s.frameCount
            guard n >= 1, n <= 1_000_000 else {
                throw error(s.frames != nil ? "frames" : "duration", "gives \(n) frames at \(s.fps) fps; allowed 1…1000000")
            }
            // With --loop the render runs `loop` frames past the video's length: its formulas are checked there too.
            try s.checkKeyframes(kind: kind, fps: s.fps.value, frames: n, rendered: n + s.loop, origin: origin)
        }
        if kind == .image { try s.checkKeyframes(kind: kind, fps: 1, frames: 1, origin: origin) }
        // Layers must exist in the model.
        let arch: Graph
        do { arch = try ModelZoo.architecture(try ModelProfiles.profile(s.model).definition) } catch {
            throw SettingError(key: "model", value: s.model, problem: .invalid("\(error)"), origin: origin("model"))
        }
        if !s.classes.isEmpty {
            guard (try? ModelProfiles.profile(s.model).definition.logits) ?? nil != nil else {
                let with = ModelProfiles.all.filter { $0.definition.logits != nil }.map(\.name).joined(separator: " or ")
                throw self.error("class", "needs a model with a classifier; \(s.model) has none (use \(with))")
            }
        }
        if s.guide != nil && !s.classes.isEmpty && s.layers.isEmpty {
            throw self.error("guide", "works on layers: give --layer too (a class objective has no guide)")
        }
        let shapes = try? arch.shapes(height: 224, width: 224)
        for l in s.layers {
            if let ch = l.channels, let shapes, let i = try? arch.nodeIndex(l.name), let bad = ch.first(where: { $0 >= shapes[i].c }) {
                throw self.error("layer", "'\(l)': \(l.name) has \(shapes[i].c) channels (0…\(shapes[i].c - 1)); there is no channel \(bad)")
            }
            do { _ = try arch.nodeIndex(l.name) } catch {
                let names = arch.nodes.filter(\.isPublic).map(\.name)
                let hint = closeMatch(l.name, in: names).map { " (did you mean \($0)?)" } ?? ""
                throw self.error("layer", "'\(l.name)' is not a layer of \(s.model)\(hint); list them with `dreamvideo models layers \(s.model)`")
            }
        }
    }
}

extension JobSettings {
    /// A zoom whose formulas follow a soundtrack (`beat`, `bass`…) has one: the error names the first such setting.
    func checkSoundtrack(kind: JobKind, origin: (String) -> SettingOrigin = { _ in .api }) throws(SettingError) {
        guard kind == .zoom, soundtrack == nil else { return }
        for setting in SettingsTable.settings(for: kind) where setting.schedulable {
            let heard = setting.schedules(self).flatMap(\.audioVariables)
            guard let first = heard.first else { continue }
            throw SettingError(key: setting.key, value: setting.format(self)?.description ?? "",
                               problem: .invalid("a formula uses '\(first)', the soundtrack's envelopes: give the zoom a sound file with --audio SONG"),
                               origin: origin(setting.key))
        }
    }

    /// Checks every schedule of `kind`'s settings at a frame rate and against the video's length (when known):
    /// keyframes in order, none duplicated, none past the end. Zoom jobs check at resolve time; re-dreams once
    /// the source's frame rate and length are known.
    func checkKeyframes(kind: JobKind, fps: Double, frames: Int?, rendered: Int? = nil,
                        origin: (String) -> SettingOrigin = { _ in .api }) throws(SettingError) {
        for setting in SettingsTable.settings(for: kind) where setting.schedulable {
            for sch in setting.schedules(self) {
                do { try sch.checkTimes(fps: fps, frames: frames, picture: kind == .image) } catch {
                    throw SettingError(key: setting.key, value: setting.format(self)?.description ?? "", problem: .invalid(error.message), origin: origin(setting.key))
                }
                if sch.hasFormulas {
                    let where_ = origin(setting.key), shown = setting.format(self)?.description ?? ""
                    let fail = { (why: String) in SettingError(key: setting.key, value: shown, problem: .invalid(why), origin: where_) }
                    if sch.usesLength && frames == nil { throw fail("a formula uses T or F, but the video's length is not known") }
                    let heard = sch.audioVariables
                    let song = soundtrack
                    if !heard.isEmpty && song == nil {
                        // A zoom preset that follows a song resolves (and `presets show` prints it); the job asks for the song.
                        if kind == .zoom { continue }
                        throw fail("a formula uses \(heard.map { "'\($0)'" }.joined(separator: ", ")), a soundtrack's envelopes: only a zoom has one (--audio SONG)")
                    }
                    // Every frame (at most 200000 evaluated, spread evenly, the last included): finite and allowed.
                    let count = max(1, rendered ?? frames ?? 10_000)
                    let step = max(1, count / 200_000)
                    for i in Array(stride(from: 0, to: count, by: step)) + [count - 1] {
                        for x in sch.values(at: Double(i), fps: fps, frames: frames, audio: song) {
                            let at = "at frame \(i) (\(formatNumber((Double(i) / fps * 1000).rounded() / 1000))s)"
                            guard x.isFinite else { throw fail("the formula gives \(x.isNaN ? "NaN" : x > 0 ? "+inf" : "-inf") \(at)") }
                            if let ok = setting.valueCheck, !ok(x) {
                                throw fail("the formula gives \(formatNumber(x)) \(at); it must be \(setting.valueAllowed)")
                            }
                        }
                    }
                }
            }
        }
    }
}
