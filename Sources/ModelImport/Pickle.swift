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
        var stack: [PickleValue] = []
        var memo: [Int: PickleValue] = [:]
        func popMark() throws(Failure) -> [PickleValue] {
            guard let m = stack.lastIndex(where: { if case .mark = $0 { return true }; return false }) else {
                throw .malformed("no mark on the stack")
            }
            let items = Array(stack[(m + 1)...])
            stack.removeSubrange(m...)
            return items
        }
        func pop() throws(Failure) -> PickleValue {
            guard let v = stack.popLast() else { throw .malformed("stack underflow") }
            return v
        }
        func mutateTop(_ f: (inout PickleValue) throws(Failure) -> Void) throws(Failure) {
            guard !stack.isEmpty else { throw .malformed("stack underflow") }
            try f(&stack[stack.count - 1])
        }
        while true {
            let at = pos
            let op = try u8()
            switch op {
            case 0x80: _ = try u8()                                   // PROTO
            case 0x95: _ = try read(8)                                // FRAME
            case 0x2E: return try pop()                               // STOP
            case 0x28: stack.append(.mark)                            // MARK
            case 0x4E: stack.append(.none)                            // NONE
            case 0x88: stack.append(.bool(true))                      // NEWTRUE
            case 0x89: stack.append(.bool(false))                     // NEWFALSE
            case 0x4A: stack.append(.int(Int(Int32(truncatingIfNeeded: try le(4)))))  // BININT
            case 0x4B: stack.append(.int(Int(try u8())))              // BININT1
            case 0x4D: stack.append(.int(Int(try le(2))))             // BININT2
            case 0x8A:                                                // LONG1
                let n = Int(try u8())
                let b = Array(try read(n))
                if n > 8 { stack.append(.bytes(b)); break }  // too big for Int: kept as little-endian bytes
                var v: Int64 = 0
                for (i, x) in b.prefix(8).enumerated() { v |= Int64(x) << (8 * Int64(i)) }
                if n > 0 && n < 8 && b[n - 1] & 0x80 != 0 { v -= Int64(1) << (8 * Int64(n)) }
                stack.append(.int(Int(v)))
            case 0x47: stack.append(.float(Double(bitPattern: UInt64(bigEndian: try le(8)))))  // BINFLOAT (big-endian)
            case 0x58, 0x8C, 0x8D:                                    // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
                let n = op == 0x58 ? Int(try le(4)) : op == 0x8C ? Int(try u8()) : Int(try le(8))
                stack.append(.string(String(decoding: try read(n), as: UTF8.self)))
            case 0x54, 0x55:                                          // BINSTRING, SHORT_BINSTRING
                let n = op == 0x54 ? Int(try le(4)) : Int(try u8())
                stack.append(.string(String(decoding: try read(n), as: UTF8.self)))
            case 0x42, 0x43:                                          // BINBYTES, SHORT_BINBYTES
                let n = op == 0x42 ? Int(try le(4)) : Int(try u8())
                stack.append(.bytes(Array(try read(n))))
            case 0x7D: stack.append(.dict([]))                        // EMPTY_DICT
            case 0x5D: stack.append(.list([]))                        // EMPTY_LIST
            case 0x29: stack.append(.tuple([]))                       // EMPTY_TUPLE
            case 0x74: stack.append(.tuple(try popMark()))            // TUPLE
            case 0x85: stack.append(.tuple([try pop()]))              // TUPLE1
            case 0x86: let b = try pop(); let a = try pop(); stack.append(.tuple([a, b]))  // TUPLE2
            case 0x87: let c = try pop(); let b = try pop(); let a = try pop(); stack.append(.tuple([a, b, c]))  // TUPLE3
            case 0x6C: stack.append(.list(try popMark()))             // LIST
            case 0x64:                                                // DICT
                let items = try popMark()
                stack.append(.dict(stride(from: 0, to: items.count - 1, by: 2).map { (items[$0], items[$0 + 1]) }))
            case 0x71: memo[Int(try u8())] = stack.last               // BINPUT
            case 0x72: memo[Int(try le(4))] = stack.last              // LONG_BINPUT
            case 0x94: memo[memo.count] = stack.last                  // MEMOIZE
            case 0x68, 0x6A:                                          // BINGET, LONG_BINGET
                let k = op == 0x68 ? Int(try u8()) : Int(try le(4))
                guard let v = memo[k] else { throw .malformed("memo \(k) missing") }
                stack.append(v)
            case 0x63:                                                // GLOBAL
                let module = try line(), name = try line()
                stack.append(.global(module: module, name: name))
            case 0x93:                                                // STACK_GLOBAL
                let name = try pop(), module = try pop()
                stack.append(.global(module: module.asString ?? "", name: name.asString ?? ""))
            case 0x51: stack.append(.persistent(try pop()))           // BINPERSID
            case 0x52, 0x81:                                          // REDUCE, NEWOBJ
                let args = try pop(), f = try pop()
                stack.append(.call(callable: f, args: args.items ?? []))
            case 0x62:                                                // BUILD
                let state = try pop()
                try mutateTop { top throws(Failure) in
                    if case .dict = top { return }  // attributes of a mapping (e.g. a state dict's _metadata)
                    top = .built(base: top, state: state)
                }
            case 0x73:                                                // SETITEM
                let v = try pop(), k = try pop()
                try mutateTop { top throws(Failure) in top = try PickleReader.setItems(top, [(k, v)]) }
            case 0x75:                                                // SETITEMS
                let items = try popMark()
                let pairs = stride(from: 0, to: items.count - 1, by: 2).map { (items[$0], items[$0 + 1]) }
                try mutateTop { top throws(Failure) in top = try PickleReader.setItems(top, pairs) }
            case 0x61:                                                // APPEND
                let v = try pop()
                try mutateTop { top throws(Failure) in top = try PickleReader.append(top, [v]) }
            case 0x65:                                                // APPENDS
                let items = try popMark()
                try mutateTop { top throws(Failure) in top = try PickleReader.append(top, items) }
            case 0x30: _ = try pop()                                  // POP
            case 0x31: _ = try popMark()                              // POP_MARK
            case 0x32: guard let t = stack.last else { throw .malformed("DUP on empty stack") }; stack.append(t)
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
