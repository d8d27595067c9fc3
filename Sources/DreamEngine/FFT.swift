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

    /// The slope of the radially averaged power spectrum of an n×n plane on log–log axes (natural
    /// pictures: about −2; finer texture: flatter). Hann-windowed; fitted over radii 2…0.8·n/2.
    public static func spectrumSlope(_ plane: [Double], size n: Int) -> Double {
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
        let half = n / 2
        var power = [Double](repeating: 0, count: half + 1), count = power
        for y in 0..<n {
            let fy = y <= half ? y : y - n
            for x in 0..<n {
                let fx = x <= half ? x : x - n
                let r = Int((Double(fx * fx + fy * fy)).squareRoot().rounded())
                if r >= 1 && r <= half { power[r] += re[y * n + x] * re[y * n + x] + im[y * n + x] * im[y * n + x]; count[r] += 1 }
            }
        }
        var xs: [Double] = [], ys: [Double] = []
        for r in 2...Int(0.8 * Double(half)) where count[r] > 0 && power[r] > 0 {
            xs.append(log(Double(r))); ys.append(log(power[r] / count[r]))
        }
        guard xs.count >= 2 else { return 0 }
        let mx = xs.reduce(0, +) / Double(xs.count), my = ys.reduce(0, +) / Double(ys.count)
        var sxy = 0.0, sxx = 0.0
        for k in 0..<xs.count { sxy += (xs[k] - mx) * (ys[k] - my); sxx += (xs[k] - mx) * (xs[k] - mx) }
        return sxx > 0 ? sxy / sxx : 0
    }
}
