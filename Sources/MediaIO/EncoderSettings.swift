/// Video encoder settings.
public struct EncoderSettings: Sendable, Equatable, Codable {
    /// H.264 constant rate factor (0–51, lower is better).
    public var crf: Int = 18
    /// x264 preset (ultrafast … veryslow).
    public var preset: String = "medium"
    /// Force MPEG-4 part 2 even when libx264 exists.
    public var forceMPEG4 = false
    public init(crf: Int = 18, preset: String = "medium", forceMPEG4: Bool = false) {
        self.crf = crf; self.preset = preset; self.forceMPEG4 = forceMPEG4
    }
    public static let x264Presets = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"]
}

