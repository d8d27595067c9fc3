import Foundation

/// A named float32 array with its shape, as stored in a weights file.
public struct NamedArray: Sendable {
    public var shape: [Int]
    public var values: [Float]
    public init(shape: [Int], values: [Float]) { self.shape = shape; self.values = values }
}

/// Reads and writes the safetensors format: an 8-byte little-endian header length, a JSON header
/// `{name: {dtype, shape, data_offsets}}`, then the raw little-endian data. Only F32 is used here.
public enum SafeTensors {
    /// Serialises `arrays` (sorted by name, so the bytes are deterministic).
    public static func encode(_ arrays: [String: NamedArray], metadata: [String: String] = [:]) throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        let names = arrays.keys.sorted()
        for name in names {
            let a = arrays[name]!
            guard a.shape.reduce(1, *) == a.values.count else {
                throw EngineError.badWeights("\(name): shape \(a.shape) does not match \(a.values.count) values")
            }
            header[name] = ["dtype": "F32", "shape": a.shape, "data_offsets": [offset, offset + a.values.count * 4]]
            offset += a.values.count * 4
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }  // pad with spaces, as the format allows
        var out = Data()
        var n = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(json)
        for name in names {
            arrays[name]!.values.withUnsafeBufferPointer { out.append(UnsafeBufferPointer(start: $0.baseAddress, count: $0.count)) }
        }
        return out
    }

    /// Parses a safetensors file; `data` may be memory-mapped.
    public static func decode(_ data: Data, file: String = "weights") throws -> (arrays: [String: NamedArray], metadata: [String: String]) {
        func bad(_ s: String) -> EngineError { .badWeights("\(file): \(s)") }
        guard data.count >= 8 else { throw bad("file is too short to be safetensors") }
        let n = data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian
        guard n > 1, n < UInt64(data.count) - 7, n < 100_000_000 else { throw bad("header length \(n) is invalid") }
        let headerData = data.subdata(in: 8..<(8 + Int(n)))
        guard let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            throw bad("header is not a JSON object")
        }
        let base = 8 + Int(n)
        var arrays: [String: NamedArray] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" { metadata = value as? [String: String] ?? [:]; continue }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2
            else { throw bad("entry '\(name)' is malformed") }
            guard dtype == "F32" else { throw bad("entry '\(name)' has dtype \(dtype); only F32 is supported") }
            guard let count = elementCount(shape) else { throw bad("entry '\(name)' has an impossible shape \(shape)") }
            guard offsets[0] >= 0, offsets[1] >= offsets[0], offsets[1] - offsets[0] == count * 4,
                  offsets[1] <= data.count - base else {
                throw bad("entry '\(name)' points outside the file")
            }
            var values = [Float](repeating: 0, count: count)
            values.withUnsafeMutableBytes { dst in
                data.withUnsafeBytes { src in
                    dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[(base + offsets[0])..<(base + offsets[1])]))
                }
            }
            arrays[name] = NamedArray(shape: shape, values: values)
        }
        return (arrays, metadata)
    }

    /// Memory-maps and parses the file at `url`.
    public static func load(_ url: URL) throws -> (arrays: [String: NamedArray], metadata: [String: String]) {
        let data: Data
        do { data = try Data(contentsOf: url, options: [.alwaysMapped]) } catch {
            throw EngineError.badWeights("\(url.path): cannot read (\(error.localizedDescription))")
        }
        return try decode(data, file: url.path)
    }
}

/// Looks weights up by name with shape checks, for model builders.
public struct WeightStore: Sendable {
    public let arrays: [String: NamedArray]
    public let source: String
    /// When set, missing arrays are made up: small random values (seeded by the name), positive for variances.
    public let syntheticSeed: UInt64?
    /// When set, every array is zeros: enough to build a graph for its layer names and shapes.
    public let isPlaceholder: Bool

    public init(_ arrays: [String: NamedArray], source: String = "weights") {
        self.arrays = arrays; self.source = source; syntheticSeed = nil; isPlaceholder = false
    }

    /// Zeros for every weight, and no fast-path preparation: a graph for names and shapes only.
    public static let placeholder = WeightStore(placeholder: ())
    private init(placeholder: Void) { arrays = [:]; source = "placeholder weights"; syntheticSeed = nil; isPlaceholder = true }

    /// A store that invents every weight deterministically — for architecture listings and tests.
    public static func synthetic(seed: UInt64 = 1) -> WeightStore { WeightStore(seed: seed) }
    private init(seed: UInt64) { arrays = [:]; source = "synthetic weights"; syntheticSeed = seed; isPlaceholder = false }

    public func array(_ name: String, shape: [Int]) throws(EngineError) -> [Float] {
        if isPlaceholder { return [Float](repeating: 0, count: shape.reduce(1, *)) }
        if arrays[name] == nil, let seed = syntheticSeed {
            var rng = SeededGenerator(seed: seed ^ UInt64(truncatingIfNeeded: name.utf8.reduce(5381) { ($0 &* 33) &+ Int($1) }))
            let n = shape.reduce(1, *)
            if name.hasSuffix("running_var") || name.hasSuffix(".bn.weight") {
                return (0..<n).map { _ in 0.5 + Float.random(in: 0..<1, using: &rng) }  // positive scales
            }
            let fanIn = shape.count > 1 ? shape.dropFirst().reduce(1, *) : 1
            let scale = (1 / Float(fanIn)).squareRoot() * (name.hasSuffix("bias") || name.hasSuffix("running_mean") ? 0.1 : 1)
            return (0..<n).map { _ in scale * rng.gaussian() }
        }
        guard let a = arrays[name] else { throw .badWeights("\(source): missing '\(name)'") }
        guard a.shape == shape || (a.shape.reduce(1, *) == shape.reduce(1, *) && a.shape.filter { $0 != 1 } == shape.filter { $0 != 1 }) else {
            throw .badWeights("\(source): '\(name)' has shape \(a.shape), expected \(shape)")
        }
        return a.values
    }

    public func has(_ name: String) -> Bool { arrays[name] != nil }

    /// Folds a batch norm (`prefix`.weight/bias/running_mean/running_var) into a convolution's weights and bias.
    public func foldBatchNorm(_ prefix: String, into weight: inout [Float], bias: inout [Float], channels: Int, eps: Float) throws(EngineError) {
        let gamma = try array(prefix + ".weight", shape: [channels])
        let beta = try array(prefix + ".bias", shape: [channels])
        let mean = try array(prefix + ".running_mean", shape: [channels])
        let variance = try array(prefix + ".running_var", shape: [channels])
        let per = weight.count / channels
        for c in 0..<channels {
            let s = gamma[c] / (variance[c] + eps).squareRoot()
            for i in 0..<per { weight[c * per + i] *= s }
            bias[c] = (bias[c] - mean[c]) * s + beta[c]
        }
    }
}

/// The number of elements of an array of `shape`; nil when a side is negative or the count passes `limit`
/// (2³¹ floats, 8 GiB: no weight of ours comes near), so that hostile headers cannot overflow or exhaust memory.
public func elementCount(_ shape: [Int], limit: Int = 1 << 31) -> Int? {
    var n = 1
    for d in shape {
        guard d >= 0 else { return nil }
        let (m, overflow) = n.multipliedReportingOverflow(by: d)
        guard !overflow, m <= limit else { return nil }
        n = m
    }
    return n
}
