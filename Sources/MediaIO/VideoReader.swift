import CFFmpeg
import Foundation

/// A decoded picture with its presentation time.
public struct VideoFrame: Sendable {
    public var image: RGBImage
    /// Presentation time in the stream's time base (synthesised from the frame rate when the file has none).
    public var pts: Int64
    /// `pts` in seconds on the file's clock.
    public var time: Double
    /// How long the frame shows, in the stream's time base, when the file says.
    public var duration: Int64?
}

/// Decodes the best video (or image) stream of a file into upright RGB frames: any container and pixel
/// format FFmpeg reads (8/10-bit, 4:2:0/4:2:2/4:4:4, gray, alpha composited over white), rotation metadata
/// honoured, every frame with its own timestamp (variable frame rate kept). Damaged packets in the middle
/// of a file are skipped and counted rather than ending the read.
public final class VideoReader {
    public let path: String
    private let input: FormatInput
    private let codec: CodecContext
    private let streamIndex: Int32
    private let packet = Packet()
    private let frame = Frame()
    private var scaler: Scaler?
    private var draining = false
    private var finished = false
    private var framesOut = 0
    private var lastPTS: Int64 = Int64.min
    /// Clockwise quarter turns to apply so the picture is upright.
    public let quarterTurns: Int

    /// The largest picture side accepted (bigger streams are refused before decoding).
    public static let maxSide = 8192

    /// Coded width and height (before rotation).
    public var codedSize: (width: Int, height: Int) { (Int(codec.ctx.pointee.width), Int(codec.ctx.pointee.height)) }
    /// Display size (after rotation).
    public var size: (width: Int, height: Int) {
        quarterTurns % 2 == 0 ? codedSize : (codedSize.height, codedSize.width)
    }
    /// Average frame rate as (numerator, denominator); (0, 1) if unknown.
    public let frameRate: (num: Int, den: Int)
    /// Duration in seconds if the container knows it.
    public let duration: Double?
    /// The stream's declared frame count (0 if unknown).
    public let declaredFrameCount: Int
    public let codecName: String
    /// Time base of the stream, for timestamps of decoded frames.
    public let timeBase: (num: Int, den: Int)
    /// Presentation time of the stream's first frame, in its time base (0 if unknown).
    public let startPTS: Int64
    /// Whether the file has at least one audio stream.
    public let hasAudio: Bool
    /// Damaged packets or frames skipped so far.
    public private(set) var damaged = 0

    public init(path: String) throws(MediaError) {
        self.path = path
        Media.configureLogging()
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            throw .cannotOpen(path: path, reason: "is a directory")
        }
        input = try FormatInput(path: path)
        let fmt = input.ctx!
        var dec: UnsafePointer<AVCodec>? = nil
        let idx = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &dec, 0)
        guard idx >= 0, let dec else {
            if idx == dv_averror_decoder_not_found() || (dec == nil && idx >= 0) {
                throw .unsupported(path: path, reason: "no decoder for its video codec in this FFmpeg build")
            }
            throw .noVideoStream(path: path)
        }
        streamIndex = idx
        let stream = fmt.pointee.streams[Int(idx)]!
        codec = try CodecContext(codec: dec, path: path)
        try check(avcodec_parameters_to_context(codec.ctx, stream.pointee.codecpar)) { .decodeFailed(path: path, reason: $0) }
        codec.ctx.pointee.thread_count = 0
        codec.ctx.pointee.pkt_timebase = stream.pointee.time_base
        try check(avcodec_open2(codec.ctx, dec, nil)) { .decodeFailed(path: path, reason: $0) }
        let w = Int(codec.ctx.pointee.width), h = Int(codec.ctx.pointee.height)
        guard w > 0, h > 0 else { throw .decodeFailed(path: path, reason: "the stream has no picture size") }
        guard w <= VideoReader.maxSide, h <= VideoReader.maxSide else {
            throw .unsupported(path: path, reason: "its pictures are \(w)×\(h); the largest side dreamvideo reads is \(VideoReader.maxSide) px")
        }
        // Rotation from the display matrix (phones write it for portrait video).
        var turns = 0
        var sdSize: Int = 0
        if let sd = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, &sdSize), sdSize >= 36 {
            let angle = sd.withMemoryRebound(to: Int32.self, capacity: 9) { av_display_rotation_get($0) }
            if angle.isFinite {
                // av_display_rotation_get returns the counter-clockwise angle that was applied.
                turns = ((Int((-angle / 90).rounded()) % 4) + 4) % 4
            }
        }
        quarterTurns = turns
        let r = stream.pointee.avg_frame_rate.num > 0 ? stream.pointee.avg_frame_rate : stream.pointee.r_frame_rate
        frameRate = r.num > 0 && r.den > 0 ? (Int(r.num), Int(r.den)) : (0, 1)
        timeBase = (Int(stream.pointee.time_base.num), Int(stream.pointee.time_base.den))
        if stream.pointee.duration != dv_nopts_value() && stream.pointee.duration > 0 {
            duration = Double(stream.pointee.duration) * av_q2d(stream.pointee.time_base)
        } else if fmt.pointee.duration != dv_nopts_value() && fmt.pointee.duration > 0 {
            duration = Double(fmt.pointee.duration) / Double(dv_av_time_base())
        } else {
            duration = nil
        }
        startPTS = stream.pointee.start_time != dv_nopts_value() ? stream.pointee.start_time : 0
        declaredFrameCount = Int(stream.pointee.nb_frames)
        codecName = String(cString: avcodec_get_name(stream.pointee.codecpar.pointee.codec_id))
        hasAudio = (0..<Int(fmt.pointee.nb_streams)).contains { fmt.pointee.streams[$0]!.pointee.codecpar.pointee.codec_type == AVMEDIA_TYPE_AUDIO }
    }

    /// One frame's length in stream ticks, from the average frame rate (1 tick if unknown).
    public var nominalFrameTicks: Int64 {
        guard frameRate.num > 0, timeBase.num > 0 else { return 1 }
        return max(1, av_rescale(Int64(frameRate.den), Int64(timeBase.den), Int64(frameRate.num) * Int64(timeBase.num)))
    }

    /// The next frame, or nil at the end.
    public func next() throws(MediaError) -> VideoFrame? {
        if finished { return nil }
        var consecutiveErrors = 0
        while true {
            let r = avcodec_receive_frame(codec.ctx, frame.ptr)
            if r >= 0 {
                defer { av_frame_unref(frame.ptr) }
                if frame.ptr.pointee.flags & AV_FRAME_FLAG_CORRUPT != 0 || frame.ptr.pointee.decode_error_flags != 0 { damaged += 1 }
                return try convert(frame.ptr)
            }
            if r == dv_averror_eof() { finished = true; return nil }
            if r != dv_averror_eagain() {
                // A frame the decoder could not rebuild: skip it.
                damaged += 1
                consecutiveErrors += 1
                if consecutiveErrors > 1000 { throw .decodeFailed(path: path, reason: errorString(r)) }
                continue
            }
            if draining { finished = true; return nil }
            // Feed the decoder the next packet of our stream.
            while true {
                let rr = av_read_frame(input.ctx, packet.ptr)
                if rr == dv_averror_eof() || (rr < 0 && avio_feof(input.ctx!.pointee.pb) != 0) {
                    draining = true
                    _ = avcodec_send_packet(codec.ctx, nil)
                    break
                }
                if rr < 0 {
                    // A damaged stretch of the container: skip it, but not for ever.
                    damaged += 1
                    consecutiveErrors += 1
                    if consecutiveErrors > 1000 { throw .decodeFailed(path: path, reason: errorString(rr)) }
                    continue
                }
                defer { av_packet_unref(packet.ptr) }
                if packet.ptr.pointee.stream_index != streamIndex { continue }
                let s = avcodec_send_packet(codec.ctx, packet.ptr)
                if s < 0 && s != dv_averror_eagain() {
                    damaged += 1
                    consecutiveErrors += 1
                    if consecutiveErrors > 1000 { throw .decodeFailed(path: path, reason: errorString(s)) }
                    continue
                }
                break
            }
        }
    }

    private func convert(_ f: UnsafeMutablePointer<AVFrame>) throws(MediaError) -> VideoFrame {
        let w = f.pointee.width, h = f.pointee.height
        guard w > 0, h > 0, Int(w) <= VideoReader.maxSide, Int(h) <= VideoReader.maxSide else {
            throw .unsupported(path: path, reason: "a frame is \(w)×\(h); the largest side dreamvideo reads is \(VideoReader.maxSide) px")
        }
        let format = AVPixelFormat(rawValue: f.pointee.format)
        let alpha = (av_pix_fmt_desc_get(format)?.pointee.flags ?? 0) & UInt64(AV_PIX_FMT_FLAG_ALPHA) != 0
        let matrix = Scaler.matrix(for: f.pointee.colorspace), fullRange = f.pointee.color_range == AVCOL_RANGE_JPEG
        if scaler == nil || scaler!.srcW != w || scaler!.srcH != h || scaler!.src != format || scaler!.matrix != matrix || scaler!.fullRange != fullRange {
            scaler = try Scaler(srcW: w, srcH: h, src: format, dstW: w, dstH: h, dst: alpha ? AV_PIX_FMT_RGBA : AV_PIX_FMT_RGB24, path: path,
                                matrix: matrix, fullRange: fullRange)
        }
        let image = (alpha ? scaler!.toRGBOverWhite(f) : scaler!.toRGB(f)).rotated(clockwiseQuarterTurns: quarterTurns)
        var pts = f.pointee.best_effort_timestamp
        if pts == dv_nopts_value() { pts = lastPTS == Int64.min ? startPTS : lastPTS + nominalFrameTicks }
        if pts <= lastPTS { pts = lastPTS + 1 }  // keep times increasing whatever the file says
        lastPTS = pts
        framesOut += 1
        let d = f.pointee.pkt_duration
        return VideoFrame(image: image, pts: pts, time: Double(pts) * Double(timeBase.num) / Double(timeBase.den),
                          duration: d > 0 ? d : nil)
    }

    /// Positions the reader so that `next()` returns the first frame shown at or after `seconds`
    /// (on the file's clock).
    public func seek(toSeconds seconds: Double) throws(MediaError) {
        guard seconds.isFinite, seconds > 0 else { return try seek(toPTS: Int64.min) }
        try seek(toPTS: Int64((seconds * Double(timeBase.den) / Double(timeBase.num)).rounded(.down)))
    }

    /// Positions the reader so that `next()` returns the first frame with a timestamp at or after `target`
    /// (stream time base): seeks to the keyframe before it, then decodes and drops what comes earlier.
    public func seek(toPTS target: Int64) throws(MediaError) {
        if av_seek_frame(input.ctx, streamIndex, target, AVSEEK_FLAG_BACKWARD) < 0 {
            // Not seekable that way: from the start.
            _ = av_seek_frame(input.ctx, streamIndex, Int64.min, AVSEEK_FLAG_BACKWARD | AVSEEK_FLAG_ANY)
        }
        avcodec_flush_buffers(codec.ctx)
        draining = false; finished = false; lastPTS = Int64.min
        pending = nil
        while let f = try next() {
            if f.pts >= target { pending = f; return }
        }
    }

    /// A frame decoded by `seek` and not yet returned.
    private var pending: VideoFrame?

    /// The next frame as upright RGB with its presentation time in seconds, or nil at the end.
    public func nextFrame() throws(MediaError) -> (image: RGBImage, time: Double?)? {
        guard let f = try nextVideoFrame() else { return nil }
        return (f.image, f.time)
    }

    /// `next()`, after any frame `seek` left pending.
    public func nextVideoFrame() throws(MediaError) -> VideoFrame? {
        if let p = pending { pending = nil; return p }
        return try next()
    }

    /// Decodes every remaining frame.
    public func readAll() throws(MediaError) -> [RGBImage] {
        var out: [RGBImage] = []
        while let f = try nextVideoFrame() { out.append(f.image) }
        return out
    }
}
