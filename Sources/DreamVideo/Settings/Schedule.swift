import Foundation

/// When a keyframe happens: at a frame number, or at a time in seconds.
public enum KeyTime: Sendable, Equatable, Hashable, CustomStringConvertible {
    case frame(Int)
    case seconds(Double)

    /// The frame position (fractional for times between frames).
    public func frame(fps: Double) -> Double {
        switch self {
        case .frame(let f): return Double(f)
        case .seconds(let s): return s * fps
        }
    }

    public var description: String {
        switch self {
        case .frame(let f): return "\(f)"
        case .seconds(let s): return formatNumber(s) + "s"
        }
    }

    /// Parses `12` (a frame), `12f` (a frame) or `2.5s` (seconds): plain decimal numbers only (no `0x10`, no
    /// exponents), frames up to 100000000 and seconds up to 10000000.
    public init?(parsing text: String) { guard let t = try? KeyTime.parse(text) else { return nil }; self = t }

    /// Like `init(parsing:)`, with a message that says what is wrong.
    public static func parse(_ text: String) throws(ScheduleError) -> KeyTime {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        if t.hasSuffix("s"), YAMLSettings.isDecimal(t.dropLast()) {
            guard let v = Double(t.dropLast()), v.isFinite, v <= 1e7 else {
                throw ScheduleError("keyframe time '\(text.trimmingCharacters(in: .whitespaces))' is past the longest video (10000000 s)")
            }
            return .seconds(v)
        }
        let digits = t.hasSuffix("f") ? t.dropLast() : Substring(t)
        if !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) {
            guard let f = Int(digits), f <= 100_000_000 else {
                throw ScheduleError("keyframe time '\(text.trimmingCharacters(in: .whitespaces))' is past the longest video (frame 100000000)")
            }
            return .frame(f)
        }
        if t.hasPrefix("-") { throw ScheduleError("keyframe time '\(text.trimmingCharacters(in: .whitespaces))' is negative; times count from 0") }
        throw ScheduleError("keyframe time '\(text.trimmingCharacters(in: .whitespaces))' is not a frame number (e.g. 120) or seconds (e.g. 4.5s)")
    }
}

/// How a value moves from one keyframe to the next.
public enum Interpolation: String, Sendable, Codable, CaseIterable {
    /// Keep the keyframe's value until the next keyframe.
    case hold
    /// Straight line.
    case linear
    /// Ease in and out (smoothstep).
    case smooth
}

/// A keyframe: a value (one number, or two for a shift) from `time` on.
public struct Keyframe: Sendable, Equatable {
    public var time: KeyTime
    public var values: [Double]
    /// How the value moves towards the next keyframe.
    public var interpolation: Interpolation
    /// Formulas of the frame's time in place of numbers (nil: numbers only; an entry nil: that value is a number).
    public var formulas: [Formula?]?
    public init(_ time: KeyTime, _ values: [Double], _ interpolation: Interpolation = .linear, formulas: [Formula?]? = nil) {
        self.time = time; self.values = values; self.interpolation = interpolation
        self.formulas = formulas.flatMap { $0.contains { $0 != nil } ? $0 : nil }
    }

    /// The values at frame `f`: numbers as they are, formulas evaluated.
    func values(at f: Double, fps: Double, frames: Int?, audio: AudioEnvelopes? = nil) -> [Double] {
        guard let formulas else { return values }
        let c = Formula.Context(frame: f, fps: fps, frames: frames, audio: audio?.values(at: f))
        return zip(values, formulas).map { v, e in e.map { $0.evaluate(c) } ?? v }
    }

    var text: String {
        (0..<values.count).map { i in formulas?[i]?.text ?? formatNumber(values[i]) }.joined(separator: ",")
    }
}

/// A setting that may change over a video: a constant, or keyframes at frames or seconds.
///
/// Text form (the same on the command line and in presets):
/// - a constant: `1.05`, or `2,-1` for a pair;
/// - keyframes: `0:(1.05), 5s:(1.05) smooth, 7s:(1)` — `TIME:(VALUE)` separated by commas, where TIME is
///   a frame number or seconds (`5s`), and an optional `hold`, `linear` (default) or `smooth` after a
///   keyframe says how the value moves from it to the next one. Before the first keyframe the first
///   value holds; after the last, the last value.
public struct Schedule: Sendable, Equatable, CustomStringConvertible {
    public private(set) var keyframes: [Keyframe]
    /// Numbers per value: 1, or 2 for a pair such as a shift.
    public let arity: Int

    public init(_ constant: Double) { keyframes = [Keyframe(.frame(0), [constant])]; arity = 1 }
    public init(pair x: Double, _ y: Double) { keyframes = [Keyframe(.frame(0), [x, y])]; arity = 2 }
    /// Keyframes in order, each with `arity` numbers.
    public init(keyframes: [Keyframe], arity: Int = 1) throws(ScheduleError) {
        guard !keyframes.isEmpty else { throw ScheduleError("has no keyframes") }
        guard keyframes.allSatisfy({ $0.values.count == arity && ($0.formulas?.count ?? arity) == arity }) else { throw ScheduleError("needs \(arity) number\(arity == 1 ? "" : "s") at every keyframe") }
        guard keyframes.allSatisfy({ $0.values.allSatisfy(\.isFinite) }) else { throw ScheduleError("has a value that is not a finite number") }
        self.keyframes = keyframes; self.arity = arity
        try checkOrder()
    }

    /// One value from frame 0 on (a lone keyframe at a later time is not: it says when it is meant to start).
    public var isConstant: Bool { keyframes.count == 1 && keyframes[0].time == .frame(0) && keyframes[0].formulas == nil }
    /// The first keyframe's value (a formula's at frame 0; 0 where it needs the video's length).
    public var first: Double {
        let v = keyframes[0].values(at: 0, fps: 1, frames: nil)[0]
        return v.isFinite ? v : 0
    }
    /// Whether a value is a formula.
    public var hasFormulas: Bool { keyframes.contains { $0.formulas != nil } }
    /// Whether a formula needs the video's length (`T` or `F`).
    public var usesLength: Bool { keyframes.contains { $0.formulas?.contains { $0?.usesLength ?? false } ?? false } }
    /// The soundtrack envelopes its formulas use.
    public var audioVariables: [String] {
        var names: [String] = []
        for k in keyframes { for f in k.formulas ?? [] { for n in f?.audioVariables ?? [] where !names.contains(n) { names.append(n) } } }
        return names
    }

    /// The value at frame `f` (a fractional frame is fine) of a video at `fps` frames per second, `frames` long
    /// (for formulas that use `T` or `F`).
    public func values(at f: Double, fps: Double, frames: Int? = nil, audio: AudioEnvelopes? = nil) -> [Double] {
        if keyframes.count == 1 { return keyframes[0].values(at: f, fps: fps, frames: frames, audio: audio) }
        let times = keyframes.map { $0.time.frame(fps: fps) }
        if f <= times[0] { return keyframes[0].values(at: f, fps: fps, frames: frames, audio: audio) }
        guard let i = times.lastIndex(where: { $0 <= f }), i + 1 < keyframes.count else { return keyframes.last!.values(at: f, fps: fps, frames: frames, audio: audio) }
        let a = keyframes[i], b = keyframes[i + 1]
        let span = times[i + 1] - times[i]
        var t = span > 0 ? (f - times[i]) / span : 1
        switch a.interpolation {
        case .hold: t = 0
        case .linear: break
        case .smooth: t = t * t * (3 - 2 * t)
        }
        return zip(a.values(at: f, fps: fps, frames: frames, audio: audio), b.values(at: f, fps: fps, frames: frames, audio: audio)).map { $0 + ($1 - $0) * t }
    }

    public func value(at f: Double, fps: Double, frames: Int? = nil, audio: AudioEnvelopes? = nil) -> Double {
        values(at: f, fps: fps, frames: frames, audio: audio)[0]
    }

    // MARK: text form

    public var description: String {
        if isConstant { return keyframes[0].values.map(formatNumber).joined(separator: ",") }
        if keyframes.count == 1 && keyframes[0].time == .frame(0) { return keyframes[0].text }  // one formula for the whole video
        return keyframes.enumerated().map { i, k in
            let v = "\(k.time):(\(k.text))"
            return i + 1 < keyframes.count && k.interpolation != .linear ? v + " " + k.interpolation.rawValue : v
        }.joined(separator: ", ")
    }

    /// Parses the text form; the message of the error says what is wrong, without naming the setting.
    public init(parsing text: String, arity: Int = 1) throws(ScheduleError) {
        self.arity = arity
        let t = text.trimmingCharacters(in: .whitespaces)
        guard !t.isEmpty else { throw ScheduleError("is empty") }
        guard t.count <= Formula.maxLength + 1000 else { throw ScheduleError("is \(t.count) characters long; at most \(Formula.maxLength)") }
        if !Schedule.isKeyframes(t) {
            // A constant, or a formula for the whole video.
            let (values, formulas) = try Schedule.values(t, arity: arity)
            keyframes = [Keyframe(.frame(0), values, formulas: formulas)]
            return
        }
        var frames: [Keyframe] = []
        for item in Schedule.splitTopLevel(t) {
            let item = item.trimmingCharacters(in: .whitespaces)
            guard let colon = item.firstIndex(of: ":"), let open = item.firstIndex(of: "("), let close = item.lastIndex(of: ")"),
                  colon < open, open < close else {
                throw ScheduleError("keyframe '\(clipped(item))' is not TIME:(VALUE), e.g. 0:(1.05) or 5s:(1)")
            }
            let time = try KeyTime.parse(String(item[..<colon]))
            let (values, formulas) = try Schedule.values(String(item[item.index(after: open)..<close]), arity: arity)
            let rest = item[item.index(after: close)...].trimmingCharacters(in: .whitespaces).lowercased()
            var interp = Interpolation.linear
            if !rest.isEmpty {
                guard let i = Interpolation(rawValue: rest) else {
                    throw ScheduleError("'\(rest)' after keyframe \(time) is not hold, linear or smooth")
                }
                interp = i
            }
            frames.append(Keyframe(time, values, interp, formulas: formulas))
        }
        guard !frames.isEmpty else { throw ScheduleError("has no keyframes") }
        if let last = frames.last, last.interpolation != .linear {
            throw ScheduleError("'\(last.interpolation.rawValue)' after the last keyframe (\(last.time)) has no keyframe to move toward; put it after the keyframe a move starts from")
        }
        keyframes = frames
    }

    /// Whether the text is keyframes (`TIME:(…)`, …) rather than a constant or a formula.
    static func isKeyframes(_ t: String) -> Bool {
        // A formula never holds a colon: one at the top level means TIME:(VALUE).
        splitTopLevel(t).first?.contains(":") ?? false
    }

    /// `arity` values separated by commas (outside parentheses), each a number or a formula.
    static func values(_ text: String, arity: Int) throws(ScheduleError) -> ([Double], [Formula?]?) {
        if let plain = try? numbers(text, arity: arity) { return (plain, nil) }
        let parts = splitTopLevel(text).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == arity else {
            throw ScheduleError(arity == 1 ? "'\(clipped(text))' is not a number or one formula" : "'\(clipped(text))' is not \(arity) values separated by commas")
        }
        var values: [Double] = [], formulas: [Formula?] = []
        for p in parts {
            if let v = Double(p) {
                guard v.isFinite else { throw ScheduleError("'\(p)' is not a finite number") }
                values.append(v); formulas.append(nil)
            } else if !p.contains(where: { "()+-*/^%<>=".contains($0) }) && !Formula.variables.contains(p) {
                throw ScheduleError("'\(p)' is not a number")  // a word: not meant as a formula
            } else {
                formulas.append(try Formula(p)); values.append(0)
            }
        }
        return (values, formulas)
    }

    static func numbers(_ text: String, arity: Int) throws(ScheduleError) -> [Double] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == arity else {
            throw ScheduleError(arity == 1 ? "'\(text)' is not a number" : "'\(text)' is not \(arity) numbers separated by commas")
        }
        var out: [Double] = []
        for p in parts {
            guard let v = Double(p) else { throw ScheduleError("'\(p)' is not a number") }
            guard v.isFinite else { throw ScheduleError("'\(p)' is not a finite number") }
            out.append(v)
        }
        return out
    }

    /// Splits at commas outside parentheses.
    static func splitTopLevel(_ s: String) -> [String] {
        var out: [String] = [], cur = "", depth = 0
        for ch in s {
            if ch == "(" { depth += 1 } else if ch == ")" { depth = max(0, depth - 1) }
            if ch == "," && depth == 0 { out.append(cur); cur = "" } else { cur.append(ch) }
        }
        out.append(cur)
        return out
    }

    /// Checks that keyframes given in the same unit (frames, or seconds) come one after the other. Mixed
    /// units need the frame rate: `checkTimes` checks them.
    public func checkOrder() throws(ScheduleError) {
        for (a, b) in zip(keyframes, keyframes.dropFirst()) {
            switch (a.time, b.time) {
            case (.frame(let x), .frame(let y)) where y <= x: throw ScheduleError.outOfOrder(b.time)
            case (.seconds(let x), .seconds(let y)) where y <= x: throw ScheduleError.outOfOrder(b.time)
            default: continue
            }
        }
    }

    /// Checks keyframe order at a frame rate and, when known, against the video's length in frames: every
    /// keyframe after the one before it, none past the end (a keyframe may sit at the very end, frame
    /// `frames`, the end of the last frame's time).
    /// `picture`: the schedule is a single picture's (an image job, one frame), so the end is said that way.
    public func checkTimes(fps: Double, frames: Int?, picture: Bool = false) throws(ScheduleError) {
        var previous = -1.0
        for k in keyframes {
            let f = k.time.frame(fps: fps)
            guard f > previous else { throw ScheduleError.outOfOrder(k.time) }
            if let frames, f > Double(frames) + 1e-9 {
                if picture { throw ScheduleError("an image is one picture, so only a keyframe at 0 is used; give one value") }
                throw ScheduleError("keyframe \(k.time) is past the end of the video (\(frames) frames, \(formatNumber(Double(frames) / fps))s)")
            }
            previous = f
        }
    }
}

extension Schedule: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let v = try? c.decode(Double.self) { self.init(v); return }
        let s = try c.decode(String.self)
        let arity = s.contains("(") ? (s.split(separator: "(").dropFirst().first.map { $0.prefix { $0 != ")" }.split(separator: ",").count } ?? 1)
                                    : s.split(separator: ",").count
        do { try self.init(parsing: s, arity: max(1, arity)) } catch {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "schedule '\(s)' \(error.message)")
        }
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        if isConstant && arity == 1 { try c.encode(first) } else { try c.encode(description) }
    }
}

/// Why a schedule's text could not be read.
public struct ScheduleError: Error, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    static func outOfOrder(_ t: KeyTime) -> ScheduleError {
        ScheduleError("keyframes are out of order: \(t) does not come after the keyframe before it")
    }
}

/// Shortest text for a number: `1.05`, `3`, `-0.5`.
func formatNumber(_ v: Double) -> String {
    if v == v.rounded() && abs(v) < 1e15 { return String(Int64(v)) }
    var s = String(format: "%.6g", v)
    if s.contains("e") { s = "\(v)" }
    return s
}
