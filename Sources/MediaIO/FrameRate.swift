import Foundation

/// A frame rate as a fraction (30, 25, 30000/1001 …).
public struct FrameRate: Sendable, Equatable, Codable, CustomStringConvertible {
    public var num: Int
    public var den: Int
    public init(_ num: Int, _ den: Int = 1) { self.num = num; self.den = den }

    /// Parses "30", "29.97" (read as the NTSC 30000/1001 where it is one) or "30000/1001".
    /// Refuses anything above 240 fps or below 1/1000 fps, non-finite and overflowing numbers.
    public init(parsing text: String) throws(MediaError) {
        let s = text.trimmingCharacters(in: .whitespaces)
        let bad = MediaError.invalidArgument("frame rate '\(text)' is not a positive number or fraction (e.g. 30, 29.97, 30000/1001)")
        if let slash = s.firstIndex(of: "/") {
            guard let n = Int(s[..<slash]), let d = Int(s[s.index(after: slash)...]), n > 0, d > 0, n <= 1_000_000, d <= 1_000_000 else { throw bad }
            self.init(n, d)
        } else {
            guard let v = Double(s), v.isFinite, v > 0 else { throw bad }
            guard v <= 240 else { throw .invalidArgument("frame rate \(text) is too high (at most 240 frames per second)") }
            guard v >= 0.001 else { throw bad }
            if v == v.rounded() {
                self.init(Int(v), 1)
            } else if let ntsc = [24.0, 30, 60, 120, 240].first(where: { abs(v - $0 * 1000 / 1001) < 0.006 }) {
                self.init(Int(ntsc) * 1000, 1001)  // 23.976, 29.97, 59.94 …
            } else {
                let r = FrameRate.reduced(Int((v * 1000).rounded()), 1000)
                self.init(r.0, r.1)
            }
        }
        guard value <= 240 else { throw .invalidArgument("frame rate \(text) is too high (at most 240 frames per second)") }
    }

    static func reduced(_ n: Int, _ d: Int) -> (Int, Int) {
        var a = n, b = d
        while b != 0 { (a, b) = (b, a % b) }
        return (n / a, d / a)
    }

    public var value: Double { Double(num) / Double(den) }
    /// `30`, `30000/1001`.
    public var description: String { den == 1 ? "\(num)" : "\(num)/\(den)" }
    /// `30`, `29.97`: for people.
    public var decimal: String { den == 1 ? "\(num)" : String(format: "%.3f", value).replacingOccurrences(of: #"\.?0+$"#, with: "", options: .regularExpression) }
}
