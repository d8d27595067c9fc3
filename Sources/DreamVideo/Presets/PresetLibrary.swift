import Foundation

/// Where presets are found by name: the user's folder (`$DREAMVIDEO_HOME/presets`, default
/// `~/.cache/dreamvideo/presets`) first, then the presets that ship with dreamvideo (the package's
/// `presets/` folder; `$DREAMVIDEO_PRESETS` points elsewhere).
public enum PresetLibrary {
    public struct Entry: Sendable {
        public var name: String
        public var description: String
        public var kind: JobKind?
        public var path: String
        public var isUser: Bool
    }

    /// The shipped presets' folder, if it can be found.
    public static func shippedFolder() -> String? {
        let fm = FileManager.default
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment["DREAMVIDEO_PRESETS"], !env.isEmpty { candidates.append(env) }
        // Beside the built tool: .build/<config>/dreamvideo → the package root; or an installed prefix.
        let exe = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath().deletingLastPathComponent()
        candidates += [exe.appendingPathComponent("../../presets").standardizedFileURL.path,
                       exe.appendingPathComponent("../share/dreamvideo/presets").standardizedFileURL.path]
        // The package this library was built from.
        candidates.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../presets").standardizedFileURL.path)
        return candidates.first { var d: ObjCBool = false; return fm.fileExists(atPath: $0, isDirectory: &d) && d.boolValue }
    }

    public static func userFolder(store: ModelStore = ModelStore()) -> String { store.root.appendingPathComponent("presets").path }

    static func files(in folder: String) throws -> [String] {
        var d: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &d) else { return [] }
        guard d.boolValue else { throw DreamVideoError.invalidArgument("\(folder): is not a folder (presets are kept there)") }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: folder) } catch {
            throw DreamVideoError.invalidArgument("\(folder): cannot read the preset folder (\((error as NSError).localizedFailureReason ?? "permission denied"))")
        }
        return names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted().map { folder + "/" + $0 }
    }

    /// Every preset, user presets first (a user preset hides a shipped one of the same name).
    public static func list() throws -> [Entry] {
        var out: [Entry] = []
        var seen = Set<String>()
        for (folder, user) in [(userFolder(), true), (shippedFolder(), false)] {
            guard let folder else { continue }
            for path in try files(in: folder) {
                let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
                guard !seen.contains(name) else { continue }
                seen.insert(name)
                let p = try? Preset.load(path: path)
                out.append(Entry(name: name, description: p?.description ?? "(cannot be read: run `dreamvideo presets show \(name)`)",
                                 kind: p?.kind, path: path, isUser: user))
            }
        }
        return out
    }

    /// A preset by name (user folder, then shipped) or by path (anything with a `/` or a .yaml/.yml ending).
    public static func find(_ nameOrPath: String) throws -> Preset {
        if nameOrPath.contains("/") || nameOrPath.hasSuffix(".yaml") || nameOrPath.hasSuffix(".yml") {
            return try Preset.load(path: nameOrPath)
        }
        for folder in [userFolder(), shippedFolder()].compactMap({ $0 }) {
            for ext in ["yaml", "yml"] {
                let path = folder + "/" + nameOrPath + "." + ext
                if FileManager.default.fileExists(atPath: path) || isDanglingLink(path) { return try Preset.load(path: path) }
            }
        }
        let names = (try? list().map(\.name)) ?? []
        let hint = closeMatch(nameOrPath, in: names).map { "did you mean \($0)? " } ?? ""
        throw DreamVideoError.invalidArgument("no preset named '\(nameOrPath)'; \(hint)available: \(names.isEmpty ? "none found" : names.joined(separator: ", ")) (or give a file path)")
    }

    /// The preset's settings fully resolved for `kind` (its own kind by default), as a preset file.
    public static func show(_ preset: Preset, kind: JobKind? = nil) throws -> String {
        let k = kind ?? preset.kind ?? .zoom
        let resolved = try JobSettings.resolve(kind: k, sources: [preset.source]).settings
        var lines: [String] = []
        lines.append("# \(preset.name): every setting of a \(k) job as this preset resolves them (built-in and model defaults filled in).")
        lines.append("# A valid preset file: save it under another name and edit.")
        if !preset.description.isEmpty { lines.append("description: \(yamlQuote(preset.description))") }
        lines.append("kind: \(k)")
        for setting in SettingsTable.settings(for: k) {
            let help = "  # \(setting.help)"
            guard let value = setting.format(resolved) else {
                lines.append("# \(setting.key): (unset)\(help)")
                continue
            }
            switch value {
            case .list(let items):
                lines.append("\(setting.key):\(help)")
                for i in items { lines.append("  - \(yamlScalar(i))") }
            default:
                lines.append("\(setting.key): \(yamlScalar(value))\(help)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func yamlScalar(_ v: SettingValue) -> String {
        switch v {
        case .number(let d): return formatNumber(d)
        case .bool(let b): return b ? "true" : "false"
        case .text(let s): return yamlQuote(s)
        case .list(let l): return "[" + l.map(yamlScalar).joined(separator: ", ") + "]"
        }
    }

    /// Double-quoted YAML text (always quoted, so nothing is misread as a number, a boolean or syntax).
    static func yamlQuote(_ s: String) -> String {
        var out = "\""
        for ch in s.unicodeScalars {
            switch ch {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if ch.value < 0x20 || ch.value == 0x7f { out += String(format: "\\x%02X", ch.value) } else { out.unicodeScalars.append(ch) }
            }
        }
        return out + "\""
    }
}
