import CFFmpeg
import Foundation

/// A time base: timestamps count units of num/den seconds.
public struct TimeBase: Sendable, Equatable, Codable, CustomStringConvertible {
    public var num: Int
    public var den: Int
    public init(_ num: Int, _ den: Int) { self.num = num; self.den = den }
    /// One tick per frame.
    public init(frameRate r: FrameRate) { self.init(r.den, r.num) }
    public var seconds: Double { Double(num) / Double(den) }
    public var description: String { "\(num)/\(den)" }
    var rational: AVRational { dv_rational(Int32(clamping: num), Int32(clamping: den)) }
    /// Whether FFmpeg can hold it (positive 32-bit numerator and denominator).
    public var isValid: Bool { num > 0 && den > 0 && num <= Int(Int32.max) && den <= Int(Int32.max) }
}

/// Encodes packed RGB frames to an MP4 file (H.264 via libx264 if available, else MPEG-4 part 2, yuv420p; or
/// HEVC Main 10 via libx265, yuv420p10), `+faststart`. The file is written under a temporary name and renamed into place only
/// by `finish()`, so an unfinished file never poses as complete.
///
/// Timestamps: by default frame n is shown at n / frameRate. For variable frame rate (re-dreamed
/// footage) give a `timeBase` and pass each frame's `pts` in it.
public final class VideoWriter {
    public let path: String
    public let width: Int, height: Int
    public let frameRate: FrameRate
    public let timeBase: TimeBase
    /// "h264", "hevc" or "mpeg4".
    public let codecName: String
    public private(set) var framesWritten = 0
    /// Packets handed to the file so far. Frames are encoded in order (no B-frames), so packet i is frame i, and
    /// `framesWritten − packetsWritten` frames are still inside the encoder (its look-ahead).
    public private(set) var packetsWritten = 0
    /// Presentation time of the last frame written, in `timeBase` units.
    public private(set) var lastPTS: Int64 = -1

    private let output: FormatOutput
    private let codec: CodecContext
    private let stream: UnsafeMutablePointer<AVStream>
    private let frame = Frame()
    private let packet = Packet()
    private let scaler: Scaler
    /// Encoder time base ticks per writer time-base tick (MPEG-4 part 2 limits its denominator).
    private let encoderScale: (num: Int64, den: Int64)
    private var durations: [Int64: Int64] = [:]
    private var finished = false

    /// `fragmented`: write in place as a fragmented MP4 whose fragments end at each `flush()`, for a render that
    /// keeps one encoder across its checkpoints (see `FormatOutput`).
    public init(path: String, width: Int, height: Int, frameRate: FrameRate, timeBase: TimeBase? = nil,
                settings: EncoderSettings = EncoderSettings(), fragmented: Bool = false) throws(MediaError) {
        Media.configureLogging()
        guard width > 0, height > 0, width % 2 == 0, height % 2 == 0 else {
            throw .invalidArgument("\(path): video size \(width)×\(height) must be positive and even (yuv420p)")
        }
        guard frameRate.num > 0, frameRate.den > 0, TimeBase(frameRate: frameRate).isValid else {
            throw .invalidArgument("\(path): frame rate must be positive")
        }
        let tb = timeBase ?? TimeBase(frameRate: frameRate)
        guard tb.isValid else { throw .invalidArgument("\(path): time base \(tb) is not usable") }
        self.path = path; self.width = width; self.height = height; self.frameRate = frameRate; self.timeBase = tb
        let hevc = settings.codec == .h265_10bit
        if hevc && settings.forceMPEG4 {
            throw .invalidArgument("\(path): MPEG-4 part 2 and HEVC asked for at once; choose one codec")
        }
        let pixels = hevc ? AV_PIX_FMT_YUV420P10LE : AV_PIX_FMT_YUV420P
        let enc: UnsafePointer<AVCodec>
        if hevc {
            guard Media.hasHEVCEncoder, let e = avcodec_find_encoder_by_name("libx265") else {
                throw .unsupported(path: path, reason: "this FFmpeg build has no 10-bit HEVC encoder (libx265); encode H.264 instead")
            }
            enc = e
            codecName = "hevc"
        } else {
            let h264 = settings.forceMPEG4 ? nil : avcodec_find_encoder_by_name("libx264")
            guard let e = h264 ?? avcodec_find_encoder(AV_CODEC_ID_MPEG4) else {
                throw .unsupported(path: path, reason: "this FFmpeg build has neither libx264 nor an MPEG-4 encoder")
            }
            enc = e
            codecName = h264 != nil ? "h264" : "mpeg4"
        }
        output = try FormatOutput(path: path, fragmented: fragmented)
        scaler = try Scaler(srcW: Int32(width), srcH: Int32(height), src: AV_PIX_FMT_RGB24,
                            dstW: Int32(width), dstH: Int32(height), dst: pixels, path: path, matrix: SWS_CS_ITU709)  // as tagged below
        codec = try CodecContext(codec: enc, path: path)
        stream = try output.addStream()
        // MPEG-4 part 2 allows time-base denominators up to 65535: use a coarser clock for it when needed.
        var encTB = tb
        if codecName == "mpeg4" && tb.den > 65535 {
            encTB = TimeBase(frameRate.den, frameRate.num)
            if encTB.den > 65535 { encTB = TimeBase(1, 1000) }
        }
        encoderScale = (Int64(tb.num) * Int64(encTB.den), Int64(tb.den) * Int64(encTB.num))
        let c = codec.ctx
        c.pointee.width = Int32(width); c.pointee.height = Int32(height)
        c.pointee.time_base = encTB.rational
        c.pointee.framerate = dv_rational(Int32(frameRate.num), Int32(frameRate.den))
        c.pointee.pix_fmt = pixels
        // A key frame every 10 s (at most 300 frames): each one resets the encoder's picture of the scene, which
        // shows as a small jump in a dream's fine texture (measured: warp error 2.6 at a key frame, 1.45 around it).
        c.pointee.gop_size = Int32(max(1, min(300, frameRate.num / max(1, frameRate.den) * 10)))
        c.pointee.max_b_frames = 0  // dts = pts: segments can be joined by stream copy
        c.pointee.color_range = AVCOL_RANGE_MPEG
        c.pointee.colorspace = AVCOL_SPC_BT709; c.pointee.color_primaries = AVCOL_PRI_BT709; c.pointee.color_trc = AVCOL_TRC_BT709
        if output.needsGlobalHeader { c.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER }
        var opts: OpaquePointer? = nil
        if codecName != "mpeg4" {
            av_dict_set(&opts, "crf", "\(settings.crf)", 0)
            av_dict_set(&opts, "preset", settings.preset, 0)
            // x265 opens GOPs and uses B-frames unless told: closed GOPs and dts = pts keep segments joinable by copy.
            // x265's crf 0 is not lossless (x264's is): ask for it.
            if hevc { av_dict_set(&opts, "x265-params", "log-level=error:bframes=0:open-gop=0" + (settings.crf == 0 ? ":lossless=1" : ""), 0) }
        } else {
            c.pointee.flags |= AV_CODEC_FLAG_QSCALE
            c.pointee.global_quality = Int32(3 * FF_QP2LAMBDA)
        }
        let openResult = avcodec_open2(c, enc, &opts)
        av_dict_free(&opts)
        try check(openResult) { .encodeFailed(path: path, reason: $0) }
        stream.pointee.time_base = c.pointee.time_base
        stream.pointee.avg_frame_rate = c.pointee.framerate
        try check(avcodec_parameters_from_context(stream.pointee.codecpar, c)) { .encodeFailed(path: path, reason: $0) }
        stream.pointee.codecpar.pointee.codec_tag = mp4Tag(for: c.pointee.codec_id)
        try output.start()

        frame.ptr.pointee.width = Int32(width); frame.ptr.pointee.height = Int32(height)
        frame.ptr.pointee.format = pixels.rawValue
        frame.ptr.pointee.color_range = AVCOL_RANGE_MPEG
        try check(av_frame_get_buffer(frame.ptr, 0)) { .encodeFailed(path: path, reason: "cannot allocate a frame (\($0))") }
    }

    /// Encodes one frame; its size must match the writer's. `pts` (in `timeBase`) defaults to the frame
    /// number; it must increase. `duration` (in `timeBase`) is how long the frame shows, when known.
    public func write(_ image: RGBImage, pts: Int64? = nil, duration: Int64? = nil) throws(MediaError) {
        guard !finished else { throw .invalidArgument("\(path): writer already finished") }
        guard image.width == width, image.height == height else {
            throw .invalidArgument("\(path): frame is \(image.width)×\(image.height), video is \(width)×\(height)")
        }
        let t = pts ?? lastPTS + 1
        let encPTS = rescale(t)
        guard t > lastPTS, framesWritten == 0 || encPTS > rescale(lastPTS) else {
            throw .invalidArgument("\(path): frame time \(t) does not follow \(lastPTS)")
        }
        do throws(MediaError) {
            try check(av_frame_make_writable(frame.ptr)) { .encodeFailed(path: path, reason: $0) }
            scaler.fromRGB(image, into: frame.ptr)
            frame.ptr.pointee.pts = encPTS
            // Every packet carries its duration (one tick when not given): a fragment's last frame needs it.
            durations[encPTS] = max(1, rescale(t + max(1, duration ?? 1)) - encPTS)
            try check(avcodec_send_frame(codec.ctx, frame.ptr)) { .encodeFailed(path: path, reason: $0) }
            try drain()
        } catch { finished = true; output.discard(); throw error }
        framesWritten += 1
        lastPTS = t
    }

    private func rescale(_ t: Int64) -> Int64 {
        encoderScale.num == encoderScale.den ? t : av_rescale(t, encoderScale.num, encoderScale.den)
    }

    private func drain() throws(MediaError) {
        while true {
            let r = avcodec_receive_packet(codec.ctx, packet.ptr)
            if r == dv_averror_eagain() || r == dv_averror_eof() { return }
            try check(r) { .encodeFailed(path: path, reason: $0) }
            if let d = durations.removeValue(forKey: packet.ptr.pointee.pts) { packet.ptr.pointee.duration = d }
            av_packet_rescale_ts(packet.ptr, codec.ctx.pointee.time_base, stream.pointee.time_base)
            packet.ptr.pointee.stream_index = stream.pointee.index
            defer { av_packet_unref(packet.ptr) }
            try output.write(packet.ptr)
            packetsWritten += 1
        }
    }

    /// A fragmented writer: ends a fragment after the packets written so far (the encoder keeps its look-ahead
    /// and goes on) and returns the file's length; the first `packetsWritten` frames are then in the file.
    public func flush() throws(MediaError) -> Int64 {
        guard !finished else { throw .invalidArgument("\(path): writer already finished") }
        do throws(MediaError) { return try output.flushFragment() } catch { finished = true; output.discard(); throw error }
    }

    /// Flushes the encoder, writes the trailer (moving the index to the front) and renames the file into place.
    public func finish() throws(MediaError) {
        guard !finished else { return }
        finished = true
        do throws(MediaError) {
            try check(avcodec_send_frame(codec.ctx, nil)) { .encodeFailed(path: path, reason: $0) }
            try drain()
            try output.finish()
        } catch { output.discard(); throw error }
    }
}

/// The MP4 sample entry for a codec: HEVC as `hvc1` (parameter sets in the header only), which Apple's players
/// require; others the muxer's own choice (0).
func mp4Tag(for codec: AVCodecID) -> UInt32 {
    codec == AV_CODEC_ID_HEVC ? UInt32(UInt8(ascii: "h")) | UInt32(UInt8(ascii: "v")) << 8 | UInt32(UInt8(ascii: "c")) << 16 | UInt32(UInt8(ascii: "1")) << 24 : 0
}
