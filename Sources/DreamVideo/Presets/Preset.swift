import Foundation
import Yams

/// A preset: a YAML file of settings (the settings table's keys, exactly the command-line flags without
/// dashes), with a description and the kind of job it is made for. Values are checked by the table
/// when a job resolves them; errors name the file, the line, the key and what is allowed.
///
/// ```yaml
/// description: Dream eyes for 5 s, cross-fade to swirls over 2 s
/// kind: zoom
/// layer:
///   - name: blocks.10          # eyes
///     weight: {0: 1, 5s: 1, 7s: 0}
///   - name: blocks.4           # swirls
///     weight: {5s: 0, 7s: 1}
/// zoom: {0: 1.04, 10s: 1.04 smooth, 12s: 1}
/// ```
public struct Preset: Sendable {
    public var name: String
    /// The file it was read from.
    public var path: String
    public var description: String
    /// The kind of job it is made for (its keys for other kinds are ignored when used elsewhere).
    public var kind: JobKind?
    /// Its settings, each with its file and line.
    public var source: SettingSource

    /// Keys a preset may hold besides settings.
    static let metaKeys = ["description", "kind"]

    /// Reads a preset file.
    public static func load(path: String) throws -> Preset {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            if isDanglingLink(path) { throw DreamVideoError.invalidArgument("\(path): a symbolic link that leads nowhere (a loop, or its target is gone)") }
            throw DreamVideoError.invalidArgument("\(path): no such preset file")
        }
        guard !isDir.boolValue else { throw DreamVideoError.invalidArgument("\(path): is a folder, not a preset file") }
        guard let data = FileManager.default.contents(atPath: path) else { throw DreamVideoError.invalidArgument("\(path): cannot read it") }
        guard data.count < 1 << 20 else { throw DreamVideoError.invalidArgument("\(path): too large for a preset (\(data.count) bytes)") }
        guard let text = String(data: data, encoding: .utf8) else { throw DreamVideoError.invalidArgument("\(path): not UTF-8 text") }
        return try parse(yaml: text, path: path)
    }

    /// Parses preset text; `path` names it in errors.
    public static func parse(yaml: String, path: String, name: String? = nil) throws -> Preset {
        let root = try YAMLSettings.compose(yaml, path: path)
        guard case .mapping(let mapping) = root else {
            throw SettingError(key: "", value: "", problem: .invalid("is not a preset: expected `key: value` lines"), origin: .file(path: path, line: root.mark?.line))
        }
        var preset = Preset(name: name ?? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent, path: path,
                            description: "", kind: nil, source: SettingSource(entries: [], origin: .file(path: path, line: nil), ignoresOtherJobKeys: true))
        for (k, v) in mapping {
            let key = try YAMLSettings.key(k, path: path)
            let origin = SettingOrigin.file(path: path, line: k.mark?.line)
            switch key {
            case "description":
                guard let s = v.string else { throw SettingError(key: key, value: "", problem: .invalid("must be text"), origin: origin) }
                preset.description = s
            case "kind":
                guard let s = v.string, let kind = JobKind(rawValue: s) else {
                    throw SettingError(key: key, value: v.string ?? "", problem: .notAllowed(allowed: "image, zoom or redream"), origin: origin)
                }
                preset.kind = kind
            default:
                preset.source.entries.append(try YAMLSettings.entry(key: key, node: v, path: path, extraKeys: metaKeys))
            }
        }
        return preset
    }
}

/// Reading settings out of YAML nodes, for presets and batch files.
enum YAMLSettings {
    static func compose(_ yaml: String, path: String) throws -> Node {
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                throw SettingError(key: "", value: "", problem: .invalid("is empty"), origin: .file(path: path, line: nil))
            }
            return node
        } catch let e as YamlError {
            throw DreamVideoError.invalidArgument("\(path):\(describe(e, yaml: yaml))")
        }
    }

    /// A YAML error as one line, "LINE: problem" (never the file's text, however long the file).
    static func describe(_ e: YamlError, yaml: String) -> String {
        func oneLine(_ s: String) -> String {
            let line = s.split(separator: "\n").first.map(String.init) ?? s
            return line.count > 200 ? String(line.prefix(200)) + "…" : line
        }
        switch e {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            return "\(mark.line): YAML syntax: \(oneLine(problem))" + (context.map { " \(oneLine($0.text))" } ?? "")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let key = duplicates.sorted().first ?? "?"
            return "\(duplicateLine(key, from: context.mark.line, yaml: yaml) ?? context.mark.line): duplicate key '\(oneLine(key))'"
        case .reader(let problem, let offset, _, _):
            return " YAML: \(oneLine(problem))\(offset.map { " at byte \($0)" } ?? "")"
        default:
            return " YAML: \(oneLine("\(e)"))"
        }
    }

    /// The line (1-based) of the second `key:` at or after line `from`, where Yams found a duplicate.
    private static func duplicateLine(_ key: String, from: Int, yaml: String) -> Int? {
        var seen = 0
        for (i, raw) in yaml.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where i + 1 >= from {
            var line = raw.drop { $0 == " " || $0 == "\t" }
            if line.hasPrefix("- ") { line = line.dropFirst(2).drop { $0 == " " } }
            for form in [key, "\"\(key)\"", "'\(key)'"] where line.hasPrefix(form) {
                if line.dropFirst(form.count).drop(while: { $0 == " " }).hasPrefix(":") {
                    seen += 1
                    if seen == 2 { return i + 1 }
                }
            }
        }
        return nil
    }

    static func key(_ node: Node, path: String) throws -> String {
        guard case .scalar(let s) = node else {
            throw SettingError(key: "", value: "", problem: .invalid("has a key that is not a name"), origin: .file(path: path, line: node.mark?.line))
        }
        return s.string
    }

    /// One setting from a YAML value: a scalar, a list (layers), or a mapping (keyframes `TIME: VALUE`, or a
    /// layer `{name, weight}`).
    static func entry(key: String, node: Node, path: String, extraKeys: [String]) throws -> SettingSource.Entry {
        let origin = SettingOrigin.file(path: path, line: node.mark?.line ?? nil)
        guard let setting = SettingsTable.setting(key) else {
            let suggestion = closeMatch(key, in: SettingsTable.all.map(\.key) + extraKeys)
            throw SettingError(key: key, value: "", problem: .unknownKey(suggestion: suggestion), origin: .file(path: path, line: node.mark?.line))
        }
        func fail(_ message: String) -> SettingError { SettingError(key: key, value: "", problem: .invalid(message), origin: origin) }
        switch node {
        case .scalar(let s):
            if s.style == .plain, s.string == "~" || s.string == "null" || s.string.isEmpty { throw fail("has no value") }
            // A path is relative to the file (`audio: true` is a switch, not a path).
            if setting.isPath, (try? parseBool(.text(s.string))) == nil { return .init(key: key, value: .text(relativeTo(path, s.string)), origin: origin) }
            return .init(key: key, value: scalarValue(s), origin: origin)
        case .sequence(let seq):
            if setting.repeatable {
                var items: [SettingValue] = []
                for item in seq {
                    switch item {
                    case .scalar(let s): items.append(.text(s.string))
                    case .mapping(let m): items.append(.text(try layerTerm(m, key: key, path: path)))
                    default: throw fail("has a list item that is neither a value nor a {name, weight} mapping")
                    }
                }
                return .init(key: key, value: .list(items), origin: origin)
            }
            if setting.arity > 1, seq.count == setting.arity, seq.allSatisfy({ $0.float != nil }) {
                return .init(key: key, value: .text(seq.map { formatNumber($0.float!) }.joined(separator: ",")), origin: origin)
            }
            throw fail("takes one value, not a list")
        case .mapping(let m):
            if setting.repeatable { return .init(key: key, value: .list([.text(try layerTerm(m, key: key, path: path))]), origin: origin) }
            guard setting.schedulable else { throw fail("takes one value, not a mapping (only numbers that change over time take keyframes)") }
            return .init(key: key, value: .text(try keyframes(m, key: key, path: path)), origin: origin)
        case .alias:
            throw fail("uses a YAML alias, which presets do not support")
        }
    }

    /// A plain scalar's value. Numbers are read as plain decimals only: YAML 1.1's octal (`017`), hexadecimal,
    /// sexagesimal (`1:30`) and `.inf`/`.nan` forms stay text, so `017` is 17 and `0x10` is refused by the
    /// setting rather than silently read as 16. An integer too large to hold exactly in a double stays text
    /// (a seed such as 18446744073709551615 keeps every digit).
    /// `p` as written in the file at `file`: absolute as it is, relative to the file's folder otherwise.
    static func relativeTo(_ file: String, _ p: String) -> String {
        if p.hasPrefix("/") || p.isEmpty || StartImage.isSynthetic(p) { return p }
        return URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent(p).standardizedFileURL.path
    }

    static func scalarValue(_ s: Node.Scalar) -> SettingValue {
        guard s.style == .plain else { return .text(s.string) }
        let t = s.string
        if ["true", "false", "yes", "no", "on", "off"].contains(t.lowercased()) { return .bool(["true", "yes", "on"].contains(t.lowercased())) }
        let body = t.hasPrefix("-") || t.hasPrefix("+") ? t.dropFirst() : Substring(t)
        if !body.isEmpty, body.allSatisfy({ $0.isASCII && $0.isNumber }) {
            if let i = Int(t), abs(i) <= 1 << 53 { return .number(Double(i)) }
            return .text(t)
        }
        if isDecimal(body), let d = Double(t), d.isFinite { return .number(d) }
        return .text(t)
    }

    /// `1.5`, `.5`, `2.`, `1e-3`, `2.5E+4`: digits with at most one point and an optional exponent.
    static func isDecimal(_ s: Substring) -> Bool {
        var mantissa = s, exponent: Substring? = nil
        if let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = s[..<e]
            exponent = s[s.index(after: e)...]
        }
        let digits = mantissa.filter { $0 != "." }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), mantissa.filter({ $0 == "." }).count <= 1 else { return false }
        if let exponent {
            let e = exponent.hasPrefix("-") || exponent.hasPrefix("+") ? exponent.dropFirst() : exponent
            return !e.isEmpty && e.allSatisfy { $0.isASCII && $0.isNumber }
        }
        return true
    }

    /// `{0: 1.05, 5s: "1.05 smooth", 7s: 1}` → `0:(1.05), 5s:(1.05) smooth, 7s:(1)`.
    static func keyframes(_ m: Node.Mapping, key: String, path: String) throws -> String {
        var parts: [String] = []
        for (k, v) in m {
            let origin = SettingOrigin.file(path: path, line: k.mark?.line)
            guard case .scalar(let t) = k else { throw SettingError(key: key, value: "", problem: .invalid("has a keyframe time that is not a value"), origin: origin) }
            let value: String
            switch v {
            case .scalar(let s): value = s.string
            case .sequence(let seq) where seq.count == 2 && seq.allSatisfy({ $0.float != nil }):
                value = seq.map { formatNumber($0.float!) }.joined(separator: ",")
            default:
                throw SettingError(key: key, value: "", problem: .invalid("keyframe \(t.string) needs a value (e.g. 1.05 or \"1.05 smooth\")"), origin: origin)
            }
            // The value (a number or a formula, which may hold spaces), then an optional hold/linear/smooth.
            var body = value.trimmingCharacters(in: .whitespaces), interp = ""
            if let space = body.lastIndex(of: " "), Interpolation(rawValue: body[body.index(after: space)...].lowercased()) != nil {
                interp = " " + body[body.index(after: space)...]
                body = String(body[..<space]).trimmingCharacters(in: .whitespaces)
            } else if let space = body.lastIndex(of: " "), !body.contains(where: { "()+-*/^%<>=".contains($0) }) {
                interp = " " + body[body.index(after: space)...]   // an unknown word: the schedule's parser names it
                body = String(body[..<space]).trimmingCharacters(in: .whitespaces)
            }
            parts.append("\(t.string):(\(body))\(interp)")
        }
        return parts.joined(separator: ", ")
    }

    /// `{name: blocks.10, weight: 0.5}` or `{name: blocks.4, weight: {5s: 0, 7s: 1}}` → `blocks.4:5s:(0), 7s:(1)`.
    static func layerTerm(_ m: Node.Mapping, key: String, path: String) throws -> String {
        var name: String? = nil, weight: String? = nil
        for (k, v) in m {
            let origin = SettingOrigin.file(path: path, line: k.mark?.line)
            switch k.string {
            case "name": name = v.string
            case "weight":
                switch v {
                case .scalar(let s): weight = s.string
                case .mapping(let wm): weight = try keyframes(wm, key: key, path: path)
                default: throw SettingError(key: key, value: "", problem: .invalid("weight must be a number or keyframes"), origin: origin)
                }
            default:
                let hint = closeMatch(k.string ?? "", in: ["name", "weight"]).map { " (did you mean \($0)?)" } ?? ""
                throw SettingError(key: key, value: "", problem: .invalid("has an unknown field '\(k.string ?? "?")'\(hint); a layer is {name, weight}"), origin: origin)
            }
        }
        guard let name, !name.isEmpty else {
            throw SettingError(key: key, value: "", problem: .invalid("needs a name (e.g. name: blocks.10)"), origin: .file(path: path, line: m.mark?.line))
        }
        return weight.map { "\(name):\($0)" } ?? name
    }
}

/// Whether `path` is a symbolic link that cannot be followed (a loop, or a missing target).
func isDanglingLink(_ path: String) -> Bool {
    var st = stat()
    guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFLNK else { return false }
    return stat(path, &st) != 0
}
