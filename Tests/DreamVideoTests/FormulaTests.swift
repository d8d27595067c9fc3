import DreamEngine
import DreamVideo
import Foundation
import MediaIO
import Testing

@Suite("Formulas in schedules")
struct ExpressionTests {
    func value(_ text: String, frame: Double = 0, fps: Double = 30, frames: Int? = 300) throws -> Double {
        try Formula(text).evaluate(.init(frame: frame, fps: fps, frames: frames))
    }

    @Test func arithmeticFunctionsAndVariables() throws {
        #expect(try value("1+2*3") == 7)
        #expect(try value("(1+2)*3") == 9)
        #expect(try value("2^3^2") == 512, "right-associative")
        #expect(try value("-2^2") == -4)
        #expect(try value("7 % 3") == 1 && value("-1 % 3") == 2)
        #expect(try value("t", frame: 45) == 1.5 && value("f", frame: 45) == 45)
        #expect(try value("T") == 10 && value("F") == 300)
        #expect(abs(try value("sin(pi/2) + cos(0) + e") - (2 + M_E)) < 1e-12)
        #expect(try value("min(3, 1, 2) + max(1, 5) + clamp(7, 0, 2) + abs(-1)") == 1 + 5 + 2 + 1)
        #expect(try value("floor(1.7) + ceil(1.2) + round(2.5) + sqrt(16) + pow(2, 10)") == 1 + 2 + 3 + 4 + 1024)
        #expect(try value("lerp(10, 20, 0.25)") == 12.5 && value("smoothstep(0, 1, 0.5)") == 0.5)
        #expect(try value("where(t < 1, 1.05, 1)", frame: 10) == 1.05 && value("where(t < 1, 1.05, 1)", frame: 40) == 1)
        #expect(abs(try value("log(exp(2))") - 2) < 1e-12)
        #expect(try value("1.0025+0.002*sin(1.25*3.14*t/30)") == 1.0025)
    }

    @Test func mistakesSayWhereAndWhat() throws {
        func message(_ text: String) -> String { do { _ = try Formula(text); return "accepted" } catch { return error.message } }
        #expect(message("1+0.02*sinn(t)") == "unknown function 'sinn' at column 8 (did you mean sin?)")
        #expect(message("1+tt").contains("unknown name 'tt' at column 3"))
        #expect(message("(1+2").contains("missing ')'"))
        #expect(message("1+").contains("ends where a value should follow"))
        #expect(message("1 2").contains("unexpected '2' at column 3"))
        #expect(message("pow(1)").contains("pow at column 1 takes 2 arguments, got 1"))
        #expect(message("1e999").contains("not a finite number"))
        #expect(message("").contains("empty"))
        #expect(message("where(f >= 2 && 1, 1, 0)").contains("unexpected '&'"))
        #expect(message(String(repeating: "(", count: 200) + "1" + String(repeating: ")", count: 200)).contains("nested more than 100 deep"))
        #expect(message(String(repeating: "(", count: 10_000) + "1" + String(repeating: ")", count: 10_000)).contains("characters long"))
        #expect(message(String(repeating: "-", count: 5_000) + "1").contains("nested more than 100 deep"))
        #expect(message(String(repeating: "1+", count: 600_000) + "1").contains("characters long"))
        #expect(message("f = 2").contains("not an operator"))
    }

    @Test func schedulesHoldFormulasAndCheckEveryFrame() throws {
        // A formula as the whole schedule, a formula in a keyframe, a pair with a formula.
        let s = try Schedule(parsing: "1 + 0.01*sin(2*pi*t)")
        #expect(!s.isConstant && s.hasFormulas && s.value(at: 0, fps: 4) == 1 && abs(s.value(at: 1, fps: 4) - 1.01) < 1e-12)
        let k = try Schedule(parsing: "0:(1), 10:(1 + t/100) smooth, 20:(1)")
        #expect(k.value(at: 10, fps: 10) == 1.01)
        #expect(try Schedule(parsing: k.description) == k, "prints back the formula: \(k.description)")
        let pair = try Schedule(parsing: "2*sin(t), -1", arity: 2)
        #expect(pair.values(at: 0, fps: 30) == [0, -1])
        // Through the settings: checked at every frame against the setting's range, naming the first bad frame.
        func zoom(_ values: [String: SettingValue]) -> String {
            do {
                _ = try ZoomJob.resolve(input: "noise", output: "/tmp/never.mp4", sources: [.api(["size": .text("64x64"), "frames": .number(100)].merging(values) { _, b in b })])
                return "accepted"
            } catch { return "\(error)" }
        }
        #expect(zoom(["zoom": .text("1 + 0.02*sin(t)")]) == "accepted")
        #expect(zoom(["zoom": .text("0:(1), 2s:(1 + t/1000)")]) == "accepted")
        #expect(zoom(["zoom": .text("1.1 + 1/(f - 50)/1e9")]).contains("the formula gives +inf at frame 50 (1.667s)"), "division by zero at one frame")
        #expect(zoom(["zoom": .text("2 - f/10")]).contains("the formula gives 0.2 at frame 18 (0.6s); it must be 0.25…4"), "\(zoom(["zoom": .text("2 - f/10")]))")
        #expect(zoom(["zoom": .text("sqrt(f - 99.5) + 1")]).contains("NaN at frame 0"))
        #expect(zoom(["zoom": .text("1 + 0.02*sinn(t)")]).contains("unknown function 'sinn' at column 10 (did you mean sin?)"))
        #expect(zoom(["iterations": .text("2 + f/50")]).contains("must be an integer"), "an integer setting refuses 2.02")
        #expect(zoom(["iterations": .text("2 + floor(f/50)")]) == "accepted")
        #expect(zoom(["rotate": .text("0:(0), 50:(t*T/100)")]) == "accepted")
    }

    /// The formula changes the frames as its numbers would: a zoom with `zoom: 1.05` and `zoom: 1 + 0.05` (a
    /// formula) at every frame renders identical settings per frame.
    @Test func aFormulaEvaluatesPerFrame() throws {
        var s = try JobSettings.defaults(for: .zoom, model: "efficientnet-lite0")
        s.frames = 90
        s.zoom = try Schedule(parsing: "1 + 0.01*where(f < 30, 1, 2) + F/1e5")
        let a = s.frameSettings(at: 0).transform.zoom, b = s.frameSettings(at: 60).transform.zoom
        #expect(abs(Double(a) - 1.0109) < 1e-6 && abs(Double(b) - 1.0209) < 1e-6, "\(a) \(b)")
    }

    /// `--preview`: the motion alone (no dream), each frame's values written in its corner, never carried into
    /// the next frame.
    @Test func aPreviewShowsTheMotionAndItsValues() throws {
        let f = try ZoomFixture("preview")
        defer { f.remove() }
        // No motion: every frame is the seed, but for the corner that says which frame it is.
        _ = try f.job("p", frames: 8, ["preview": .bool(true), "zoom": .number(1), "rotate": .number(0), "translate": .text("0,0"),
                                       "size": .text("192x128"), "grid-turn": .number(0),
                                       "detail-damping": .number(0), "seed-blend": .number(0), "renormalize": .number(0)]).run(store: syntheticStore, shouldStop: { false })
        let frames = try (0..<8).map { try ImageIO.read(f.path("p") + String(format: "/frame_%06d.png", $0)) }
        func region(_ img: RGBImage, rows: Range<Int>) -> [UInt8] {
            rows.flatMap { y in Array(img.pixels[(y * img.width * 3)..<((y + 1) * img.width * 3)]) }
        }
        let below = 40..<128  // under the two lines of values
        #expect(frames.allSatisfy { region($0, rows: below) == region(frames[0], rows: below) }, "no dream, no motion: the picture stands still")
        #expect(region(frames[1], rows: 0..<20) != region(frames[7], rows: 0..<20), "the frame number changes in the corner")
        let darkness = frames.map { img in region(img, rows: 0..<20).map(Int.init).reduce(0, +) }
        #expect(abs(darkness[1] - darkness[7]) < darkness[1] / 10, "the box is not darkened again each frame: \(darkness)")
        let lit = region(frames[3], rows: 0..<20).filter { $0 == 255 }.count
        #expect(lit > 100, "white text in the corner (\(lit) lit values)")
    }
}
