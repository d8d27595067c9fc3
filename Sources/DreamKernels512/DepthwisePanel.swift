// The depthwise-convolution kernel for CPUs with AVX-512: DreamEngine's `DepthwiseKernel.run` with each 16-wide
// vector in one 512-bit register instead of two 256-bit ones. The same fused multiply-adds in the same order, so
// its results are bit-identical to the AVX2 kernel's. Entered only after DreamEngine has checked the CPU.
public enum Depthwise512 {
    typealias V = SIMD16<Float>

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    @inline(__always) static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self) }

    /// out (oh × ow) = Σ_{ky,kx} w[ky·kw + kx] · padded[oy·s + ky][ox·s + kx] over a padded plane of rows of `width`
    /// floats; for stride 2 each row holds its even columns at 0 ..< half and its odd ones at half ..< 2·half.
    /// `tail` holds 16 floats.
    public static func convolve(_ src: UnsafePointer<Float>, width: Int, half: Int, stride: Int, weights w: UnsafePointer<Float>,
                                kh: Int, kw: Int, out: UnsafeMutablePointer<Float>, oh: Int, ow: Int, tail: UnsafeMutablePointer<Float>) {
        switch (kh, kw, stride) {
        case (3, 3, 1): run(src, width, half, 1, w, 3, 3, out, oh, ow, tail)
        case (3, 3, 2): run(src, width, half, 2, w, 3, 3, out, oh, ow, tail)
        case (5, 5, 1): run(src, width, half, 1, w, 5, 5, out, oh, ow, tail)
        case (5, 5, 2): run(src, width, half, 2, w, 5, 5, out, oh, ow, tail)
        case (1, 1, 1): run(src, width, half, 1, w, 1, 1, out, oh, ow, tail)
        case (1, 2, 1): run(src, width, half, 1, w, 1, 2, out, oh, ow, tail)
        case (2, 1, 1): run(src, width, half, 1, w, 2, 1, out, oh, ow, tail)
        case (2, 2, 1): run(src, width, half, 1, w, 2, 2, out, oh, ow, tail)
        case (2, 3, 1): run(src, width, half, 1, w, 2, 3, out, oh, ow, tail)
        case (3, 2, 1): run(src, width, half, 1, w, 3, 2, out, oh, ow, tail)
        default: run(src, width, half, stride, w, kh, kw, out, oh, ow, tail)
        }
    }

    @inline(__always)
    static func run(_ src: UnsafePointer<Float>, _ srcW: Int, _ half: Int, _ s: Int, _ w: UnsafePointer<Float>, _ kh: Int, _ kw: Int,
                    _ out: UnsafeMutablePointer<Float>, _ oh: Int, _ ow: Int, _ tail: UnsafeMutablePointer<Float>) {
        @inline(__always) func column(_ kx: Int) -> Int { s == 1 ? kx : (kx & 1) * half + (kx >> 1) }
        for oy in 0..<oh {
            let orow = out + oy * ow
            let rows = src + oy * s * srcW
            var ox0 = 0
            while ox0 + 32 <= ow {
                var a0 = V(repeating: 0), a1 = V(repeating: 0)
                for ky in 0..<kh {
                    let r = rows + ky * srcW + ox0
                    for kx in 0..<kw {
                        let wv = V(repeating: w[ky * kw + kx]), p = r + column(kx)
                        a0 = a0.addingProduct(wv, load(p)); a1 = a1.addingProduct(wv, load(p + 16))
                    }
                }
                store(a0, orow + ox0); store(a1, orow + ox0 + 16)
                ox0 += 32
            }
            while ox0 < ow {
                var acc = V(repeating: 0)
                for ky in 0..<kh {
                    let r = rows + ky * srcW + ox0
                    for kx in 0..<kw { acc = acc.addingProduct(V(repeating: w[ky * kw + kx]), load(r + column(kx))) }
                }
                if ox0 + 16 <= ow {
                    store(acc, orow + ox0)
                } else {
                    store(acc, tail)
                    for i in 0..<(ow - ox0) { orow[ox0 + i] = tail[i] }
                }
                ox0 += 16
            }
        }
    }
}
