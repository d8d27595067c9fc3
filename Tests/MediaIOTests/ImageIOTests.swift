import Foundation
import MediaIO
import Testing

func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("dreamvideo-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

func pattern(width: Int, height: Int, phase: Int = 0) -> RGBImage {
    var p = [UInt8](repeating: 0, count: width * height * 3)
    for y in 0..<height {
        for x in 0..<width {
            let i = (y * width + x) * 3
            p[i] = UInt8((x * 255) / max(1, width - 1))
            p[i + 1] = UInt8((y * 255) / max(1, height - 1))
            // A smooth moving wave: sharp edges would only measure 4:2:0 chroma subsampling.
            p[i + 2] = UInt8(128 + 100 * sin(Double(x + 2 * y + 3 * phase) / 5))
        }
    }
    return RGBImage(width: width, height: height, pixels: p)
}

@Suite("Still images through FFmpeg")
struct ImageIOTests {
    @Test func pngRoundTripIsExact() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for (w, h) in [(64, 48), (31, 17), (1, 1)] {
            let img = pattern(width: w, height: h)
            let path = dir.appendingPathComponent("p\(w).png").path
            try ImageIO.write(img, to: path)
            #expect(try ImageIO.read(path) == img)
        }
        // No temporary files are left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).allSatisfy { !$0.hasPrefix(".") })
    }

    @Test func jpegRoundTripIsClose() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let img = pattern(width: 80, height: 60)
        let path = dir.appendingPathComponent("p.jpg").path
        try ImageIO.write(img, to: path, jpegQuality: 95)
        let back = try ImageIO.read(path)
        #expect(back.width == 80 && back.height == 60)
        let meanErr = zip(back.pixels, img.pixels).map { abs(Int($0) - Int($1)) }.reduce(0, +) / img.pixels.count
        #expect(meanErr < 8, "mean abs error \(meanErr)")
    }

    @Test func badInputsGiveOneLineErrors() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = dir.appendingPathComponent("nope.png").path
        #expect(throws: MediaError.cannotOpen(path: missing, reason: "no such file")) { try ImageIO.read(missing) }
        let text = dir.appendingPathComponent("notes.png").path
        try Data("this is not an image at all".utf8).write(to: URL(fileURLWithPath: text))
        do { _ = try ImageIO.read(text); Issue.record("text file decoded") } catch {
            #expect("\(error)".hasPrefix(text)); #expect(!"\(error)".contains("\n"))
        }
        // A PNG cut in half.
        let good = dir.appendingPathComponent("good.png").path
        try ImageIO.write(pattern(width: 64, height: 64), to: good)
        let data = try Data(contentsOf: URL(fileURLWithPath: good))
        let cut = dir.appendingPathComponent("cut.png").path
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: cut))
        #expect(throws: MediaError.self) { try ImageIO.read(cut) }
        #expect(throws: MediaError.self) { try ImageIO.read(dir.path) }
        #expect(throws: MediaError.self) { try ImageIO.write(pattern(width: 4, height: 4), to: dir.appendingPathComponent("missing/x.png").path) }
        #expect(throws: MediaError.self) { try ImageIO.write(pattern(width: 4, height: 4), to: dir.appendingPathComponent("x.gif").path) }
    }
}
