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

@Suite("Colour transfer")
struct ColorTransferTests {
    /// Pixels drawn from a correlated colour distribution (a palette), `count` of them as an N×1 picture.
    func palette(_ seed: UInt64, mean: (Float, Float, Float), axis: (Float, Float, Float), spread: Float, count: Int = 4096) -> Tensor {
        var rng = SeededGenerator(seed: seed)
        var t = Tensor(zeros: Shape(3, 1, count))
        for i in 0..<count {
            let a = rng.gaussian() * spread, n = rng.gaussian() * 6
            t.data[i] = mean.0 + a * axis.0 + n; t.data[count + i] = mean.1 + a * axis.1 + n * 0.5; t.data[2 * count + i] = mean.2 + a * axis.2 - n
        }
        t.clamp(0, 255)
        return t
    }

    func moments(_ t: Tensor) -> (mean: [Double], cov: [[Double]]) {
        let p = t.shape.plane
        var m = [0.0, 0.0, 0.0]
        for c in 0..<3 { for i in 0..<p { m[c] += Double(t.data[c * p + i]) } }
        m = m.map { $0 / Double(p) }
        var cov = [[Double]](repeating: [0, 0, 0], count: 3)
        for a in 0..<3 { for b in 0..<3 { for i in 0..<p { cov[a][b] += (Double(t.data[a * p + i]) - m[a]) * (Double(t.data[b * p + i]) - m[b]) } ; cov[a][b] /= Double(p) } }
        return (m, cov)
    }

    @Test func theJointDistributionIsMatchedNotEachChannel() {
        // Orange–blue along one axis (the reference) against green–magenta along another (the picture).
        let reference = palette(1, mean: (150, 110, 90), axis: (1, 0.4, -0.8), spread: 40)
        let x = palette(2, mean: (90, 160, 120), axis: (-0.6, 1, -0.5), spread: 35)
        let out = ColorTransfer(reference: reference).apply(x)
        let r = moments(reference), o = moments(out), perChannel = moments(ImageOps.matchingHistograms(x, to: reference))
        for c in 0..<3 { #expect(abs(o.mean[c] - r.mean[c]) < 1.5, "mean \(c): \(o.mean[c]) vs \(r.mean[c])") }
        var err = 0.0, errPC = 0.0, scale = 0.0
        for a in 0..<3 { for b in 0..<3 {
            err += abs(o.cov[a][b] - r.cov[a][b]); errPC += abs(perChannel.cov[a][b] - r.cov[a][b]); scale += abs(r.cov[a][b])
        } }
        #expect(err < 0.06 * scale, "covariance off by \(err / scale) of its size")
        #expect(errPC > 3 * err, "matching channels alone leaves the covariance off by \(errPC / scale); jointly \(err / scale)")
        // The reference moved onto itself stays itself.
        let same = ColorTransfer(reference: reference).apply(reference)
        let d = zip(same.data, reference.data).map { Double(abs($0 - $1)) }.reduce(0, +) / Double(reference.count)
        #expect(d < 1.0, "the reference onto itself moves by \(d) levels")
    }
}
