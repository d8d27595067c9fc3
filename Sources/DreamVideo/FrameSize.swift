import Foundation

/// A width × height pair parsed from "WxH".
public struct FrameSize: Sendable, Equatable, Codable, CustomStringConvertible {
    public var width: Int, height: Int
    public init(width: Int, height: Int) { self.width = width; self.height = height }
    public static let maxSide = 8192

    public init(parsing s: String) throws {
        let parts = s.lowercased().split(separator: "x")
        guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]) else {
            throw DreamVideoError.invalidArgument("size '\(s)' is not WIDTHxHEIGHT (e.g. 1280x720)")
        }
        try self.init(checking: w, h)
    }

    public init(checking w: Int, _ h: Int) throws {
        guard w >= 16, h >= 16 else { throw DreamVideoError.invalidArgument("size \(w)x\(h) is too small: each side must be at least 16 px") }
        guard w <= FrameSize.maxSide, h <= FrameSize.maxSide else {
            throw DreamVideoError.invalidArgument("size \(w)x\(h) is too large: each side must be at most \(FrameSize.maxSide) px")
        }
        width = w; height = h
    }
    public var description: String { "\(width)x\(height)" }
}
