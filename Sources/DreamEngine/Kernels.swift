// Vector helpers for the hot element-wise loops. The optimiser does not vectorise these loops on its
// own (it cannot rule out aliasing between the pointers), so they use SIMD16<Float> explicitly.

typealias F16 = SIMD16<Float>

@inline(__always) func load16(_ p: UnsafePointer<Float>) -> F16 { UnsafeRawPointer(p).loadUnaligned(as: F16.self) }
@inline(__always) func store16(_ v: F16, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: F16.self) }

/// dst[i] += a · src[i] for i < n.
@inline(__always)
func axpy(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ a: Float, _ n: Int) {
    var i = 0
    let av = F16(repeating: a)
    while i + 16 <= n {
        store16(load16(dst + i).addingProduct(av, load16(src + i)), dst + i)
        i += 16
    }
    while i < n { dst[i] += a * src[i]; i += 1 }
}

/// dst[i] *= a for i < n.
@inline(__always)
func scaleInPlace(_ dst: UnsafeMutablePointer<Float>, _ a: Float, _ n: Int) {
    var i = 0
    let av = F16(repeating: a)
    while i + 16 <= n { store16(load16(dst + i) * av, dst + i); i += 16 }
    while i < n { dst[i] *= a; i += 1 }
}

/// dst[i] = min(max(dst[i], lo), hi) for i < n; NaN becomes lo.
@inline(__always)
func clampInPlace(_ dst: UnsafeMutablePointer<Float>, _ lo: Float, _ hi: Float, _ n: Int) {
    // A plain loop the compiler vectorises (compare, max, min, blend): the SIMD16 version with
    // `replacing(with:where:)` and `clamped` went lane by lane through the stack (7 % of a zoom frame, perf).
    // `v >= lo` is false for NaN, so NaN becomes lo.
    for i in 0..<n {
        let v = dst[i]
        dst[i] = v >= lo ? (v > hi ? hi : v) : lo
    }
}

/// dst[i] = a[i] + b[i] for i < n.
@inline(__always)
func sum(_ dst: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) {
    var i = 0
    while i + 16 <= n {
        store16(load16(a + i) + load16(b + i), dst + i)
        i += 16
    }
    while i < n { dst[i] = a[i] + b[i]; i += 1 }
}

/// dst[i] += src[i] for i < n.
@inline(__always)
func addInPlace(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ n: Int) {
    var i = 0
    while i + 16 <= n {
        store16(load16(dst + i) + load16(src + i), dst + i)
        i += 16
    }
    while i < n { dst[i] += src[i]; i += 1 }
}

/// (e0, o0, e1, o1, …, e7, o7) and (e8, o8, …, e15, o15): even and odd columns back into one row.
@inline(__always)
func interleave(_ e: F16, _ o: F16) -> (F16, F16) {
    (F16(e[0], o[0], e[1], o[1], e[2], o[2], e[3], o[3], e[4], o[4], e[5], o[5], e[6], o[6], e[7], o[7]),
     F16(e[8], o[8], e[9], o[9], e[10], o[10], e[11], o[11], e[12], o[12], e[13], o[13], e[14], o[14], e[15], o[15]))
}

/// dst[i] += a · src[2i] for i < n (stride-2 reads, de-interleaved 32 at a time).
@inline(__always)
func axpyStride2(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ a: Float, _ n: Int) {
    var i = 0
    let av = F16(repeating: a)
    while i + 16 <= n {
        let pair = UnsafeRawPointer(src + 2 * i).loadUnaligned(as: SIMD32<Float>.self)
        store16(load16(dst + i).addingProduct(av, pair.evenHalf), dst + i)
        i += 16
    }
    while i < n { dst[i] += a * src[2 * i]; i += 1 }
}

extension Activation {
    /// act(v + bias), 16 values.
    @inline(__always)
    func apply(_ v: F16, bias b: Float) -> F16 {
        switch self {
        case .none: return b == 0 ? v : v + F16(repeating: b)
        case .relu, .relu6: var u = v + F16(repeating: b); clamp(&u); return u
        }
    }

    /// act(v + bias) for one value.
    @inline(__always)
    func apply(_ v: Float, bias b: Float) -> Float {
        switch self {
        case .none: return b == 0 ? v : v + b
        case .relu: return Swift.max(v + b, 0)
        case .relu6: return Swift.min(Swift.max(v + b, 0), 6)
        }
    }

    /// y = act(y + bias) in place, `apply` 16 values at a time.
    @inline(__always)
    func applyWithBias(_ p: UnsafeMutablePointer<Float>, _ n: Int, bias b: Float) {
        if self == .none && b == 0 { return }
        var i = 0
        while i + 16 <= n { store16(apply(load16(p + i), bias: b), p + i); i += 16 }
        while i < n { p[i] = apply(p[i], bias: b); i += 1 }
    }

    /// g *= act'(y), read off the activation's output y; vectorised.
    @inline(__always)
    func maskGradientFast(_ g: UnsafeMutablePointer<Float>, output y: UnsafePointer<Float>, _ n: Int) {
        let zero = F16(repeating: 0), six = F16(repeating: 6)
        var i = 0
        switch self {
        case .none: return
        case .relu:
            while i + 16 <= n {
                var gv = load16(g + i)
                gv.replace(with: 0, where: .!(load16(y + i) .> zero))
                store16(gv, g + i); i += 16
            }
        case .relu6:
            while i + 16 <= n {
                let yv = load16(y + i)
                var gv = load16(g + i)
                gv.replace(with: 0, where: .!((yv .> zero) .& (yv .< six)))
                store16(gv, g + i); i += 16
            }
        }
        if i < n { maskGradient(g + i, output: y + i, n - i) }
    }
}
