import DreamVideo
import Foundation
import Testing

// README-BEGIN
/// Renders a 10-frame zoom from `seed` into `output` with the default model.
func renderZoom(seed: String, output: String) throws {
    let job = try ZoomJob.resolve(input: seed, output: output, sources: [.api([
        "frames": .number(10),
        "size": .text("320x212"),
        "zoom": .text("0:(1.02) smooth, 9:(1.08)"),
        "layer": .list([.text("blocks.9")]),
    ])])
    let summary = try job.run(shouldStop: { false })
    print("wrote \(summary.output): \(summary.totalFrames) frames in \(Int(summary.wallSeconds)) s")
}
// README-END

@Suite("Library example")
struct LibraryExampleTests {
    /// The library page (docs/library.md) shows this file's example verbatim, so its code compiles.
    @Test func readmeShowsTheCompiledExample() throws {
        let source = try String(contentsOfFile: #filePath, encoding: .utf8)
        let begin = try #require(source.range(of: "// README-BEGIN\n")), end = try #require(source.range(of: "// README-END"))
        let example = String(source[begin.upperBound..<end.lowerBound])
        let page = try String(contentsOfFile: CLI.root + "/docs/library.md", encoding: .utf8)
        #expect(page.contains(example), "docs/library.md must contain the example of LibraryExampleTests.swift verbatim")
    }

    @Test(.enabled(if: CLI.installed("efficientnet-lite0"), "needs efficientnet-lite0 (scripts/test.sh installs it)"))
    func exampleRenders() throws {
        let dir = try tempDir("example")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try renderZoom(seed: CLI.root + "/samples/chelsea.png", output: dir + "/zoom.mp4")
        #expect(try SegmentInfoProbe.frames(dir + "/zoom.mp4") == 10)
    }
}

import MediaIO
enum SegmentInfoProbe {
    static func frames(_ path: String) throws -> Int { try SegmentInfo(path: path).packets }
}
