/// The video codec of an output.
public enum VideoCodec: String, Sendable, Codable, CaseIterable {
    /// H.264 (libx264), 8-bit 4:2:0: plays everywhere.
    case h264
    /// HEVC Main 10 (libx265), 10-bit 4:2:0, tagged `hvc1`: a quarter of a level per step instead of a level, so a
    /// dream's smooth shading does not band (its frame-to-frame rounding flicker is about as H.264's without B-frames:
    /// docs/redream.md).
    case h265_10bit = "h265-10bit"
}

/// Video encoder settings.
public struct EncoderSettings: Sendable, Equatable, Codable {
    /// Constant rate factor (0–51, lower is better), for either codec.
    public var crf: Int = 18
    /// x264/x265 speed preset (ultrafast … veryslow).
    public var preset: String = "medium"
    /// Force MPEG-4 part 2 even when libx264 exists (H.264 only).
    public var forceMPEG4 = false
    public var codec: VideoCodec = .h264
    public init(crf: Int = 18, preset: String = "medium", forceMPEG4: Bool = false, codec: VideoCodec = .h264) {
        self.crf = crf; self.preset = preset; self.forceMPEG4 = forceMPEG4; self.codec = codec
    }
    public static let x264Presets = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"]

    private enum CodingKeys: String, CodingKey { case crf, preset, forceMPEG4, codec }
    /// Settings written before `codec` existed are H.264's.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        crf = try c.decode(Int.self, forKey: .crf)
        preset = try c.decode(String.self, forKey: .preset)
        forceMPEG4 = try c.decode(Bool.self, forKey: .forceMPEG4)
        codec = try c.decodeIfPresent(VideoCodec.self, forKey: .codec) ?? .h264
    }
}
