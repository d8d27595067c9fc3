import CFFmpeg
import Foundation

/// A frame rate as a fraction (30, 25, 30000/1001 …).
public struct FrameRate: Sendable, Equatable, Codable, CustomStringConvertible {
    public var num: Int
    public var den: Int
    public init(_ num: Int, _ den: Int = 1) { self.num = num; self.den = den }

    /// Parses "30", "29.97" or "30000/1001".
    public init(parsing s: String) throws(MediaError) {
        let bad = MediaError.invalidArgument("frame rate '\(s)' is not a positive number or fraction (e.g. 30, 29.97, 30000/1001)")
        if let slash = s.firstIndex(of: "/") {
            guard let n = Int(s[..<slash]), let d = Int(s[s.index(after: slash)...]), n > 0, d > 0 else { throw bad }
            self.init(n, d)
        } else if let i = Int(s) {
            guard i > 0 else { throw bad }
            self.init(i, 1)
        } else if let v = Double(s), v > 0, v.isFinite {
            let d = 1000
            self.init(Int((v * Double(d)).rounded()), d)
            if num <= 0 { throw bad }
        } else {
            throw bad
        }
        guard Double(num) / Double(den) <= 240 else {
            throw .invalidArgument("frame rate \(s) is too high (at most 240 frames per second)")
        }
    }

    public var value: Double { Double(num) / Double(den) }
    public var description: String { den == 1 ? "\(num)" : "\(num)/\(den)" }
}

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

/// Encodes packed RGB frames to an MP4 file (H.264 via libx264 if available, else MPEG-4 part 2),
/// yuv420p, `+faststart`. The file is written under a temporary name and renamed into place only
/// by `finish()`, so an unfinished file never poses as complete.
public final class VideoWriter {
    public let path: String
    public let width: Int, height: Int
    public let frameRate: FrameRate
    /// "h264" or "mpeg4".
    public let codecName: String
    public private(set) var framesWritten = 0

    private let tmpPath: String
    private var output: UnsafeMutablePointer<AVFormatContext>?
    private let codec: CodecContext
    private let stream: UnsafeMutablePointer<AVStream>
    private let frame = Frame()
    private let packet = Packet()
    private let scaler: Scaler
    private var finished = false

    public init(path: String, width: Int, height: Int, frameRate: FrameRate, settings: EncoderSettings = EncoderSettings()) throws(MediaError) {
        Media.configureLogging()
        guard width > 0, height > 0, width % 2 == 0, height % 2 == 0 else {
            throw .invalidArgument("\(path): video size \(width)×\(height) must be positive and even (yuv420p)")
        }
        guard frameRate.num > 0, frameRate.den > 0 else { throw .invalidArgument("\(path): frame rate must be positive") }
        try AtomicFile.checkWritableFolder(for: path)
        self.path = path; self.width = width; self.height = height; self.frameRate = frameRate
        tmpPath = AtomicFile.temporaryPath(for: path)
        scaler = try Scaler(srcW: Int32(width), srcH: Int32(height), src: AV_PIX_FMT_RGB24,
                            dstW: Int32(width), dstH: Int32(height), dst: AV_PIX_FMT_YUV420P, path: path)

        var oc: UnsafeMutablePointer<AVFormatContext>? = nil
        try check(avformat_alloc_output_context2(&oc, nil, "mp4", tmpPath)) { .writeFailed(path: path, reason: $0) }
        output = oc

        let h264 = settings.forceMPEG4 ? nil : avcodec_find_encoder_by_name("libx264")
        guard let enc = h264 ?? avcodec_find_encoder(AV_CODEC_ID_MPEG4) else {
            avformat_free_context(oc)
            throw .unsupported(path: path, reason: "this FFmpeg build has neither libx264 nor an MPEG-4 encoder")
        }
        codecName = h264 != nil ? "h264" : "mpeg4"
        do throws(MediaError) {
            codec = try CodecContext(codec: enc, path: path)
        } catch { avformat_free_context(oc); throw error }
        guard let st = avformat_new_stream(oc, nil) else {
            avformat_free_context(oc)
            throw .writeFailed(path: path, reason: "cannot add a video stream")
        }
        stream = st
        let c = codec.ctx
        c.pointee.width = Int32(width); c.pointee.height = Int32(height)
        c.pointee.time_base = dv_rational(Int32(frameRate.den), Int32(frameRate.num))
        c.pointee.framerate = dv_rational(Int32(frameRate.num), Int32(frameRate.den))
        c.pointee.pix_fmt = AV_PIX_FMT_YUV420P
        c.pointee.gop_size = Int32(max(1, min(250, frameRate.num / max(1, frameRate.den) * 2)))
        c.pointee.max_b_frames = 0  // dts = pts: segments can be joined by stream copy
        c.pointee.color_range = AVCOL_RANGE_MPEG
        c.pointee.colorspace = AVCOL_SPC_BT709; c.pointee.color_primaries = AVCOL_PRI_BT709; c.pointee.color_trc = AVCOL_TRC_BT709
        if oc!.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER != 0 { c.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER }
        var opts: OpaquePointer? = nil
        if h264 != nil {
            av_dict_set(&opts, "crf", "\(settings.crf)", 0)
            av_dict_set(&opts, "preset", settings.preset, 0)
        } else {
            c.pointee.flags |= AV_CODEC_FLAG_QSCALE
            c.pointee.global_quality = Int32(3 * FF_QP2LAMBDA)
        }
        let openResult = avcodec_open2(c, enc, &opts)
        av_dict_free(&opts)
        if openResult < 0 { avformat_free_context(oc); throw .encodeFailed(path: path, reason: errorString(openResult)) }
        st.pointee.time_base = c.pointee.time_base
        st.pointee.avg_frame_rate = c.pointee.framerate
        do throws(MediaError) {
            try check(avcodec_parameters_from_context(st.pointee.codecpar, c)) { .encodeFailed(path: path, reason: $0) }
            try check(avio_open(&oc!.pointee.pb, tmpPath, AVIO_FLAG_WRITE)) { .writeFailed(path: path, reason: $0) }
        } catch { avformat_free_context(oc); output = nil; throw error }
        var muxOpts: OpaquePointer? = nil
        av_dict_set(&muxOpts, "movflags", "+faststart", 0)
        let hr = avformat_write_header(oc, &muxOpts)
        av_dict_free(&muxOpts)
        if hr < 0 { cleanup(); throw .writeFailed(path: path, reason: errorString(hr)) }

        frame.ptr.pointee.width = Int32(width); frame.ptr.pointee.height = Int32(height)
        frame.ptr.pointee.format = AV_PIX_FMT_YUV420P.rawValue
        frame.ptr.pointee.color_range = AVCOL_RANGE_MPEG
        if av_frame_get_buffer(frame.ptr, 0) < 0 { cleanup(); throw .encodeFailed(path: path, reason: "cannot allocate a frame") }
    }

    deinit { if !finished { cleanup() } }

    /// Closes and removes the temporary file (an abandoned or failed write).
    private func cleanup() {
        if let oc = output {
            if oc.pointee.pb != nil { avio_closep(&oc.pointee.pb) }
            avformat_free_context(oc)
            output = nil
        }
        unlink(tmpPath)
    }

    /// Encodes one frame; its size must match the writer's.
    public func write(_ image: RGBImage) throws(MediaError) {
        guard !finished else { throw .invalidArgument("\(path): writer already finished") }
        guard image.width == width, image.height == height else {
            throw .invalidArgument("\(path): frame is \(image.width)×\(image.height), video is \(width)×\(height)")
        }
        try check(av_frame_make_writable(frame.ptr)) { .encodeFailed(path: path, reason: $0) }
        scaler.fromRGB(image, into: frame.ptr)
        frame.ptr.pointee.pts = Int64(framesWritten)
        do throws(MediaError) {
            try check(avcodec_send_frame(codec.ctx, frame.ptr)) { .encodeFailed(path: path, reason: $0) }
            try drain()
        } catch { cleanup(); finished = true; throw error }
        framesWritten += 1
    }

    private func drain() throws(MediaError) {
        while true {
            let r = avcodec_receive_packet(codec.ctx, packet.ptr)
            if r == dv_averror_eagain() || r == dv_averror_eof() { return }
            try check(r) { .encodeFailed(path: path, reason: $0) }
            av_packet_rescale_ts(packet.ptr, codec.ctx.pointee.time_base, stream.pointee.time_base)
            packet.ptr.pointee.stream_index = stream.pointee.index
            let w = av_interleaved_write_frame(output, packet.ptr)
            av_packet_unref(packet.ptr)
            try check(w) { .writeFailed(path: path, reason: Self.explain($0)) }
            if let pb = output?.pointee.pb, pb.pointee.error < 0 {
                throw .writeFailed(path: path, reason: Self.explain(errorString(pb.pointee.error)))
            }
        }
    }

    static func explain(_ s: String) -> String {
        s.lowercased().contains("no space") || s.lowercased().contains("too large") ? "\(s) — the disk is full or the file size limit was reached" : s
    }

    /// Flushes the encoder, writes the trailer (moving the index to the front) and renames the file into place.
    public func finish() throws(MediaError) {
        guard !finished else { return }
        finished = true
        do throws(MediaError) {
            try check(avcodec_send_frame(codec.ctx, nil)) { .encodeFailed(path: path, reason: $0) }
            try drain()
            try check(av_write_trailer(output)) { .writeFailed(path: path, reason: Self.explain($0)) }
            if let pb = output?.pointee.pb, pb.pointee.error < 0 { throw MediaError.writeFailed(path: path, reason: Self.explain(errorString(pb.pointee.error))) }
            try check(avio_closep(&output!.pointee.pb)) { .writeFailed(path: path, reason: Self.explain($0)) }
        } catch { cleanup(); throw error }
        avformat_free_context(output)
        output = nil
        try AtomicFile.commit(tmpPath, to: path)
    }
}

/// Joins MP4 files with identical video parameters into one, by stream copy (no re-encoding).
public enum VideoJoiner {
    /// Writes `inputs` one after another to `path` (atomically, `+faststart`).
    public static func join(_ inputs: [String], to path: String) throws(MediaError) {
        guard !inputs.isEmpty else { throw .invalidArgument("\(path): nothing to join") }
        Media.configureLogging()
        try AtomicFile.checkWritableFolder(for: path)
        let tmp = AtomicFile.temporaryPath(for: path)
        var oc: UnsafeMutablePointer<AVFormatContext>? = nil
        try check(avformat_alloc_output_context2(&oc, nil, "mp4", tmp)) { .writeFailed(path: path, reason: $0) }
        var ok = false
        defer {
            if let o = oc {
                if o.pointee.pb != nil { avio_closep(&o.pointee.pb) }
                avformat_free_context(o)
            }
            if !ok { unlink(tmp) }
        }
        var outStream: UnsafeMutablePointer<AVStream>? = nil
        var offset: Int64 = 0  // in the output stream's time base, after the header fixes it
        var firstParams: (Int32, Int32, Int32)? = nil
        let packet = Packet()
        for (i, file) in inputs.enumerated() {
            let input = try FormatInput(path: file)
            let idx = av_find_best_stream(input.ctx, AVMEDIA_TYPE_VIDEO, -1, -1, nil, 0)
            guard idx >= 0 else { throw .noVideoStream(path: file) }
            let inStream = input.ctx!.pointee.streams[Int(idx)]!
            let par = inStream.pointee.codecpar!
            let params = (par.pointee.width, par.pointee.height, Int32(bitPattern: par.pointee.codec_id.rawValue))
            if i == 0 {
                firstParams = params
                guard let st = avformat_new_stream(oc, nil) else { throw .writeFailed(path: path, reason: "cannot add a stream") }
                try check(avcodec_parameters_copy(st.pointee.codecpar, par)) { .writeFailed(path: path, reason: $0) }
                st.pointee.codecpar.pointee.codec_tag = 0
                st.pointee.time_base = inStream.pointee.time_base
                st.pointee.avg_frame_rate = inStream.pointee.avg_frame_rate
                outStream = st
                try check(avio_open(&oc!.pointee.pb, tmp, AVIO_FLAG_WRITE)) { .writeFailed(path: path, reason: $0) }
                var opts: OpaquePointer? = nil
                av_dict_set(&opts, "movflags", "+faststart", 0)
                let r = avformat_write_header(oc, &opts)
                av_dict_free(&opts)
                try check(r) { .writeFailed(path: path, reason: $0) }
            } else if firstParams! != params {
                throw .unsupported(path: file, reason: "cannot be joined: its size or codec differs from \(inputs[0])")
            }
            let inTB = inStream.pointee.time_base, outTB = outStream!.pointee.time_base
            var end: Int64 = offset
            while true {
                let r = av_read_frame(input.ctx, packet.ptr)
                if r == dv_averror_eof() { break }
                try check(r) { .decodeFailed(path: file, reason: $0) }
                defer { av_packet_unref(packet.ptr) }
                guard packet.ptr.pointee.stream_index == idx else { continue }
                av_packet_rescale_ts(packet.ptr, inTB, outTB)
                if packet.ptr.pointee.pts != dv_nopts_value() { packet.ptr.pointee.pts += offset }
                if packet.ptr.pointee.dts != dv_nopts_value() { packet.ptr.pointee.dts += offset }
                end = max(end, (packet.ptr.pointee.pts == dv_nopts_value() ? packet.ptr.pointee.dts : packet.ptr.pointee.pts) + packet.ptr.pointee.duration)
                packet.ptr.pointee.stream_index = 0
                packet.ptr.pointee.pos = -1
                try check(av_interleaved_write_frame(oc, packet.ptr)) { .writeFailed(path: path, reason: VideoWriter.explain($0)) }
            }
            offset = end
        }
        try check(av_write_trailer(oc)) { .writeFailed(path: path, reason: VideoWriter.explain($0)) }
        try check(avio_closep(&oc!.pointee.pb)) { .writeFailed(path: path, reason: VideoWriter.explain($0)) }
        try AtomicFile.commit(tmp, to: path)
        ok = true
    }
}
