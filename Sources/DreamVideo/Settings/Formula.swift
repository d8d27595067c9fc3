import DreamEngine
import Foundation

/// A formula of the frame's time, for any keyframed value: `1 + 0.02*sin(2*pi*t/4)`.
///
/// Variables: `t` (seconds), `f` (frame index), `T` and `F` (the video's length in seconds and frames), and with
/// a soundtrack (`audio`) its envelopes at the frame, each 0…1: `loudness`, `onset`, `beat`, `bass`, `mid`, `treble`.
/// Constants `pi`, `e`. Operators `+ - * / % ^` (power, right-associative), comparisons `< <= > >= == !=`
/// (1 or 0), parentheses. Functions: sin cos tan abs min max clamp floor ceil round sqrt exp log pow lerp
/// smoothstep where(cond, a, b). Parsed once (recursive descent, no interpreter or shell), evaluated per frame.
public struct Formula: Sendable, Equatable, CustomStringConvertible {
    public let text: String
    let root: Node
    /// Whether it needs the video's length (`T` or `F`).
    public let usesLength: Bool
    /// The soundtrack envelopes it uses (`beat`, `bass`…), in order of first mention.
    public let audioVariables: [String]

    public static let maxLength = 10_000
    public static let maxDepth = 100

    public init(_ text: String) throws(ScheduleError) {
        guard text.count <= Formula.maxLength else {
            throw ScheduleError("formula is \(text.count) characters long; at most \(Formula.maxLength)")
        }
        var p = Parser(Array(text))
        let node = try p.parse()
        self.text = text.trimmingCharacters(in: .whitespaces)
        root = node
        usesLength = node.mentions { $0 == "T" || $0 == "F" }
        audioVariables = Formula.audioVariables.filter { name in node.mentions { $0 == name } }
    }

    public var description: String { text }
    public static func == (a: Formula, b: Formula) -> Bool { a.text == b.text }

    public struct Context: Sendable {
        public var t: Double, f: Double, T: Double, F: Double
        /// The soundtrack at this frame (nil: no soundtrack; its variables are NaN).
        public var audio: AudioValues?
        public init(frame: Double, fps: Double, frames: Int?, audio: AudioValues? = nil) {
            f = frame; t = fps > 0 ? frame / fps : 0
            F = frames.map(Double.init) ?? .nan
            T = frames.map { fps > 0 ? Double($0) / fps : .nan } ?? .nan
            self.audio = audio
        }
    }

    public func evaluate(_ c: Context) -> Double { root.evaluate(c) }

    // MARK: tree

    indirect enum Node: Sendable, Equatable {
        case number(Double)
        case variable(String)
        case unary(Character, Node)
        case binary(String, Node, Node)
        case call(String, [Node])

        func evaluate(_ c: Context) -> Double {
            switch self {
            case .number(let v): return v
            case .variable(let n):
                switch n {
                case "t": return c.t
                case "f": return c.f
                case "T": return c.T
                case "F": return c.F
                case "pi": return .pi
                case "e": return M_E
                case "loudness": return c.audio?.loudness ?? .nan
                case "onset": return c.audio?.onset ?? .nan
                case "beat": return c.audio?.beat ?? .nan
                case "bass": return c.audio?.bass ?? .nan
                case "mid": return c.audio?.mid ?? .nan
                case "treble": return c.audio?.treble ?? .nan
                default: return .nan
                }
            case .unary(let op, let a): return op == "-" ? -a.evaluate(c) : a.evaluate(c)
            case .binary(let op, let l, let r):
                let a = l.evaluate(c), b = r.evaluate(c)
                switch op {
                case "+": return a + b
                case "-": return a - b
                case "*": return a * b
                case "/": return a / b
                case "%": return b == 0 ? .nan : a - b * (a / b).rounded(.down)
                case "^": return pow(a, b)
                case "<": return a < b ? 1 : 0
                case "<=": return a <= b ? 1 : 0
                case ">": return a > b ? 1 : 0
                case ">=": return a >= b ? 1 : 0
                case "==": return a == b ? 1 : 0
                case "!=": return a != b ? 1 : 0
                default: return .nan
                }
            case .call(let name, let args):
                if name == "where" {  // only the branch taken is evaluated
                    let cond = args[0].evaluate(c)
                    guard !cond.isNaN else { return .nan }
                    return cond != 0 ? args[1].evaluate(c) : args[2].evaluate(c)
                }
                let v = args.map { $0.evaluate(c) }
                switch name {
                case "sin": return sin(v[0])
                case "cos": return cos(v[0])
                case "tan": return tan(v[0])
                case "abs": return abs(v[0])
                case "floor": return v[0].rounded(.down)
                case "ceil": return v[0].rounded(.up)
                case "round": return v[0].rounded()
                case "sqrt": return v[0].squareRoot()
                case "exp": return exp(v[0])
                case "log": return log(v[0])
                case "pow": return pow(v[0], v[1])
                case "min": return v.contains(where: \.isNaN) ? .nan : v.min()!
                case "max": return v.contains(where: \.isNaN) ? .nan : v.max()!
                case "clamp": return v[0].isNaN ? .nan : Swift.min(Swift.max(v[0], v[1]), v[2])
                case "lerp": return v[0] + (v[1] - v[0]) * v[2]
                case "smoothstep":
                    let x = Swift.min(Swift.max((v[2] - v[0]) / (v[1] - v[0]), 0), 1)
                    return x * x * (3 - 2 * x)
                default: return .nan
                }
            }
        }

        func mentions(_ test: (String) -> Bool) -> Bool {
            switch self {
            case .number: return false
            case .variable(let n): return test(n)
            case .unary(_, let a): return a.mentions(test)
            case .binary(_, let a, let b): return a.mentions(test) || b.mentions(test)
            case .call(_, let args): return args.contains { $0.mentions(test) }
            }
        }
    }

    /// Functions by name: the argument counts they take.
    static let functions: [String: ClosedRange<Int>] = [
        "sin": 1...1, "cos": 1...1, "tan": 1...1, "abs": 1...1, "floor": 1...1, "ceil": 1...1, "round": 1...1,
        "sqrt": 1...1, "exp": 1...1, "log": 1...1, "pow": 2...2, "min": 2...64, "max": 2...64, "clamp": 3...3,
        "lerp": 3...3, "smoothstep": 3...3, "where": 3...3,
    ]
    static let audioVariables = ["loudness", "onset", "beat", "bass", "mid", "treble"]
    static let variables = ["t", "f", "T", "F", "pi", "e"] + audioVariables

    // MARK: parser

    struct Parser {
        let s: [Character]
        var i = 0
        var depth = 0
        init(_ s: [Character]) { self.s = s }

        var column: Int { i + 1 }

        mutating func skipSpaces() { while i < s.count, s[i] == " " || s[i] == "\t" { i += 1 } }
        mutating func peek() -> Character? { skipSpaces(); return i < s.count ? s[i] : nil }

        mutating func parse() throws(ScheduleError) -> Node {
            guard peek() != nil else { throw ScheduleError("formula is empty") }
            let n = try comparison()
            if let c = peek() { throw ScheduleError("unexpected '\(c)' at column \(column) of formula '\(clipped(String(s)))'") }
            return n
        }

        mutating func nested<T>(_ body: (inout Parser) throws(ScheduleError) -> T) throws(ScheduleError) -> T {
            depth += 1
            defer { depth -= 1 }
            guard depth <= Formula.maxDepth else {
                throw ScheduleError("formula is nested more than \(Formula.maxDepth) deep at column \(column)")
            }
            return try body(&self)
        }

        mutating func comparison() throws(ScheduleError) -> Node {
            var left = try additive()
            while let c = peek(), "<>=!".contains(c) {
                let two = i + 1 < s.count && s[i + 1] == "="
                let op = two ? String([c, "="]) : String(c)
                guard op != "=" && op != "!" else { throw ScheduleError("'\(op)' at column \(column) is not an operator (== and != compare)") }
                i += two ? 2 : 1
                left = .binary(op, left, try additive())
            }
            return left
        }

        mutating func additive() throws(ScheduleError) -> Node {
            var left = try multiplicative()
            while let c = peek(), c == "+" || c == "-" {
                i += 1
                left = .binary(String(c), left, try multiplicative())
            }
            return left
        }

        mutating func multiplicative() throws(ScheduleError) -> Node {
            var left = try unary()
            while let c = peek(), c == "*" || c == "/" || c == "%" {
                i += 1
                left = .binary(String(c), left, try unary())
            }
            return left
        }

        mutating func unary() throws(ScheduleError) -> Node {
            if let c = peek(), c == "-" || c == "+" {
                i += 1
                return try nested { (p: inout Parser) throws(ScheduleError) in .unary(c, try p.unary()) }
            }
            return try power()
        }

        mutating func power() throws(ScheduleError) -> Node {
            let base = try primary()
            if peek() == "^" {
                i += 1
                return try nested { (p: inout Parser) throws(ScheduleError) in .binary("^", base, try p.unary()) }
            }
            return base
        }

        mutating func primary() throws(ScheduleError) -> Node {
            guard let c = peek() else { throw ScheduleError("formula '\(clipped(String(s)))' ends where a value should follow") }
            let start = column
            if c == "(" {
                i += 1
                let inner = try nested { (p: inout Parser) throws(ScheduleError) in try p.comparison() }
                guard peek() == ")" else { throw ScheduleError("missing ')' for the '(' at column \(start)") }
                i += 1
                return inner
            }
            if c.isNumber || c == "." {
                var j = i
                while j < s.count, s[j].isNumber || s[j] == "." { j += 1 }
                if j < s.count, s[j] == "e" || s[j] == "E", j + 1 < s.count, s[j + 1].isNumber || ((s[j + 1] == "-" || s[j + 1] == "+") && j + 2 < s.count && s[j + 2].isNumber) {
                    j += 2
                    while j < s.count, s[j].isNumber { j += 1 }
                }
                let text = String(s[i..<j])
                guard let v = Double(text), v.isFinite else { throw ScheduleError("'\(text)' at column \(start) is not a finite number") }
                i = j
                return .number(v)
            }
            if c.isLetter || c == "_" {
                var j = i
                while j < s.count, s[j].isLetter || s[j].isNumber || s[j] == "_" { j += 1 }
                let name = String(s[i..<j])
                i = j
                if peek() == "(" {
                    guard let arity = Formula.functions[name] else {
                        let near = Formula.functions.keys.sorted().min { editDistance($0, name) < editDistance($1, name) }
                        let hint = near.flatMap { editDistance($0, name) <= 2 ? " (did you mean \($0)?)" : nil } ?? ""
                        throw ScheduleError("unknown function '\(name)' at column \(start)\(hint)")
                    }
                    i += 1
                    var args: [Node] = []
                    if peek() != ")" {
                        while true {
                            args.append(try nested { (p: inout Parser) throws(ScheduleError) in try p.comparison() })
                            if peek() == "," { i += 1; continue }
                            if let c = peek(), c != ")" { throw ScheduleError("unexpected '\(c)' at column \(column) of formula '\(clipped(String(s)))'") }
                            break
                        }
                    }
                    guard peek() == ")" else { throw ScheduleError("missing ')' after the arguments of \(name) (column \(start))") }
                    i += 1
                    guard arity.contains(args.count) else {
                        let want = arity.lowerBound == arity.upperBound ? "\(arity.lowerBound)" : "\(arity.lowerBound) or more"
                        throw ScheduleError("\(name) at column \(start) takes \(want) argument\(arity.upperBound == 1 ? "" : "s"), got \(args.count)")
                    }
                    return .call(name, args)
                }
                guard Formula.variables.contains(name) else {
                    let all = Formula.variables + Array(Formula.functions.keys)
                    let near = all.sorted().min { editDistance($0, name) < editDistance($1, name) }
                    let hint = near.flatMap { editDistance($0, name) <= 2 ? " (did you mean \($0)?)" : nil } ?? ""
                    throw ScheduleError("unknown name '\(name)' at column \(start)\(hint); a formula knows t, f, T, F, pi and e")
                }
                return .variable(name)
            }
            throw ScheduleError("unexpected '\(c)' at column \(start) of formula '\(clipped(String(s)))'")
        }
    }
}
