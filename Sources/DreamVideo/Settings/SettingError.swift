/// A value given for a setting, as it arrives from a front end: the command line gives text (and
/// `true` for a flag), a preset file gives text, numbers, booleans and lists.
public enum SettingValue: Sendable, Equatable, CustomStringConvertible {
    case text(String)
    case number(Double)
    case bool(Bool)
    case list([SettingValue])

    public var description: String {
        switch self {
        case .text(let s): return s
        case .number(let v): return formatNumber(v)
        case .bool(let b): return b ? "true" : "false"
        case .list(let l): return l.map(\.description).joined(separator: ", ")
        }
    }
}

/// Where a setting's value came from, so an error can point at it.
public enum SettingOrigin: Sendable, Equatable {
    /// Built in, or a model's default.
    case defaults
    /// Set through the library API.
    case api
    /// A command-line flag (`--key`).
    case flag
    /// A line of a preset or batch file.
    case file(path: String, line: Int?)
}

/// A setting that is unknown, of the wrong type or out of range. The description names the setting the
/// way the user wrote it: `--zoom` on the command line, `FILE:LINE: zoom` in a preset.
public struct SettingError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Problem: Sendable, Equatable {
        /// The value is not allowed; `allowed` says what is (a range, a list, a form).
        case notAllowed(allowed: String)
        /// Something else is wrong with the value (keyframes out of order, a conflict with another setting…).
        case invalid(String)
        /// No such setting; the nearest known key, if any is close.
        case unknownKey(suggestion: String?)
    }

    public var key: String
    /// The value as given (empty for an unknown key).
    public var value: String
    public var problem: Problem
    public var origin: SettingOrigin

    public init(key: String, value: String, problem: Problem, origin: SettingOrigin = .api) {
        self.key = key; self.value = value; self.problem = problem; self.origin = origin
    }

    /// The setting as the user wrote it.
    var name: String {
        switch origin {
        case .flag: return "--\(key)"
        default: return key
        }
    }

    var location: String {
        if case .file(let path, let line) = origin { return line.map { "\(path):\($0): " } ?? "\(path): " }
        return ""
    }

    public var description: String {
        switch problem {
        case .notAllowed(let allowed):
            return "\(location)\(name) must be \(allowed), got '\(clipped(value))'"
        case .invalid(let message):
            if key.isEmpty { return location.isEmpty ? message : "\(location)\(message)" }
            return "\(location)\(name) \(message)"
        case .unknownKey(let suggestion):
            let kind = origin == .flag ? "option" : "key"
            return "\(location)unknown \(kind) '\(name)'" + (suggestion.map { " (did you mean \(origin == .flag ? "--" : "")\($0)?)" } ?? "")
        }
    }
}

/// A value as a message shows it: whole when short, its start and end around the length when long (a 1 MB
/// formula must not become a 1 MB error line).
func clipped(_ s: String, _ limit: Int = 120) -> String {
    guard s.count > limit else { return s }
    return String(s.prefix(limit * 2 / 3)) + "…" + String(s.suffix(limit / 6)) + " (\(s.count) characters)"
}
