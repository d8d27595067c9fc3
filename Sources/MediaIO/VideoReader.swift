import CFFmpeg
import Foundation

/// Decodes the best video (or image) stream of a file into RGB frames, honouring rotation metadata.
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
    /// Clockwise quarter turns to apply so the picture is upright.
    public let quarterTurns: Int

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
        try check(avcodec_open2(codec.ctx, dec, nil)) { .decodeFailed(path: path, reason: $0) }
        guard codec.ctx.pointee.width > 0, codec.ctx.pointee.height > 0 else {
            throw .decodeFailed(path: path, reason: "the stream has no picture size")
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
        declaredFrameCount = Int(stream.pointee.nb_frames)
        codecName = String(cString: avcodec_get_name(stream.pointee.codecpar.pointee.codec_id))
    }

    /// The next frame as upright RGB with its presentation time in seconds, or nil at the end.
    public func nextFrame() throws(MediaError) -> (image: RGBImage, time: Double?)? {
        if finished { return nil }
        while true {
            let r = avcodec_receive_frame(codec.ctx, frame.ptr)
            if r >= 0 {
                defer { av_frame_unref(frame.ptr) }
                let f = frame.ptr
                let w = f.pointee.width, h = f.pointee.height
                if scaler == nil || scaler!.srcW != w || scaler!.srcH != h {
                    scaler = try Scaler(srcW: w, srcH: h, src: AVPixelFormat(rawValue: f.pointee.format),
                                        dstW: w, dstH: h, dst: AV_PIX_FMT_RGB24, path: path)
                }
                let img = scaler!.toRGB(f).rotated(clockwiseQuarterTurns: quarterTurns)
                let pts = f.pointee.best_effort_timestamp
                let t = pts == dv_nopts_value() ? nil : Double(pts) * Double(timeBase.num) / Double(timeBase.den)
                return (img, t)
            }
            if r == dv_averror_eof() { finished = true; return nil }
            if r != dv_averror_eagain() { throw .decodeFailed(path: path, reason: errorString(r)) }
            if draining { finished = true; return nil }
            // Feed the decoder the next packet of our stream.
            while true {
                let rr = av_read_frame(input.ctx, packet.ptr)
                if rr == dv_averror_eof() || (rr < 0 && avio_feof(input.ctx!.pointee.pb) != 0) {
                    draining = true
                    try check(avcodec_send_packet(codec.ctx, nil)) { .decodeFailed(path: path, reason: $0) }
                    break
                }
                if rr < 0 { throw .decodeFailed(path: path, reason: errorString(rr)) }
                defer { av_packet_unref(packet.ptr) }
                if packet.ptr.pointee.stream_index != streamIndex { continue }
                let s = avcodec_send_packet(codec.ctx, packet.ptr)
                if s < 0 && s != dv_averror_eagain() { throw .decodeFailed(path: path, reason: errorString(s)) }
                break
            }
        }
    }

    /// Decodes every remaining frame.
    public func readAll() throws(MediaError) -> [RGBImage] {
        var out: [RGBImage] = []
        while let f = try nextFrame() { out.append(f.image) }
        return out
    }
}

