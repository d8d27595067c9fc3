import Foundation
import DreamEngine
import ZIPFoundation

/// Reads PyTorch state dicts saved by `torch.save`, in both formats:
/// - zip (torch ≥ 1.6): `ARCHIVE/data.pkl` holds the state dict, whose tensors refer to storages by
///   persistent id; each storage's bytes are the entry `ARCHIVE/data/KEY`;
/// - legacy: magic-number, protocol and sys-info pickles, the state dict pickle, a pickle listing the
///   storage keys, then each storage as an int64 element count and its bytes.
/// Float32 and float64 tensors are returned as float32; integer buffers (`num_batches_tracked`) are skipped.
public enum TorchCheckpoint {
    /// 0x1950a86a20f9469cfc6c, little-endian, as pickled by LONG1.
    static let magic: [UInt8] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]

    /// A storage's raw bytes (little-endian) and its element type.
    struct Storage { let bytes: ArraySlice<UInt8>; let type: String }

    public static func read(_ url: URL) throws -> [String: NamedArray] {
        let path = url.path
        let bytes: [UInt8]
        do { bytes = [UInt8](try Data(contentsOf: url, options: .alwaysMapped)) } catch {
            throw ImportError.unreadable(path, error.localizedDescription)
        }
        if bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return try readZip(url) }
        return try readLegacy(bytes, path: path)
    }

    static func readLegacy(_ bytes: [UInt8], path: String) throws -> [String: NamedArray] {
        func fail(_ s: String) -> ImportError { .invalidFile(path, s) }
        var r = PickleReader(bytes)
        do {
            guard case .bytes(let m)? = try? r.load(), m == magic else { throw fail("not a PyTorch checkpoint (magic number missing)") }
            _ = try r.load()  // protocol version
            _ = try r.load()  // sys info
            let root = try r.load()
            guard case .list(let keyList) = try r.load() else { throw fail("storage key list missing") }
            var types: [String: String] = [:]
            collectStorages(root, into: &types)
            var storages: [String: Storage] = [:]
            var pos = r.pos
            for k in keyList {
                guard let key = k.asString else { throw fail("storage key is not a string") }
                guard pos + 8 <= bytes.count else { throw fail("storage \(key) is truncated") }
                var n = 0
                for i in 0..<8 { n |= Int(bytes[pos + i]) << (8 * i) }
                let type = types[key] ?? "FloatStorage"
                let size = elementSize(type)
                pos += 8
                guard n >= 0, n <= (bytes.count - pos) / size else { throw fail("storage \(key) is truncated") }
                storages[key] = Storage(bytes: bytes[pos..<(pos + n * size)], type: type)
                pos += n * size
            }
            return try stateDict(root, storages: storages, path: path)
        } catch let e as PickleReader.Failure {
            throw fail(e.description)
        }
    }

    static func readZip(_ url: URL) throws -> [String: NamedArray] {
        let path = url.path
        func fail(_ s: String) -> ImportError { .invalidFile(path, s) }
        let archive: Archive
        do { archive = try Archive(url: url, accessMode: .read) } catch { throw fail("not a readable zip archive (\(error))") }
        func contents(_ entry: Entry) throws -> [UInt8] {
            var data = Data()
            do { _ = try archive.extract(entry, skipCRC32: false) { data.append($0) } } catch {
                throw fail("cannot extract \(entry.path) (\(error))")
            }
            return [UInt8](data)
        }
        guard let pkl = archive.first(where: { $0.path.hasSuffix("/data.pkl") || $0.path == "data.pkl" }) else {
            throw fail("zip archive without data.pkl: not a PyTorch checkpoint")
        }
        let prefix = String(pkl.path.dropLast("data.pkl".count))
        var r = PickleReader(try contents(pkl))
        let root: PickleValue
        switch Result(catching: { () throws(PickleReader.Failure) -> PickleValue in try r.load() }) {
        case .success(let v): root = v
        case .failure(let e): throw fail(e.description)
        }
        var types: [String: String] = [:]
        collectStorages(root, into: &types)
        var storages: [String: Storage] = [:]
        for (key, type) in types {
            guard let entry = archive[prefix + "data/" + key] else { throw fail("storage \(key) is missing from the archive") }
            let b = try contents(entry)
            storages[key] = Storage(bytes: b[...], type: type)
        }
        return try stateDict(root, storages: storages, path: path)
    }

    static func stateDict(_ root: PickleValue, storages: [String: Storage], path: String) throws -> [String: NamedArray] {
        guard case .dict(let items) = root else { throw ImportError.invalidFile(path, "the checkpoint is not a state dict") }
        var out: [String: NamedArray] = [:]
        for (k, v) in items {
            guard let name = k.asString else { continue }
            guard let t = try tensor(v, storages: storages, name: name, path: path) else { continue }
            out[name] = t
        }
        return out
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

    /// Interprets `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, …)` for float storages.
    static func tensor(_ v: PickleValue, storages: [String: Storage], name: String, path: String) throws -> NamedArray? {
        guard case .call(.global(_, let fn), let args) = v, fn.hasPrefix("_rebuild_tensor"), args.count >= 4,
              case .persistent(.tuple(let pid)) = args[0], pid.count >= 3, let key = pid[2].asString,
              let offset = args[1].asInt, let size = args[2].items?.compactMap(\.asInt), let stride = args[3].items?.compactMap(\.asInt),
              size.count == stride.count
        else { throw ImportError.invalidFile(path, "entry '\(name)' is not a tensor this reader understands") }
        guard let s = storages[key] else { throw ImportError.invalidFile(path, "entry '\(name)' refers to missing storage \(key)") }
        let esize: Int
        switch s.type {
        case "FloatStorage": esize = 4
        case "DoubleStorage": esize = 8
        default: return nil
        }
        let available = s.bytes.count / esize
        guard let count = elementCount(size), offset >= 0, stride.allSatisfy({ $0 >= 0 }) else {
            throw ImportError.invalidFile(path, "entry '\(name)' has an impossible size \(size), stride \(stride) or offset \(offset)")
        }
        var values = [Float](repeating: 0, count: count)
        let base = s.bytes.startIndex
        // Walk the (possibly strided) view in row-major order.
        var index = [Int](repeating: 0, count: size.count)
        for i in 0..<count {
            var e = offset
            var wraps = false
            for d in 0..<size.count {
                let (term, o1) = index[d].multipliedReportingOverflow(by: stride[d])
                let (sum, o2) = e.addingReportingOverflow(term)
                wraps = wraps || o1 || o2
                e = sum
            }
            guard !wraps, e >= 0, e < available else { throw ImportError.invalidFile(path, "entry '\(name)' reads outside its storage") }
            var bits: UInt64 = 0
            for b in 0..<esize { bits |= UInt64(s.bytes[base + e * esize + b]) << (8 * UInt64(b)) }
            values[i] = esize == 4 ? Float(bitPattern: UInt32(truncatingIfNeeded: bits)) : Float(Double(bitPattern: bits))
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
