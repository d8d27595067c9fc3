import Foundation

/// A radix-2 complex fast Fourier transform (power-of-two sizes), for spectra of pictures.
public enum FFT {
    /// In-place forward transform of `re` + i·`im` (length a power of two).
    public static func transform(_ re: inout [Double], _ im: inout [Double], inverse: Bool = false) {
        let n = re.count
        precondition(n == im.count && n > 0 && n & (n - 1) == 0, "FFT size must be a power of two")
        // Bit-reversal permutation.
        var j = 0
        for i in 1..<n {
            var bit = n >> 1
            while j & bit != 0 { j ^= bit; bit >>= 1 }
            j |= bit
            if i < j { re.swapAt(i, j); im.swapAt(i, j) }
        }
        var len = 2
        while len <= n {
            let angle = (inverse ? 2 : -2) * Double.pi / Double(len)
            let wr = cos(angle), wi = sin(angle)
            var start = 0
            while start < n {
                var cr = 1.0, ci = 0.0
                for k in 0..<(len / 2) {
                    let a = start + k, b = a + len / 2
                    let tr = re[b] * cr - im[b] * ci, ti = re[b] * ci + im[b] * cr
                    re[b] = re[a] - tr; im[b] = im[a] - ti
                    re[a] += tr; im[a] += ti
                    let nr = cr * wr - ci * wi
                    ci = cr * wi + ci * wr; cr = nr
                }
                start += len
            }
            len <<= 1
        }
        if inverse { for i in 0..<n { re[i] /= Double(n); im[i] /= Double(n) } }
    }

    /// 2-D transform of an n×n array (row-major), in place.
    public static func transform2D(_ re: inout [Double], _ im: inout [Double], size n: Int, inverse: Bool = false) {
        precondition(re.count == n * n && im.count == n * n)
        var r = [Double](repeating: 0, count: n), i = r
        for y in 0..<n {
            for x in 0..<n { r[x] = re[y * n + x]; i[x] = im[y * n + x] }
            transform(&r, &i, inverse: inverse)
            for x in 0..<n { re[y * n + x] = r[x]; im[y * n + x] = i[x] }
        }
        for x in 0..<n {
            for y in 0..<n { r[y] = re[y * n + x]; i[y] = im[y * n + x] }
            transform(&r, &i, inverse: inverse)
            for y in 0..<n { re[y * n + x] = r[y]; im[y * n + x] = i[y] }
        }
    }

    /// The power spectrum |FFT|² of an n×n plane (row-major), its mean removed and a Hann window applied.
    public static func powerSpectrum(_ plane: [Double], size n: Int) -> [Double] {
        precondition(plane.count == n * n)
        let mean = plane.reduce(0, +) / Double(plane.count)
        var re = [Double](repeating: 0, count: n * n), im = re
        for y in 0..<n {
            let wy = 0.5 - 0.5 * cos(2 * Double.pi * Double(y) / Double(n - 1))
            for x in 0..<n {
                let wx = 0.5 - 0.5 * cos(2 * Double.pi * Double(x) / Double(n - 1))
                re[y * n + x] = (plane[y * n + x] - mean) * wx * wy
            }
        }
        transform2D(&re, &im, size: n)
        return (0..<(n * n)).map { re[$0] * re[$0] + im[$0] * im[$0] }
    }

    /// The slope of the radially averaged power spectrum of an n×n plane on log–log axes (natural
    /// pictures: about −2; finer texture: flatter). Hann-windowed; fitted over radii 2…0.8·n/2.
    public static func spectrumSlope(_ plane: [Double], size n: Int) -> Double {
        spectrumSlope(power: powerSpectrum(plane, size: n), size: n)
    }

    public static func spectrumSlope(power: [Double], size n: Int) -> Double {
        let half = n / 2
        var radial = [Double](repeating: 0, count: half + 1), count = radial
        for y in 0..<n {
            let fy = y <= half ? y : y - n
            for x in 0..<n {
                let fx = x <= half ? x : x - n
                let r = Int((Double(fx * fx + fy * fy)).squareRoot().rounded())
                if r >= 1 && r <= half { radial[r] += power[y * n + x]; count[r] += 1 }
            }
        }
        var xs: [Double] = [], ys: [Double] = []
        for r in 2...Int(0.8 * Double(half)) where count[r] > 0 && radial[r] > 0 {
            xs.append(log(Double(r))); ys.append(log(radial[r] / count[r]))
        }
        guard xs.count >= 2 else { return 0 }
        let mx = xs.reduce(0, +) / Double(xs.count), my = ys.reduce(0, +) / Double(ys.count)
        var sxy = 0.0, sxx = 0.0
        for k in 0..<xs.count { sxy += (xs[k] - mx) * (ys[k] - my); sxx += (xs[k] - mx) * (xs[k] - mx) }
        return sxx > 0 ? sxy / sxx : 0
    }

    /// How much more a picture's structure at periods of 7–64 px runs along the pixel grid's diagonals than
    /// along its rows and columns: the power in ±10° wedges about 45° and 135° over that in wedges about 0°
    /// and 90°, each radial band first divided by its own mean over all directions (so every band counts the
    /// same). Photos and healthy dreams: about 0.6–0.9 (more structure along rows and columns); a zoom grown
    /// into a lattice of straight diagonal lines: 1.3–1.7.
    public static func diagonalExcess(power: [Double], size n: Int) -> Double {
        let half = n / 2
        let lo = Double(n) / 64, hi = Double(n) / 7
        guard hi > lo * 1.5, lo >= 1 else { return 1 }
        let bands = 6
        var sums = [[Double]](repeating: [Double](repeating: 0, count: 180), count: bands)
        var counts = sums
        for y in 0..<n {
            let fy = y <= half ? y : y - n
            for x in 0..<n {
                let fx = x <= half ? x : x - n
                let r = (Double(fx * fx + fy * fy)).squareRoot()
                guard r >= lo && r < hi else { continue }
                let b = Swift.min(bands - 1, Int(Double(bands) * log(r / lo) / log(hi / lo)))
                var theta = atan2(Double(fy), Double(fx)) * 180 / Double.pi
                if theta < 0 { theta += 180 }
                let t = Int(theta.rounded()) % 180
                sums[b][t] += power[y * n + x]; counts[b][t] += 1
            }
        }
        var profile = [Double](repeating: 0, count: 180), used = 0
        for b in 0..<bands {
            let density = (0..<180).map { counts[b][$0] > 0 ? sums[b][$0] / counts[b][$0] : 0 }
            let mean = density.reduce(0, +) / 180
            guard mean > 0 else { continue }
            for t in 0..<180 { profile[t] += density[t] / mean }
            used += 1
        }
        guard used > 0 else { return 1 }
        func wedge(_ centre: Double) -> [Int] { (0..<180).filter { t in let d = abs(Double(t) - centre); return Swift.min(d, 180 - d) <= 10 } }
        let diag = (wedge(45) + wedge(135)).map { profile[$0] }, axis = (wedge(0) + wedge(90)).map { profile[$0] }
        let a = axis.reduce(0, +) / Double(axis.count)
        return a > 0 ? (diag.reduce(0, +) / Double(diag.count)) / a : 1
    }
}
