import DreamEngine
import Foundation
import Testing

@Suite("Laplacian pyramid")
struct LaplacianTests {
    /// A strong coarse wave plus a faint pixel-level checkerboard.
    func twoBands(fine: Float) -> (Tensor, coarse: [Float], checker: [Float]) {
        let h = 64, w = 96
        var x = Tensor(zeros: Shape(1, h, w))
        var coarse = [Float](repeating: 0, count: h * w), checker = coarse
        for y in 0..<h {
            for i in 0..<w {
                coarse[y * w + i] = sin(2 * .pi * Float(i) / 48)
                checker[y * w + i] = (i + y) % 2 == 0 ? 1 : -1
                x.data[y * w + i] = 10 * coarse[y * w + i] + fine * checker[y * w + i]
            }
        }
        return (x, coarse, checker)
    }

    func amplitude(_ t: Tensor, _ pattern: [Float]) -> Float {
        zip(t.data, pattern).map(*).reduce(0, +) / pattern.map { $0 * $0 }.reduce(0, +)
    }

    @Test func halvingKeepsConstantsAndRemovesTheFinestWave() {
        var c = Tensor(zeros: Shape(2, 9, 14))
        for i in 0..<c.count { c.data[i] = 3 }
        let h = ImageOps.halved(c)
        #expect(h.shape == Shape(2, 5, 7))
        #expect(h.data.allSatisfy { abs($0 - 3) < 1e-5 })
        let (x, _, checker) = twoBands(fine: 1)
        var only = x
        for i in 0..<only.count { only.data[i] = checker[i] }
        let half = ImageOps.halved(only)
        for y in 2..<(half.shape.h - 2) {
            for i in 2..<(half.shape.w - 2) {
                #expect(abs(half[0, y, i]) < 1e-5, "the filter has a zero at the Nyquist frequency (away from the clamped edges)")
            }
        }
    }

    @Test func bandsComeOutEqualised() {
        let (x, coarse, checker) = twoBands(fine: 0.05)
        let before = amplitude(x, checker) / amplitude(x, coarse)
        #expect(before < 0.01)
        let y = ImageOps.laplacianNormalized(x, levels: 4)
        let after = amplitude(y, checker) / amplitude(y, coarse)
        #expect(after > 8 * before, "the faint fine band is lifted toward the coarse band's level: \(before) → \(after)")
        // The scale of the input does not matter; one level is plain RMS normalisation.
        var big = x
        big.scale(by: 1000)
        let z = ImageOps.laplacianNormalized(big, levels: 4)
        #expect(zip(y.data, z.data).allSatisfy { abs($0 - $1) < 1e-3 * max(1, abs($0)) })
        let one = ImageOps.laplacianNormalized(x, levels: 1)
        let rms = (x.sumOfSquares() / Double(x.count)).squareRoot()
        #expect(zip(one.data, x.data).allSatisfy { abs($0 - $1 / Float(rms)) < 1e-4 })
    }
}
