import DreamEngine

/// An ImageNet class to dream (the seed's own point: what does the network find essential for a class),
/// with its weight. Text form: a class name (`tiger cat`) or number (`282`), optionally `:WEIGHT`.
public struct ClassTerm: Sendable, Equatable, Codable, CustomStringConvertible {
    public var index: Int
    public var weight: Schedule

    public init(index: Int, weight: Schedule = Schedule(1)) { self.index = index; self.weight = weight }

    public var label: String { index < ImageNetLabels.names.count ? ImageNetLabels.names[index] : "class \(index)" }

    /// The node whose outputs are the class logits.
    static func logitsNode(_ model: String) -> String { (try? ModelProfiles.profile(model).definition.logits ?? "fc") ?? "fc" }

    /// Reads `NAME`, `NUMBER`, `NAME:WEIGHT`; names match the label list ignoring case, a unique label
    /// containing the text also matches; an ambiguous name lists its candidates.
    public init(parsing text: String) throws(ScheduleError) {
        let t = text.trimmingCharacters(in: .whitespaces)
        if let colon = t.firstIndex(of: ":") {
            weight = try Schedule(parsing: String(t[t.index(after: colon)...]))
            index = try ClassTerm.lookup(t[..<colon].trimmingCharacters(in: .whitespaces))
        } else {
            weight = Schedule(1)
            index = try ClassTerm.lookup(t)
        }
    }

    static func lookup(_ name: String) throws(ScheduleError) -> Int {
        let labels = ImageNetLabels.names
        if let n = Int(name) {
            guard n >= 0, n < labels.count else { throw ScheduleError("class number \(n) is not 0…\(labels.count - 1)") }
            return n
        }
        let key = name.lowercased()
        guard !key.isEmpty else { throw ScheduleError("is empty: give an ImageNet class name or number") }
        let exact = labels.indices.filter { labels[$0].lowercased() == key }
        if exact.count == 1 { return exact[0] }
        // Otherwise the classes with a word starting with the name ("retriever", "jelly"); not any substring ("nan" is not "banana").
        let startsAWord = { (label: String) in
            label.lowercased().split(whereSeparator: { " -,'".contains($0) }).contains { $0.hasPrefix(key) } || label.lowercased().hasPrefix(key)
        }
        let candidates = exact.count > 1 ? exact : labels.indices.filter { startsAWord(labels[$0]) }
        if candidates.count == 1 { return candidates[0] }
        if candidates.count > 1 {
            let list = candidates.prefix(12).map { "\(labels[$0]) (\($0))" }.joined(separator: ", ")
            throw ScheduleError("'\(name)' matches several classes: \(list)\(candidates.count > 12 ? ", …" : ""); give the exact name or the number")
        }
        let near = Graph.nearest(name, in: labels, count: 3)
        throw ScheduleError("'\(name)' is not an ImageNet class (nearest: \(near.joined(separator: ", ")); `dreamvideo classify` shows names)")
    }

    public var description: String { weight == Schedule(1) ? "\(index)" : "\(index):\(weight)" }

    public init(from decoder: any Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(parsing: s) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "class '\(s)' \(error.message)"))
        }
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// How a dream keeps the colours of its start.
public enum ColorKeeping: String, Sendable, Codable, CaseIterable {
    /// Colours drift as the dream likes.
    case none
    /// Keep the start picture's chroma: the dream changes only lightness.
    case luminance
    /// Match each colour channel's histogram to the reference's (the input, the zoom's seed, the source frame).
    case histogram
}
