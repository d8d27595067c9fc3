import Foundation
import MediaIO

/// The `--frames-dir` folder a render also writes its frames into (`frame_000000.png` …). A marker
/// (`.dreamvideo-frames.json`) names the output whose render owns it, so frame files that render did not
/// write — the user's own, or another render's sharing the folder — are never replaced without
/// `--overwrite`.
enum FramesFolder {
    static let markerName = ".dreamvideo-frames.json"

    struct Owner: Codable, Equatable {
        var tool = "dreamvideo"
        var output: String
    }

    /// Whether `name` is a frame file a render writes.
    static func isFrameFile(_ name: String) -> Bool {
        guard name.hasPrefix("frame_"), name.hasSuffix(".png") else { return false }
        let digits = name.dropFirst(6).dropLast(4)
        return digits.count >= 6 && digits.allSatisfy { $0.isASCII && $0.isNumber }
    }

    static func owner(of dir: String) -> Owner? {
        FileManager.default.contents(atPath: dir + "/" + markerName).flatMap { try? JSONDecoder().decode(Owner.self, from: $0) }
    }

    static func canonical(_ output: String) -> String {
        URL(fileURLWithPath: output).standardizedFileURL.resolvingSymlinksInPath().path
    }

    /// Why the render of `output` may not write frames into `dir` (nil: it may): frame files are there that
    /// a render of another output, or no render at all, wrote.
    static func refusal(_ dir: String, for output: String, overwrite: Bool) -> String? {
        guard !overwrite, let names = try? FileManager.default.contentsOfDirectory(atPath: dir),
              let example = names.sorted().first(where: isFrameFile) else { return nil }
        if let o = owner(of: dir), o.tool == "dreamvideo" {
            if o.output == canonical(output) { return nil }
            return "\(dir): holds the frames of another render (\(o.output)); give each render its own --frames-dir, or pass --overwrite"
        }
        return "\(dir): holds frame files dreamvideo did not write (\(example)…); move them away, choose another --frames-dir, or pass --overwrite"
    }

    /// Creates `dir` if needed and marks it as the frames folder of `output`'s render.
    static func take(_ dir: String, for output: String, overwrite: Bool) throws {
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw DreamVideoError.invalidArgument("\(dir): cannot create the frames folder (\((error as NSError).localizedFailureReason ?? error.localizedDescription))")
        }
        if let why = refusal(dir, for: output, overwrite: overwrite) { throw DreamVideoError.invalidArgument(why) }
        let owner = Owner(output: canonical(output))
        if self.owner(of: dir) != owner {
            try AtomicFile.write(try JSONEncoder().encode(owner), to: dir + "/" + markerName)
        }
    }
}
