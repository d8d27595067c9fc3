import Foundation
import DreamEngine

/// Reads PyTorch state dicts saved by `torch.save` in the legacy (pre-zip) format:
/// magic-number, protocol and sys-info pickles, the state dict pickle whose tensors refer to
/// storages by persistent id, a pickle listing the storage keys, then each storage's bytes.
public enum TorchCheckpoint {
    /// 0x1950a86a20f9469cfc6c, little-endian, as pickled by LONG1.
    static let magic: [UInt8] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]

    /// Float32 tensors of the state dict, by key. Integer buffers (e.g. `num_batches_tracked`) are skipped.
    public static func readLegacy(_ url: URL) throws -> [String: NamedArray] {
        let path = url.path
        func fail(_ s: String) -> ImportError { .invalidFile(path, s) }
        let bytes: [UInt8]
        do { bytes = [UInt8](try Data(contentsOf: url, options: .alwaysMapped)) } catch { throw ImportError.unreadable(path, error.localizedDescription) }
        if bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) {
            throw fail("this is a zip-format checkpoint (torch ≥ 1.6); save it with _use_new_zipfile_serialization=False")
        }
        var r = PickleReader(bytes)
        do {
            guard case .bytes(let m)? = try? r.load(), m == magic else { throw fail("not a PyTorch checkpoint (magic number missing)") }
            _ = try r.load()  // protocol version
            _ = try r.load()  // sys info
            let root = try r.load()
            guard case .list(let keyList) = try r.load() else { throw fail("storage key list missing") }
            // Storage payloads follow in key-list order: int64 element count, then raw little-endian data.
            var storages: [String: (offset: Int, count: Int, elementSize: Int)] = [:]
            var refs: [String: String] = [:]  // key -> storage type
            collectStorages(root, into: &refs)
            var pos = r.pos
            for k in keyList {
                guard let key = k.asString else { throw fail("storage key is not a string") }
                guard pos + 8 <= bytes.count else { throw fail("storage \(key) is truncated") }
                var n = 0
                for i in 0..<8 { n |= Int(bytes[pos + i]) << (8 * i) }
                let size = elementSize(refs[key] ?? "FloatStorage")
                pos += 8
                guard n >= 0, pos + n * size <= bytes.count else { throw fail("storage \(key) is truncated") }
                storages[key] = (pos, n, size)
                pos += n * size
            }
            guard case .dict(let items) = root else { throw fail("the checkpoint is not a state dict") }
            var out: [String: NamedArray] = [:]
            for (k, v) in items {
                guard let name = k.asString else { continue }
                guard let t = try tensor(v, storages: storages, bytes: bytes, name: name, path: path) else { continue }
                out[name] = t
            }
            return out
        } catch let e as PickleReader.Failure {
            throw fail(e.description)
        }
    }

    static func elementSize(_ type: String) -> Int {
        switch type {
        case "DoubleStorage", "LongStorage": return 8
        case "FloatStorage", "IntStorage": return 4
        case "HalfStorage", "ShortStorage", "BFloat16Storage": return 2
        default: return 1
        }
    }

    /// Records storage key → storage type for every persistent id in the tree.
    static func collectStorages(_ v: PickleValue, into refs: inout [String: String]) {
        switch v {
        case .persistent(.tuple(let t)) where t.count >= 3:
            if case .global(_, let type) = t[1], let key = t[2].asString { refs[key] = type }
        case .tuple(let a), .list(let a): a.forEach { collectStorages($0, into: &refs) }
        case .dict(let d): d.forEach { collectStorages($0.1, into: &refs) }
        case .call(let f, let args): collectStorages(f, into: &refs); args.forEach { collectStorages($0, into: &refs) }
        case .built(let b, let s): collectStorages(b, into: &refs); collectStorages(s, into: &refs)
        default: break
        }
    }

    /// Interprets `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, …)` for float32 storages.
    static func tensor(_ v: PickleValue, storages: [String: (offset: Int, count: Int, elementSize: Int)],
                       bytes: [UInt8], name: String, path: String) throws -> NamedArray? {
        guard case .call(.global(_, let fn), let args) = v, fn.hasPrefix("_rebuild_tensor"), args.count >= 4,
              case .persistent(.tuple(let pid)) = args[0], pid.count >= 3,
              case .global(_, let type) = pid[1], let key = pid[2].asString,
              let offset = args[1].asInt, let size = args[2].items?.compactMap(\.asInt), let stride = args[3].items?.compactMap(\.asInt)
        else { throw ImportError.invalidFile(path, "entry '\(name)' is not a tensor this reader understands") }
        guard type == "FloatStorage" else { return nil }
        guard let s = storages[key] else { throw ImportError.invalidFile(path, "entry '\(name)' refers to missing storage \(key)") }
        let count = size.reduce(1, *)
        var values = [Float](repeating: 0, count: count)
        // Walk the (possibly strided) view in row-major order.
        var index = [Int](repeating: 0, count: size.count)
        for i in 0..<count {
            var e = offset
            for d in 0..<size.count { e += index[d] * stride[d] }
            guard e >= 0, e < s.count else { throw ImportError.invalidFile(path, "entry '\(name)' reads outside its storage") }
            let p = s.offset + e * 4
            values[i] = Float(bitPattern: UInt32(bytes[p]) | UInt32(bytes[p + 1]) << 8 | UInt32(bytes[p + 2]) << 16 | UInt32(bytes[p + 3]) << 24)
            var d = size.count - 1
            while d >= 0 { index[d] += 1; if index[d] < size[d] { break }; index[d] = 0; d -= 1 }
        }
        return NamedArray(shape: size, values: values)
    }
}

/// Errors while importing foreign weight files; each names the file.
public enum ImportError: Error, CustomStringConvertible {
    case unreadable(String, String)
    case invalidFile(String, String)
    case checksumMismatch(file: String, expected: String, actual: String)

    public var description: String {
        switch self {
        case .unreadable(let f, let why): return "\(f): cannot read (\(why))"
        case .invalidFile(let f, let why): return "\(f): \(why)"
        case .checksumMismatch(let f, let e, let a): return "\(f): SHA-256 is \(a), expected \(e) — the download is corrupt or not the pinned version"
        }
    }
}
