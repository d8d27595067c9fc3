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
    public init(_ time: KeyTime, _ values: [Double], _ interpolation: Interpolation = .linear) {
        self.time = time; self.values = values; self.interpolation = interpolation
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
        guard keyframes.allSatisfy({ $0.values.count == arity }) else { throw ScheduleError("needs \(arity) number\(arity == 1 ? "" : "s") at every keyframe") }
        guard keyframes.allSatisfy({ $0.values.allSatisfy(\.isFinite) }) else { throw ScheduleError("has a value that is not a finite number") }
        self.keyframes = keyframes; self.arity = arity
        try checkOrder()
    }

    /// One value from frame 0 on (a lone keyframe at a later time is not: it says when it is meant to start).
    public var isConstant: Bool { keyframes.count == 1 && keyframes[0].time == .frame(0) }
    /// The first keyframe's value.
    public var first: Double { keyframes[0].values[0] }

    /// The value at frame `f` (a fractional frame is fine) of a video at `fps` frames per second.
    public func values(at f: Double, fps: Double) -> [Double] {
        if keyframes.count == 1 { return keyframes[0].values }
        let times = keyframes.map { $0.time.frame(fps: fps) }
        if f <= times[0] { return keyframes[0].values }
        guard let i = times.lastIndex(where: { $0 <= f }), i + 1 < keyframes.count else { return keyframes.last!.values }
        let a = keyframes[i], b = keyframes[i + 1]
        let span = times[i + 1] - times[i]
        var t = span > 0 ? (f - times[i]) / span : 1
        switch a.interpolation {
        case .hold: t = 0
        case .linear: break
        case .smooth: t = t * t * (3 - 2 * t)
        }
        return zip(a.values, b.values).map { $0 + ($1 - $0) * t }
    }

    public func value(at f: Double, fps: Double) -> Double { values(at: f, fps: fps)[0] }

    // MARK: text form

    public var description: String {
        if isConstant { return keyframes[0].values.map(formatNumber).joined(separator: ",") }
        return keyframes.enumerated().map { i, k in
            let v = "\(k.time):(\(k.values.map(formatNumber).joined(separator: ",")))"
            return i + 1 < keyframes.count && k.interpolation != .linear ? v + " " + k.interpolation.rawValue : v
        }.joined(separator: ", ")
    }

    /// Parses the text form; the message of the error says what is wrong, without naming the setting.
    public init(parsing text: String, arity: Int = 1) throws(ScheduleError) {
        self.arity = arity
        let t = text.trimmingCharacters(in: .whitespaces)
        guard !t.isEmpty else { throw ScheduleError("is empty") }
        if !t.contains("(") {
            keyframes = [Keyframe(.frame(0), try Schedule.numbers(t, arity: arity))]
            return
        }
        var frames: [Keyframe] = []
        for item in Schedule.splitTopLevel(t) {
            let item = item.trimmingCharacters(in: .whitespaces)
            guard let colon = item.firstIndex(of: ":"), let open = item.firstIndex(of: "("), let close = item.lastIndex(of: ")"),
                  colon < open, open < close else {
                throw ScheduleError("keyframe '\(item)' is not TIME:(VALUE), e.g. 0:(1.05) or 5s:(1)")
            }
            let time = try KeyTime.parse(String(item[..<colon]))
            let values = try Schedule.numbers(String(item[item.index(after: open)..<close]), arity: arity)
            let rest = item[item.index(after: close)...].trimmingCharacters(in: .whitespaces).lowercased()
            var interp = Interpolation.linear
            if !rest.isEmpty {
                guard let i = Interpolation(rawValue: rest) else {
                    throw ScheduleError("'\(rest)' after keyframe \(time) is not hold, linear or smooth")
                }
                interp = i
            }
            frames.append(Keyframe(time, values, interp))
        }
        guard !frames.isEmpty else { throw ScheduleError("has no keyframes") }
        if let last = frames.last, last.interpolation != .linear {
            throw ScheduleError("'\(last.interpolation.rawValue)' after the last keyframe (\(last.time)) has no keyframe to move toward; put it after the keyframe a move starts from")
        }
        keyframes = frames
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
            if ch == "(" { depth += 1 } else if ch == ")" { depth -= 1 }
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
    public func checkTimes(fps: Double, frames: Int?) throws(ScheduleError) {
        var previous = -1.0
        for k in keyframes {
            let f = k.time.frame(fps: fps)
            guard f > previous else { throw ScheduleError.outOfOrder(k.time) }
            if let frames, f > Double(frames) + 1e-9 {
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
