// The 1×1-convolution micro-kernel for CPUs with AVX-512, compiled for that instruction set alone (see
// Package.swift). DreamEngine calls it only after checking the CPU has AVX-512; on every other CPU nothing
// here runs. One packed panel of 64 columns for all output rows, four rows at a time.
public enum PointwisePanel512 {
    public static let columns = 64
    typealias V = SIMD16<Float>

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    @inline(__always) static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self) }

    public static func compute(_ w: UnsafePointer<Float>, m: Int, k: Int, panel: UnsafePointer<Float>,
                               bias: UnsafePointer<Float>?, activation: Int,
                               _ c: UnsafeMutablePointer<Float>, ldc: Int, width: Int) {
        var mi = 0
        while mi < m {
            let rows = Swift.min(4, m - mi)
            let w0 = w + mi * k
            let w1 = rows > 1 ? w0 + k : w0, w2 = rows > 2 ? w0 + 2 * k : w0, w3 = rows > 3 ? w0 + 3 * k : w0
            var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
            if let bias {
                s0 = bias[mi]
                if rows > 1 { s1 = bias[mi + 1] }
                if rows > 2 { s2 = bias[mi + 2] }
                if rows > 3 { s3 = bias[mi + 3] }
            }
            var a00 = V(repeating: s0), a01 = a00, a02 = a00, a03 = a00
            var a10 = V(repeating: s1), a11 = a10, a12 = a10, a13 = a10
            var a20 = V(repeating: s2), a21 = a20, a22 = a20, a23 = a20
            var a30 = V(repeating: s3), a31 = a30, a32 = a30, a33 = a30
            var p = panel
            for kk in 0..<k {
                let b0 = load(p), b1 = load(p + 16), b2 = load(p + 32), b3 = load(p + 48)
                let x0 = V(repeating: w0[kk])
                a00 = a00.addingProduct(x0, b0); a01 = a01.addingProduct(x0, b1); a02 = a02.addingProduct(x0, b2); a03 = a03.addingProduct(x0, b3)
                let x1 = V(repeating: w1[kk])
                a10 = a10.addingProduct(x1, b0); a11 = a11.addingProduct(x1, b1); a12 = a12.addingProduct(x1, b2); a13 = a13.addingProduct(x1, b3)
                let x2 = V(repeating: w2[kk])
                a20 = a20.addingProduct(x2, b0); a21 = a21.addingProduct(x2, b1); a22 = a22.addingProduct(x2, b2); a23 = a23.addingProduct(x2, b3)
                let x3 = V(repeating: w3[kk])
                a30 = a30.addingProduct(x3, b0); a31 = a31.addingProduct(x3, b1); a32 = a32.addingProduct(x3, b2); a33 = a33.addingProduct(x3, b3)
                p += columns
            }
            if activation != 0 {
                let hi: Float = activation == 2 ? 6 : .infinity
                clamp(&a00, hi); clamp(&a01, hi); clamp(&a02, hi); clamp(&a03, hi)
                clamp(&a10, hi); clamp(&a11, hi); clamp(&a12, hi); clamp(&a13, hi)
                clamp(&a20, hi); clamp(&a21, hi); clamp(&a22, hi); clamp(&a23, hi)
                clamp(&a30, hi); clamp(&a31, hi); clamp(&a32, hi); clamp(&a33, hi)
            }
            if width == columns {
                let d0 = c + mi * ldc
                store(a00, d0); store(a01, d0 + 16); store(a02, d0 + 32); store(a03, d0 + 48)
                if rows > 1 { let d = d0 + ldc; store(a10, d); store(a11, d + 16); store(a12, d + 32); store(a13, d + 48) }
                if rows > 2 { let d = d0 + 2 * ldc; store(a20, d); store(a21, d + 16); store(a22, d + 32); store(a23, d + 48) }
                if rows > 3 { let d = d0 + 3 * ldc; store(a30, d); store(a31, d + 16); store(a32, d + 32); store(a33, d + 48) }
            } else {
                writePartial(a00, a01, a02, a03, c + mi * ldc, width)
                if rows > 1 { writePartial(a10, a11, a12, a13, c + (mi + 1) * ldc, width) }
                if rows > 2 { writePartial(a20, a21, a22, a23, c + (mi + 2) * ldc, width) }
                if rows > 3 { writePartial(a30, a31, a32, a33, c + (mi + 3) * ldc, width) }
            }
            mi += rows
        }
    }

    /// ReLU (hi = ∞) or ReLU6 (hi = 6), as the AVX2 kernel clamps: lanes below 0 become 0, above hi become hi.
    /// (Not pointwiseMax/Min: compiled for AVX-512 they stayed out-of-line calls that took a third of the time.)
    @inline(__always)
    static func clamp(_ v: inout V, _ hi: Float) {
        v.replace(with: 0, where: v .< 0)
        if hi.isFinite { v.replace(with: hi, where: v .> hi) }
    }

    /// The last, narrower panel of a row.
    @inline(never)
    static func writePartial(_ r0: V, _ r1: V, _ r2: V, _ r3: V, _ dst: UnsafeMutablePointer<Float>, _ width: Int) {
        for j in 0..<width {
            let v = j < 16 ? r0 : j < 32 ? r1 : j < 48 ? r2 : r3
            dst[j] = v[j & 15]
        }
    }
}
