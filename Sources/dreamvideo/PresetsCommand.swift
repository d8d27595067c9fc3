import ArgumentParser
import DreamVideo
import Foundation

struct PresetsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "presets",
        abstract: "List presets and show what one sets.",
        discussion: "Presets are YAML files of settings (the flags without dashes). Your own go in $DREAMVIDEO_HOME/presets (default ~/.cache/dreamvideo/presets) and are found by name too.",
        subcommands: [List.self, Show.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Name and description of every preset.")
        func run() throws {
            let entries = try PresetLibrary.list()
            if entries.isEmpty { print("no presets found (looked in \(PresetLibrary.userFolder()) and \(PresetLibrary.shippedFolder() ?? "the package's presets/ folder"))") }
            let width = entries.map(\.name.count).max() ?? 10
            for e in entries {
                let kind = e.kind.map { "[\($0)]" } ?? ""
                print("\(e.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(kind.padding(toLength: 9, withPad: " ", startingAt: 0)) \(e.description)\(e.isUser ? "  (yours)" : "")")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every setting a preset resolves to, as a preset file.")
        @Argument(help: "Preset name or file.") var name: String
        @Option(help: "Resolve for this kind of job (image, zoom or redream; default: the preset's).") var kind: String?
        func run() throws {
            var k: JobKind? = nil
            if let kind {
                guard let kk = JobKind(rawValue: kind) else { throw ValidationError("--kind must be image, zoom or redream, got '\(kind)'") }
                k = kk
            }
            print(try PresetLibrary.show(try PresetLibrary.find(name), kind: k), terminator: "")
        }
    }
}

struct SettingsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "settings",
        abstract: "Every setting: its key (flag and preset key), jobs, allowed values, default, unit and help.")
    @Flag(help: "As a Markdown table.") var markdown = false
    func run() throws {
        if markdown {
            print("| key | jobs | allowed | default | keyframes | help |")
            print("|---|---|---|---|---|---|")
        }
        for s in SettingsTable.all {
            let jobs = JobKind.allCases.filter { s.jobs.contains($0) }.map(\.rawValue).joined(separator: ", ")
            let def = s.defaultDescription ?? "—"
            let allowed = s.allowed + (s.unit.isEmpty || s.allowed.hasSuffix(s.unit) || !(s.allowed.first?.isNumber ?? false) ? "" : " \(s.unit)")
            if markdown {
                print("| `\(s.key)` | \(jobs) | \(allowed.replacingOccurrences(of: "|", with: "\\|")) | \(def) | \(s.schedulable ? "yes" : "") | \(s.help.replacingOccurrences(of: "|", with: "\\|")) |")
            } else {
                print("\(s.key)  [\(jobs)]  \(allowed); default \(def)\(s.schedulable ? "; keyframes" : "")\n    \(s.help)")
            }
        }
    }
}
