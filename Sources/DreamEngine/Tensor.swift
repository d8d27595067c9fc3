// Dimension legend used across the engine:
//   C channels, H height, W width; a tensor is one image (batch 1) in CHW order, float32, contiguous.

/// The shape of a batch-1 feature map: channels × height × width.
public struct Shape: Hashable, Sendable, CustomStringConvertible {
    public var c: Int
    public var h: Int
    public var w: Int
    public init(_ c: Int, _ h: Int, _ w: Int) { self.c = c; self.h = h; self.w = w }
    public var count: Int { c * h * w }
    public var plane: Int { h * w }
    public var description: String { "\(c)×\(h)×\(w)" }
}

/// A batch-1 CHW float32 tensor with value semantics (copy-on-write storage).
public struct Tensor: Sendable {
    public var shape: Shape
    public var data: [Float]

    public init(shape: Shape, data: [Float]) {
        precondition(data.count == shape.count, "tensor data count \(data.count) does not match shape \(shape)")
        self.shape = shape
        self.data = data
    }

    public init(zeros shape: Shape) {
        self.shape = shape
        self.data = [Float](repeating: 0, count: shape.count)
    }

    /// A tensor whose every element the caller overwrites before reading (skips zero-filling).
    init(uninitialized shape: Shape) {
        self.shape = shape
        self.data = [Float](unsafeUninitializedCapacity: shape.count) { _, n in n = shape.count }
    }

    public init(repeating value: Float, shape: Shape) {
        self.shape = shape
        self.data = [Float](repeating: value, count: shape.count)
    }

    public var count: Int { data.count }

    @inlinable public subscript(c: Int, y: Int, x: Int) -> Float {
        get { data[(c * shape.h + y) * shape.w + x] }
        set { data[(c * shape.h + y) * shape.w + x] = newValue }
    }

    /// Adds `other` element-wise (shapes must match).
    public mutating func add(_ other: Tensor) {
        precondition(shape == other.shape)
        data.withUnsafeMutableBufferPointer { d in
            other.data.withUnsafeBufferPointer { o in
                let db = d.baseAddress!, ob = o.baseAddress!
                parallelChunks(d.count, minChunk: 1 << 16) { r in addInPlace(db + r.lowerBound, ob + r.lowerBound, r.count) }
            }
        }
    }

    /// Adds `scale` × `other` element-wise (shapes must match).
    public mutating func add(_ other: Tensor, scaledBy scale: Float) {
        precondition(shape == other.shape)
        data.withUnsafeMutableBufferPointer { d in
            other.data.withUnsafeBufferPointer { o in
                let db = d.baseAddress!, ob = o.baseAddress!
                parallelChunks(d.count, minChunk: 1 << 16) { r in axpy(db + r.lowerBound, ob + r.lowerBound, scale, r.count) }
            }
        }
    }

    /// Subtracts `other` element-wise (shapes must match).
    public mutating func subtract(_ other: Tensor) { add(other, scaledBy: -1) }

    /// Elementwise product with a tensor of the same shape.
    public mutating func multiply(_ other: Tensor) {
        precondition(other.shape == shape, "multiply \(other.shape) into \(shape)")
        data.withUnsafeMutableBufferPointer { d in other.data.withUnsafeBufferPointer { o in for i in 0..<d.count { d[i] *= o[i] } } }
    }

    /// Multiplies every element by `factor`.
    public mutating func scale(by factor: Float) {
        data.withUnsafeMutableBufferPointer { d in
            let db = d.baseAddress!
            parallelChunks(d.count, minChunk: 1 << 16) { r in scaleInPlace(db + r.lowerBound, factor, r.count) }
        }
    }

    /// Clamps every element to lo…hi (NaN becomes lo).
    public mutating func clamp(_ lo: Float, _ hi: Float) {
        data.withUnsafeMutableBufferPointer { d in
            let db = d.baseAddress!
            parallelChunks(d.count, minChunk: 1 << 16) { r in clampInPlace(db + r.lowerBound, lo, hi, r.count) }
        }
    }

    /// Whether every element is finite.
    public var isFinite: Bool {
        data.withUnsafeBufferPointer { p in
            var acc: Float = 0
            for v in p { acc += v * 0 }  // NaN or ±inf makes the sum NaN
            return acc == 0
        }
    }

    /// Sum of all elements, accumulated in double precision.
    public func sum() -> Double {
        var s = 0.0
        data.withUnsafeBufferPointer { for v in $0 { s += Double(v) } }
        return s
    }

    public func mean() -> Double { count == 0 ? 0 : sum() / Double(count) }

    public func max() -> Float { data.max() ?? 0 }

    /// Mean of absolute values, in double precision.
    public func meanAbs() -> Double {
        var s = 0.0
        data.withUnsafeBufferPointer { for v in $0 { s += Double(abs(v)) } }
        return count == 0 ? 0 : s / Double(count)
    }

    /// Sum of squares, in double precision.
    public func sumOfSquares() -> Double {
        var s = 0.0
        data.withUnsafeBufferPointer { for v in $0 { s += Double(v) * Double(v) } }
        return s
    }

    /// The channels `range` as a new tensor.
    public func channels(_ range: Range<Int>) -> Tensor {
        let p = shape.plane
        return Tensor(shape: Shape(range.count, shape.h, shape.w),
                      data: Array(data[(range.lowerBound * p)..<(range.upperBound * p)]))
    }
}
