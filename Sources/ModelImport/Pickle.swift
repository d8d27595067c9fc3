import Foundation
import DreamEngine

/// A value produced by the pickle machine. Only what PyTorch checkpoints use is modelled.
indirect enum PickleValue {
    case none, bool(Bool), int(Int), float(Double), string(String), bytes([UInt8])
    case tuple([PickleValue]), list([PickleValue]), dict([(PickleValue, PickleValue)])
    case global(module: String, name: String)
    /// A call `callable(args)` recorded symbolically (REDUCE / NEWOBJ).
    case call(callable: PickleValue, args: [PickleValue])
    /// A persistent id (torch storages).
    case persistent(PickleValue)
    /// An object rebuilt by BUILD from `base` and a state.
    case built(base: PickleValue, state: PickleValue)
    case mark

    var asString: String? { if case .string(let s) = self { return s }; return nil }
    var asInt: Int? { if case .int(let i) = self { return i }; if case .bool(let b) = self { return b ? 1 : 0 }; return nil }
    var items: [PickleValue]? {
        switch self { case .tuple(let a), .list(let a): return a; default: return nil }
    }
}

/// A tiny pickle virtual machine (protocols 2–5) that never executes anything:
/// globals and calls are kept as data for the caller to interpret.
struct PickleReader {
    enum Failure: Error, CustomStringConvertible {
        case truncated, unknownOpcode(UInt8, Int), malformed(String)
        var description: String {
            switch self {
            case .truncated: return "pickle stream ends early"
            case .unknownOpcode(let op, let at): return String(format: "unsupported pickle opcode 0x%02x at byte %d", op, at)
            case .malformed(let s): return "malformed pickle: \(s)"
            }
        }
    }

    let bytes: [UInt8]
    var pos: Int

    init(_ bytes: [UInt8], at pos: Int = 0) { self.bytes = bytes; self.pos = pos }

    private mutating func read(_ n: Int) throws(Failure) -> ArraySlice<UInt8> {
        guard n >= 0, pos + n <= bytes.count else { throw .truncated }
        defer { pos += n }
        return bytes[pos..<(pos + n)]
    }
    private mutating func u8() throws(Failure) -> UInt8 { try read(1).first! }
    /// A length field, refused when it is longer than what is left of the file (or than an Int).
    private func length(_ n: UInt64) throws(Failure) -> Int {
        guard n <= UInt64(bytes.count - pos) else { throw .truncated }
        return Int(n)
    }
    static let maxDepth = 1000
    private mutating func le(_ n: Int) throws(Failure) -> UInt64 {
        var v: UInt64 = 0
        for (i, b) in try read(n).enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
        return v
    }
    private mutating func line() throws(Failure) -> String {
        guard let end = bytes[pos...].firstIndex(of: 0x0A) else { throw .truncated }
        defer { pos = end + 1 }
        return String(decoding: bytes[pos..<end], as: UTF8.self)
    }

    /// Runs one pickle to its STOP and returns the top of the stack.
    mutating func load() throws(Failure) -> PickleValue {
        // Values and how deeply each nests, side by side: a hostile file of 300 000 nested tuples would
        // otherwise overflow the call stack when the value is walked or freed. Python stops at ~1000 too.
        var stack: [PickleValue] = [], depths: [Int] = []
        var memo: [Int: (PickleValue, Int)] = [:]
        func push(_ v: PickleValue, _ d: Int = 0) throws(Failure) {
            guard d <= PickleReader.maxDepth else { throw .malformed("values nested deeper than \(PickleReader.maxDepth) levels") }
            stack.append(v); depths.append(d)
        }
        func popMark() throws(Failure) -> ([PickleValue], Int) {
            guard let m = stack.lastIndex(where: { if case .mark = $0 { return true }; return false }) else {
                throw .malformed("no mark on the stack")
            }
            let items = Array(stack[(m + 1)...]), d = depths[(m + 1)...].max() ?? 0
            stack.removeSubrange(m...); depths.removeSubrange(m...)
            return (items, d)
        }
        func pop() throws(Failure) -> (PickleValue, Int) {
            guard let v = stack.popLast(), let d = depths.popLast() else { throw .malformed("stack underflow") }
            return (v, d)
        }
        func mutateTop(childDepth: Int, _ f: (inout PickleValue) throws(Failure) -> Void) throws(Failure) {
            guard !stack.isEmpty else { throw .malformed("stack underflow") }
            try f(&stack[stack.count - 1])
            let d = max(depths[depths.count - 1], childDepth + 1)
            guard d <= PickleReader.maxDepth else { throw .malformed("values nested deeper than \(PickleReader.maxDepth) levels") }
            depths[depths.count - 1] = d
        }
        while true {
            let at = pos
            let op = try u8()
            switch op {
            case 0x80: _ = try u8()                                   // PROTO
            case 0x95: _ = try read(8)                                // FRAME
            case 0x2E: return try pop().0                             // STOP
            case 0x28: try push(.mark)                                // MARK
            case 0x4E: try push(.none)                            // NONE
            case 0x88: try push(.bool(true))                      // NEWTRUE
            case 0x89: try push(.bool(false))                     // NEWFALSE
            case 0x4A: try push(.int(Int(Int32(truncatingIfNeeded: try le(4)))))  // BININT
            case 0x4B: try push(.int(Int(try u8())))              // BININT1
            case 0x4D: try push(.int(Int(try le(2))))             // BININT2
            case 0x8A:                                                // LONG1
                let n = Int(try u8())
                let b = Array(try read(n))
                if n > 8 { try push(.bytes(b)); break }  // too big for Int: kept as little-endian bytes
                var v: Int64 = 0
                for (i, x) in b.prefix(8).enumerated() { v |= Int64(x) << (8 * Int64(i)) }
                if n > 0 && n < 8 && b[n - 1] & 0x80 != 0 { v -= Int64(1) << (8 * Int64(n)) }
                try push(.int(Int(v)))
            case 0x47: try push(.float(Double(bitPattern: UInt64(bigEndian: try le(8)))))  // BINFLOAT (big-endian)
            case 0x58, 0x8C, 0x8D:                                    // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
                let n = try length(op == 0x58 ? try le(4) : op == 0x8C ? UInt64(try u8()) : try le(8))
                try push(.string(String(decoding: try read(n), as: UTF8.self)))
            case 0x54, 0x55:                                          // BINSTRING, SHORT_BINSTRING
                let n = op == 0x54 ? Int(try le(4)) : Int(try u8())
                try push(.string(String(decoding: try read(n), as: UTF8.self)))
            case 0x42, 0x43:                                          // BINBYTES, SHORT_BINBYTES
                let n = op == 0x42 ? Int(try le(4)) : Int(try u8())
                try push(.bytes(Array(try read(n))))
            case 0x7D: try push(.dict([]))                        // EMPTY_DICT
            case 0x5D: try push(.list([]))                        // EMPTY_LIST
            case 0x29: try push(.tuple([]))                       // EMPTY_TUPLE
            case 0x74: let (t, d) = try popMark(); try push(.tuple(t), d + 1)  // TUPLE
            case 0x85: let (a, d) = try pop(); try push(.tuple([a]), d + 1)  // TUPLE1
            case 0x86: let b = try pop(), a = try pop(); try push(.tuple([a.0, b.0]), max(a.1, b.1) + 1)  // TUPLE2
            case 0x87: let c = try pop(), b = try pop(), a = try pop(); try push(.tuple([a.0, b.0, c.0]), max(a.1, b.1, c.1) + 1)  // TUPLE3
            case 0x6C: let (l, d) = try popMark(); try push(.list(l), d + 1)  // LIST
            case 0x64:                                                // DICT
                let (items, d) = try popMark()
                try push(.dict(stride(from: 0, to: items.count - 1, by: 2).map { (items[$0], items[$0 + 1]) }), d + 1)
            case 0x71: memo[Int(try u8())] = stack.last.map { ($0, depths.last!) }  // BINPUT
            case 0x72: memo[Int(try le(4))] = stack.last.map { ($0, depths.last!) }  // LONG_BINPUT
            case 0x94: memo[memo.count] = stack.last.map { ($0, depths.last!) }  // MEMOIZE
            case 0x68, 0x6A:                                          // BINGET, LONG_BINGET
                let k = op == 0x68 ? Int(try u8()) : Int(try le(4))
                guard let v = memo[k] else { throw .malformed("memo \(k) missing") }
                try push(v.0, v.1)
            case 0x63:                                                // GLOBAL
                let module = try line(), name = try line()
                try push(.global(module: module, name: name))
            case 0x93:                                                // STACK_GLOBAL
                let name = try pop().0, module = try pop().0
                try push(.global(module: module.asString ?? "", name: name.asString ?? ""))
            case 0x51: let (v, d) = try pop(); try push(.persistent(v), d + 1)  // BINPERSID
            case 0x52, 0x81:                                          // REDUCE, NEWOBJ
                let args = try pop(), f = try pop()
                try push(.call(callable: f.0, args: args.0.items ?? []), max(args.1, f.1) + 1)
            case 0x62:                                                // BUILD
                let (state, d) = try pop()
                try mutateTop(childDepth: d) { top throws(Failure) in
                    if case .dict = top { return }  // attributes of a mapping (e.g. a state dict's _metadata)
                    top = .built(base: top, state: state)
                }
            case 0x73:                                                // SETITEM
                let v = try pop(), k = try pop()
                try mutateTop(childDepth: max(v.1, k.1)) { top throws(Failure) in top = try PickleReader.setItems(top, [(k.0, v.0)]) }
            case 0x75:                                                // SETITEMS
                let (items, d) = try popMark()
                let pairs = stride(from: 0, to: items.count - 1, by: 2).map { (items[$0], items[$0 + 1]) }
                try mutateTop(childDepth: d) { top throws(Failure) in top = try PickleReader.setItems(top, pairs) }
            case 0x61:                                                // APPEND
                let (v, d) = try pop()
                try mutateTop(childDepth: d) { top throws(Failure) in top = try PickleReader.append(top, [v]) }
            case 0x65:                                                // APPENDS
                let (items, d) = try popMark()
                try mutateTop(childDepth: d) { top throws(Failure) in top = try PickleReader.append(top, items) }
            case 0x30: _ = try pop()                                  // POP
            case 0x31: _ = try popMark()                              // POP_MARK
            case 0x32: guard let t = stack.last else { throw .malformed("DUP on empty stack") }; try push(t, depths.last!)
            default: throw .unknownOpcode(op, at)
            }
        }
    }

    /// Dict items added to a dict, or to an OrderedDict under construction (a `call`).
    static func setItems(_ target: PickleValue, _ pairs: [(PickleValue, PickleValue)]) throws(Failure) -> PickleValue {
        switch target {
        case .dict(let d): return .dict(d + pairs)
        case .call: return .dict(pairs)  // an OrderedDict (or other mapping) rebuilt by REDUCE
        default: throw .malformed("SETITEM on a non-dict")
        }
    }

    static func append(_ target: PickleValue, _ items: [PickleValue]) throws(Failure) -> PickleValue {
        guard case .list(let l) = target else { throw .malformed("APPEND on a non-list") }
        return .list(l + items)
    }
}
