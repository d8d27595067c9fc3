import DreamEngine
import DreamVideo
import Foundation
import MediaIO
import Testing

let presetsFolder = CLI.root + "/presets"

@Suite("Schedules")
struct ScheduleTests {
    @Test func valuesAtAndBetweenKeyframes() throws {
        let lin = try Schedule(parsing: "0:(1), 10:(3)")
        #expect(lin.value(at: 0, fps: 30) == 1 && lin.value(at: 5, fps: 30) == 2 && lin.value(at: 10, fps: 30) == 3)
        #expect(lin.value(at: -4, fps: 30) == 1 && lin.value(at: 99, fps: 30) == 3, "before the first and after the last keyframe the values hold")
        let hold = try Schedule(parsing: "0:(1) hold, 10:(3)")
        #expect(hold.value(at: 9.9, fps: 30) == 1 && hold.value(at: 10, fps: 30) == 3)
        let smooth = try Schedule(parsing: "0:(0) smooth, 10:(1)")
        #expect(smooth.value(at: 5, fps: 30) == 0.5)
        #expect(abs(smooth.value(at: 2.5, fps: 30) - 0.15625) < 1e-12, "smoothstep eases in")
        #expect(smooth.value(at: 1, fps: 30) < 0.1 && smooth.value(at: 9, fps: 30) > 0.9)
        // Seconds are placed at the frame rate.
        let secs = try Schedule(parsing: "0:(0), 2s:(10)")
        #expect(secs.value(at: 30, fps: 30) == 5 && secs.value(at: 25, fps: 25) == 5)
        // Pairs.
        let pair = try Schedule(parsing: "0:(0,0), 4:(2,-4)", arity: 2)
        #expect(pair.values(at: 2, fps: 30) == [1, -2])
        // The text form reads back.
        for text in ["1.05", "0:(1), 10:(3)", "0:(1) hold, 5s:(2) smooth, 7s:(0)"] {
            #expect(try Schedule(parsing: Schedule(parsing: text).description) == Schedule(parsing: text))
        }
        for bad in ["", "abc", "0:(1), x:(2)", "0:1", "0:(1) wobbly, 2:(2)", "0:(nan)", "0:(1e999)"] {
            #expect(throws: ScheduleError.self, "\(bad)") { try Schedule(parsing: bad) }
        }
        #expect(throws: ScheduleError.self) { try Schedule(parsing: "10:(1), 2:(2)").checkTimes(fps: 30, frames: 100) }
        #expect(throws: ScheduleError.self) { try Schedule(parsing: "0:(1), 5s:(2)").checkTimes(fps: 30, frames: 100) }
        #expect(throws: Never.self) { try Schedule(parsing: "0:(1), 100:(2)").checkTimes(fps: 30, frames: 100) }
    }

    @Test func layerCrossFadeWeightsSumAsTheShippedPresetSays() throws {
        let preset = try PresetLibrary.find(presetsFolder + "/eyes-to-swirls.yaml")
        let s = try JobSettings.resolve(kind: .zoom, sources: [preset.source]).settings
        #expect(s.frameCount == 360)
        for f in stride(from: 0, through: 359, by: 7) {
            let w = s.frameSettings(at: f).dream.layers.reduce(Float(0)) { $0 + $1.weight }
            #expect(abs(w - 1) < 1e-5, "frame \(f): weights sum to \(w)")
        }
        let at = { (f: Int) in Dictionary(uniqueKeysWithValues: s.frameSettings(at: f).dream.layers.map { ($0.name, $0.weight) }) }
        #expect(at(100)["blocks.10"] == 1 && at(100)["blocks.4"] == nil, "eyes only for 5 s")
        #expect(abs((at(180)["blocks.10"] ?? 0) - 0.5) < 1e-5, "half way through the cross-fade at 6 s")
        #expect(at(300)["blocks.4"] == 1 && at(300)["blocks.10"] == nil, "swirls only after 7 s")
        #expect(abs(s.frameSettings(at: 0).transform.zoom - 1.04) < 1e-6 && s.frameSettings(at: 359).transform.zoom < 1.001)
    }
}

@Suite("Presets", .serialized)
struct PresetTests {
    func write(_ text: String, _ name: String = "p.yaml") throws -> String {
        let dir = try tempDir("preset")
        let path = dir + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func resolveError(_ text: String, kind: JobKind = .zoom) throws -> String {
        let path = try write(text)
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path) }
        do {
            let p = try Preset.load(path: path)
            _ = try JobSettings.resolve(kind: kind, sources: [p.source])
            return "accepted"
        } catch {
            return "\(error)".replacingOccurrences(of: path, with: "FILE")
        }
    }

    @Test func invalidPresetsGiveTheExactError() throws {
        #expect(try resolveError("zoom: 1.02\nzom: 1.1\n") == "FILE:2: unknown key 'zom' (did you mean zoom?)")
        #expect(try resolveError("zoom: 5\n") == "FILE:1: zoom must be 0.25…4 (× per frame), got '5'")
        #expect(try resolveError("zoom: [1, 2]\n") == "FILE:1: zoom takes one value, not a list")
        #expect(try resolveError("duration: 10\nzoom: {0: 1.02, 8s: 1.05, 4s: 1}\n") == "FILE:2: zoom keyframes are out of order: 4s does not come after the keyframe before it")
        #expect(try resolveError("duration: 2\nzoom: {0: 1.02, 5s: 1}\n") == "FILE:2: zoom keyframe 5s is past the end of the video (60 frames, 2s)")
        #expect(try resolveError("layer: blocks.99\n") == "FILE:1: layer 'blocks.99' is not a layer of efficientnet-lite0 (did you mean blocks.9?); list them with `dreamvideo models layers efficientnet-lite0`")
        #expect(try resolveError("iterations: lots\n") == "FILE:1: iterations must be an integer 1…10000 (steps), got 'lots'")
        #expect(try resolveError("crf: 99\n") == "FILE:1: crf must be 0…51, got '99'")
        #expect(try resolveError("description: x\nzoom: 1.02\n  rotate: 3\n").contains("FILE:3: YAML syntax"))
        #expect(try resolveError("kind: movie\n") == "FILE:1: kind must be image, zoom or redream, got 'movie'")
        #expect(try resolveError("- zoom\n") == "FILE:1: is not a preset: expected `key: value` lines")
        #expect(try resolveError("layer:\n  - name: blocks.10\n    wieght: 2\n") == "FILE:3: layer has an unknown field 'wieght' (did you mean weight?); a layer is {name, weight}")
        #expect(try resolveError("fps: inf\n") == "FILE:1: fps must be 1…240 frames per second: 30, 29.97 or 30000/1001, got 'inf'")
        #expect(try resolveError("seed: -3\n") == "FILE:1: seed must be an integer 0…18446744073709551615, got '-3'")
        #expect(try resolveError("zoom:\n") == "FILE:1: zoom has no value")
        #expect(try resolveError("zoom: 1.02\nzoom: 1.03\n") == "FILE:2: duplicate key 'zoom'")
    }

    @Test func missingPresetsListTheAvailableOnes() throws {
        do { _ = try PresetLibrary.find("clasic-eyes"); Issue.record("found") } catch {
            #expect("\(error)".contains("no preset named 'clasic-eyes'; did you mean classic-eyes?") && "\(error)".contains("swirl-spiral"), "\(error)")
        }
        do { _ = try PresetLibrary.find("/nope/x.yaml"); Issue.record("found") } catch { #expect("\(error)" == "/nope/x.yaml: no such preset file") }
    }

    @Test func flagsOverridePresetsWhichOverrideModelDefaults() throws {
        let p = try PresetLibrary.find(presetsFolder + "/classic-eyes.yaml")
        let base = try JobSettings.resolve(kind: .zoom, sources: [p.source]).settings
        #expect(base.zoom == Schedule(1.02) && base.iterations == Schedule(6), "the preset over the model's video defaults (3 iterations)")
        #expect(base.octaveScale == Schedule(1.4), "what the preset leaves alone keeps the model's default")
        let flags = SettingSource.flags([("zoom", .text("1.1")), ("frames", .text("8"))])
        let s = try JobSettings.resolve(kind: .zoom, sources: [p.source, flags]).settings
        #expect(s.zoom == Schedule(1.1) && s.iterations == Schedule(6))
        #expect(s.frames == 8 && s.duration == nil, "--frames replaces the preset's duration")
        // A zoom preset used for an image: its video keys are ignored.
        let img = try JobSettings.resolve(kind: .image, sources: [p.source]).settings
        #expect(img.iterations == Schedule(6) && img.layers == [LayerTerm("blocks.10")])
    }

    @Test func showPrintsAPresetThatReadsBackTheSame() throws {
        let shipped = try PresetLibrary.list().filter { !$0.isUser }
        #expect(shipped.count >= 8, "the shipped presets were found: \(shipped.count)")
        for entry in shipped {
            let preset = try PresetLibrary.find(entry.path)
            let kind = preset.kind ?? .zoom
            let shown = try PresetLibrary.show(preset)
            let again = try Preset.parse(yaml: shown, path: "shown-\(entry.name).yaml")
            #expect(again.kind == preset.kind && again.description == preset.description)
            let a = try JobSettings.resolve(kind: kind, sources: [preset.source]).settings
            let b = try JobSettings.resolve(kind: kind, sources: [again.source]).settings
            #expect(a == b, "\(entry.name): show does not read back")
        }
    }

    @Test func shippedPresetsAreEnoughAndDiffer() throws {
        let list = try PresetLibrary.list().filter { !$0.isUser }
        #expect(list.count >= 8)
        #expect(Set(list.compactMap(\.kind)) == [.image, .zoom, .redream])
        let dir = try tempDir("preset-song")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try #require(Sounds.clicks(dir + "/song.wav", bpm: 120, seconds: 3))
        let settings = try list.map { e -> JobSettings in
            let p = try PresetLibrary.find(e.path)
            return try JobSettings.resolve(kind: p.kind ?? .zoom, sources: [p.source] + soundtrack(p, dir + "/song.wav")).settings
        }
        // A preset that follows a song says so: without one, it is refused with the reason.
        var listening = 0
        for e in list {
            let p = try PresetLibrary.find(e.path)
            guard !soundtrack(p, "x").isEmpty else { continue }
            listening += 1
            #expect(p.description.contains("--audio"), "\(e.name): the description says it needs --audio")
            var refusal = ""
            do { _ = try ZoomJob.resolve(input: "noise", output: dir + "/x.mp4", sources: [p.source]) } catch { refusal = "\(error)" }
            #expect(refusal.contains("--audio"), "\(e.name) without a song: \(refusal)")
        }
        #expect(listening >= 2, "beat-zoom and bass-dream follow a song: \(listening) found")
        #expect(Set(settings.map { "\($0)" }).count == settings.count, "every preset sets something different")
    }

    /// Every shipped preset renders a short small video (or picture) with the real models.
    @Test(.enabled(if: CLI.installed("efficientnet-lite0") && CLI.installed("vgg16-hed"), "needs both models (scripts/test.sh installs them)"))
    func everyShippedPresetRenders() throws {
        let dir = try tempDir("preset-render")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writePan(dir + "/clip.mp4", frames: 2, width: 64, height: 64)
        var rendered: [JobKind: Int] = [:]
        defer { #expect(rendered[.image, default: 0] >= 1 && rendered[.zoom, default: 0] >= 4 && rendered[.redream, default: 0] >= 2, "presets rendered by kind: \(rendered)") }
        for entry in try PresetLibrary.list() where !entry.isUser {
            rendered[(try PresetLibrary.find(entry.path)).kind ?? .zoom, default: 0] += 1
            let p = try PresetLibrary.find(entry.path)
            // Keep keyframed presets whole in time (1 fps), everything else 2 frames, all 64×64.
            let keyed = try JobSettings.resolve(kind: p.kind ?? .zoom, sources: [p.source]).settings.isKeyframed
            var small: [(String, SettingValue)] = [("iterations", .text("1")), ("octaves", .text("1"))]
            if !soundtrack(p, "").isEmpty {
                try #require(Sounds.clicks(dir + "/song.wav", bpm: 120, seconds: 3))
                small.append(("audio", .text(dir + "/song.wav")))
            }
            let out = dir + "/" + entry.name
            switch p.kind ?? .zoom {
            case .image:
                small.append(("max-side", .text("64")))
                let job = try ImageJob.resolve(input: "samples/chelsea.png".absolute, output: out + ".png", sources: [p.source, .flags(small)])
                _ = try job.run()
                #expect(try ImageIO.read(out + ".png").width == 64)
            case .zoom:
                small += [("size", .text("64x64"))] + (keyed ? [("fps", .text("1"))] : [("frames", .text("2"))])
                let job = try ZoomJob.resolve(input: "samples/chelsea.png".absolute, output: out + ".mp4", sources: [p.source, .flags(small)])
                let s = try job.run(shouldStop: { false })
                #expect(s.width == 64 && s.height == 64 && s.framesRendered == (keyed ? job.settings.frameCount : 2), "\(entry.name)")
            case .redream:
                small.append(("max-side", .text("64")))
                let s = try RedreamJob.resolve(input: dir + "/clip.mp4", output: out + ".mp4", sources: [p.source, .flags(small)]).run(shouldStop: { false })
                #expect(s.framesRendered == 2, "\(entry.name)")
            }
        }
    }

    @Test func anUnreadablePresetFolderIsAClearError() throws {
        let home = try tempDir("home")
        defer { try? FileManager.default.removeItem(atPath: home) }
        try Data("not a folder".utf8).write(to: URL(fileURLWithPath: home + "/presets"))
        try CLI.expectFailure(["presets", "list"], [home + "/presets", "not a folder"], status: 1, environment: ["DREAMVIDEO_HOME": home])
        // A user preset is found by name, before a shipped one.
        try FileManager.default.removeItem(atPath: home + "/presets")
        try FileManager.default.createDirectory(atPath: home + "/presets", withIntermediateDirectories: true)
        try "description: \"mine\"\nkind: zoom\nzoom: 1.01\n".write(toFile: home + "/presets/classic-eyes.yaml", atomically: true, encoding: .utf8)
        let r = try CLI.run(["presets", "list"], environment: ["DREAMVIDEO_HOME": home])
        #expect(r.stdout.contains("mine  (yours)") && r.stdout.split(separator: "\n").filter { $0.hasPrefix("classic-eyes") }.count == 1, "\(r.stdout)")
        let show = try CLI.run(["presets", "show", "classic-eyes"], environment: ["DREAMVIDEO_HOME": home])
        #expect(show.stdout.contains("zoom: 1.01"), "\(show.stdout)")
    }

    @Test func invalidPresetRendersNothing() throws {
        let dir = try tempDir("preset-bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "zoom: 9\n".write(toFile: dir + "/bad.yaml", atomically: true, encoding: .utf8)
        try CLI.expectFailure(["zoom", "samples/chelsea.png", "-o", dir + "/o.mp4", "--preset", dir + "/bad.yaml"],
                              [dir + "/bad.yaml:1: zoom must be 0.25…4"], status: 64)
        try CLI.expectFailure(["zoom", "samples/chelsea.png", "-o", dir + "/o.mp4", "--preset", "nosuch"], ["no preset named 'nosuch'", "classic-eyes"], status: 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["bad.yaml"])
    }
}

extension String {
    /// A path relative to the package root made absolute.
    var absolute: String { hasPrefix("/") ? self : CLI.root + "/" + self }
}

/// A song for a preset whose formulas follow one (`beat`, `bass`…): the `audio` setting, or nothing.
func soundtrack(_ p: Preset, _ song: String) -> [SettingSource] {
    let words = Set(p.source.entries.flatMap { $0.value.description.split { !$0.isLetter }.map(String.init) })
    return words.isDisjoint(with: ["loudness", "onset", "beat", "bass", "mid", "treble"]) ? [] : [.api(["audio": .text(song)])]
}
