import ArgumentParser
import DreamVideo

// The options below are the settings table's keys, one `--key` each, taken as text: parsing, ranges
// and messages come from the table (`SettingsTable`), so a flag and a preset key behave the same.
// A property `fooBar` is the flag `--foo-bar` and the key `foo-bar`.

/// Help for a setting, from the table.
func help(_ key: String) -> ArgumentHelp {
    guard let s = SettingsTable.setting(key) else { return ArgumentHelp("(no such setting: \(key))") }
    var text = s.help
    text += " Allowed: \(s.allowed)\(s.unit.isEmpty || s.allowed.hasSuffix(s.unit) ? "" : " (\(s.unit))")."
    if s.schedulable { text += " May be keyframed." }
    if let d = s.defaultDescription, !s.isFlag { text += " Default: \(d)." }
    return ArgumentHelp(text, valueName: s.valueName)
}

/// Dream options shared by every command that dreams.
struct DreamFlags: ParsableArguments {
    @Option(parsing: .unconditional, help: help("model")) var model: String?
    @Option(name: .customLong("layer"), parsing: .unconditionalSingleValue, help: help("layer")) var layer: [String] = []
    @Option(parsing: .unconditional, help: help("objective")) var objective: String?
    @Option(parsing: .unconditional, help: help("octaves")) var octaves: String?
    @Option(parsing: .unconditional, help: help("octave-scale")) var octaveScale: String?
    @Option(parsing: .unconditional, help: help("iterations")) var iterations: String?
    @Option(parsing: .unconditional, help: help("step")) var step: String?
    @Option(parsing: .unconditional, help: help("jitter")) var jitter: String?
    @Option(parsing: .unconditional, help: help("smooth")) var smooth: String?
    @Option(parsing: .unconditional, help: help("tile")) var tile: String?
    @Option(parsing: .unconditional, help: help("seed")) var seed: String?
    @Option(name: .customLong("class"), parsing: .unconditionalSingleValue, help: help("class")) var `class`: [String] = []
    @Option(parsing: .unconditional, help: help("guide")) var guide: String?
    @Option(parsing: .unconditional, help: help("laplacian")) var laplacian: String?
    @Option(parsing: .unconditional, help: help("keep-colors")) var keepColors: String?
}

/// The camera and length of a zoom video.
struct ZoomFlags: ParsableArguments {
    @Option(parsing: .unconditional, help: help("size")) var size: String?
    @Option(parsing: .unconditional, help: help("max-side")) var maxSide: String?
    @Option(parsing: .unconditional, help: help("frames")) var frames: String?
    @Option(parsing: .unconditional, help: help("duration")) var duration: String?
    @Option(parsing: .unconditional, help: help("fps")) var fps: String?
    @Option(parsing: .unconditional, help: help("zoom")) var zoom: String?
    @Option(parsing: .unconditional, help: help("rotate")) var rotate: String?
    @Option(parsing: .unconditional, help: help("translate")) var translate: String?
    @Option(parsing: .unconditional, help: help("detail-damping")) var detailDamping: String?
    @Option(parsing: .unconditional, help: help("seed-blend")) var seedBlend: String?
    @Option(parsing: .unconditional, help: help("renormalize")) var renormalize: String?
    @Option(parsing: .unconditional, help: help("grid-turn")) var gridTurn: String?
    @Option(parsing: .unconditional, help: help("cadence")) var cadence: String?
    @Flag(inversion: .prefixedNo, help: help("preview")) var preview: Bool?
    @Option(parsing: .unconditional, help: help("border")) var border: String?
    @Option(parsing: .unconditional, help: help("loop")) var loop: String?
    @Option(parsing: .unconditional, help: help("audio")) var audio: String?
}

/// What part of the source a re-dream takes, at what size, and how it holds together in time.
struct RedreamFlags: ParsableArguments {
    @Option(parsing: .unconditional, help: help("start")) var start: String?
    @Option(parsing: .unconditional, help: help("duration")) var duration: String?
    @Option(parsing: .unconditional, help: help("max-side")) var maxSide: String?
    @Option(parsing: .unconditional, help: help("flow")) var flow: String?
    @Option(parsing: .unconditional, help: help("blend")) var blend: String?
    @Option(parsing: .unconditional, help: help("temporal-weight")) var temporalWeight: String?
    @Option(parsing: .unconditional, help: help("cadence")) var cadence: String?
    @Option(parsing: .unconditional, help: help("lead-in")) var leadIn: String?
    @Option(parsing: .unconditional, help: help("overlap")) var overlap: String?
    @Option(parsing: .unconditional, help: help("audio")) var audio: String?
    @Flag(help: "Drop the source's audio (a re-dream; the same as --audio false).") var noAudio = false
}

/// Encoding and checkpoints of a video.
struct EncodeFlags: ParsableArguments {
    @Option(parsing: .unconditional, help: help("codec")) var codec: String?
    @Option(parsing: .unconditional, help: help("crf")) var crf: String?
    @Option(parsing: .unconditional, help: help("encoder-preset")) var encoderPreset: String?
    @Flag(inversion: .prefixedNo, help: help("mpeg4")) var mpeg4: Bool?
    @Option(parsing: .unconditional, help: help("frames-dir")) var framesDir: String?
    @Option(parsing: .unconditional, help: help("checkpoint-every")) var checkpointEvery: String?
    @Option(parsing: .unconditional, help: help("stop-within")) var stopWithin: String?
}

/// Picture size of an image job.
struct ImageSizeFlags: ParsableArguments {
    @Option(parsing: .unconditional, help: help("size")) var size: String?
    @Option(parsing: .unconditional, help: help("max-side")) var maxSide: String?
}

/// The settings given on the command line, by key, read off option groups: every `@Option` and
/// `@Flag` property whose name is a key (camelCase → kebab-case).
func settingFlags(_ groups: any ParsableArguments...) -> SettingSource {
    var values: [(String, SettingValue)] = []
    for group in groups {
        for child in Mirror(reflecting: group).children {
            guard let label = child.label, label.hasPrefix("_") else { continue }
            let key = kebab(String(label.dropFirst()))
            if let o = child.value as? Option<String?>, let v = o.wrappedValue {
                values.append((key, .text(v)))
            } else if let o = child.value as? Option<[String]>, !o.wrappedValue.isEmpty {
                values.append((key, .list(o.wrappedValue.map { .text($0) })))
            } else if let f = child.value as? Flag<Bool?>, let v = f.wrappedValue {
                values.append((key, .bool(v)))
            } else if label == "_noAudio", let f = child.value as? Flag<Bool>, f.wrappedValue {
                values.append(("audio", .bool(false)))
            }
        }
    }
    return .flags(values)
}

func kebab(_ camel: String) -> String {
    camel.reduce(into: "") { out, ch in if ch.isUppercase { out += "-" + ch.lowercased() } else { out.append(ch) } }
}
