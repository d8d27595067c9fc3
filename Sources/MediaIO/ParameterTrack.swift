import CFFmpeg
import Foundation

/// A text subtitle stream (MP4 `mov_text`, which every common player shows) carrying one line per video
/// frame: a render's evaluated settings. Written by `VideoJoiner` next to the video; read back by `read`.
final class ParameterTrackWriter {
    private let codec: CodecContext
    let stream: UnsafeMutablePointer<AVStream>
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)
    private let path: String

    /// A minimal ASS header: the mov_text encoder takes its default style from it.
    static let header = """
        [Script Info]\r\nScriptType: v4.00+\r\nPlayResX: 384\r\nPlayResY: 288\r\n\r\n[V4+ Styles]\r\n\
        Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\r\n\
        Style: Default,Sans,12,&Hffffff,&Hffffff,&H0,&H0,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,0\r\n\r\n\
        [Events]\r\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\r\n
        """

    init(output: FormatOutput, timeBase: AVRational) throws(MediaError) {
        path = output.path
        guard let enc = avcodec_find_encoder(AV_CODEC_ID_MOV_TEXT) else {
            throw .unsupported(path: output.path, reason: "this FFmpeg has no mov_text encoder for the parameter track")
        }
        codec = try CodecContext(codec: enc, path: output.path)
        let c = codec.ctx
        c.pointee.time_base = timeBase
        let bytes = Array(ParameterTrackWriter.header.utf8)
        guard let h = av_malloc(bytes.count + 1)?.assumingMemoryBound(to: UInt8.self) else { throw .invalidArgument("\(output.path): out of memory") }
        for (i, b) in bytes.enumerated() { h[i] = b }
        h[bytes.count] = 0
        c.pointee.subtitle_header = h
        c.pointee.subtitle_header_size = Int32(bytes.count)
        try check(avcodec_open2(c, enc, nil)) { .encodeFailed(path: output.path, reason: "parameter track: \($0)") }
        stream = try output.addStream()
        try check(avcodec_parameters_from_context(stream.pointee.codecpar, c)) { .encodeFailed(path: output.path, reason: $0) }
        stream.pointee.time_base = timeBase
        av_dict_set(&stream.pointee.metadata, "handler_name", "dreamvideo parameters", 0)
        av_dict_set(&stream.pointee.metadata, "title", "dreamvideo parameters", 0)
    }

    /// Encodes `text` shown from `pts` for `duration` (in `timeBase`, the stream's before the header is written,
    /// rescaled by the caller) into `packet`.
    func packet(_ text: String, pts: Int64, duration: Int64, into packet: UnsafeMutablePointer<AVPacket>) throws(MediaError) {
        // ASS dialogue fields: ReadOrder, Layer, Style, Name, MarginL, MarginR, MarginV, Effect, Text.
        let line = "0,0,Default,,0,0,0,," + text.replacingOccurrences(of: "\n", with: "\\N")
        var n: Int32 = 0
        line.withCString { cs in
            var rect = AVSubtitleRect()
            rect.type = SUBTITLE_ASS
            rect.ass = UnsafeMutablePointer(mutating: cs)
            withUnsafeMutablePointer(to: &rect) { r in
                var rects: UnsafeMutablePointer<AVSubtitleRect>? = r
                withUnsafeMutablePointer(to: &rects) { rp in
                    var sub = AVSubtitle()
                    sub.num_rects = 1
                    sub.rects = rp
                    sub.start_display_time = 0
                    sub.end_display_time = UInt32(clamping: duration)
                    n = buffer.withUnsafeMutableBufferPointer { b in avcodec_encode_subtitle(codec.ctx, b.baseAddress, Int32(b.count), &sub) }
                }
            }
        }
        try check(n) { .encodeFailed(path: path, reason: "parameter track: \($0)") }
        try check(av_new_packet(packet, n)) { .encodeFailed(path: path, reason: $0) }
        buffer.withUnsafeBufferPointer { b in packet.pointee.data.update(from: b.baseAddress!, count: Int(n)) }
        packet.pointee.pts = pts
        packet.pointee.dts = pts
        packet.pointee.duration = duration
        packet.pointee.stream_index = stream.pointee.index
        packet.pointee.flags |= AV_PKT_FLAG_KEY
    }
}

/// The parameter track of a file dreamvideo wrote: each cue's start time (s) and text, in order (empty when the
/// file has none).
public enum ParameterTrack {
    public struct Cue: Sendable, Equatable { public var time: Double; public var duration: Double; public var text: String }

    public static func read(_ path: String) throws(MediaError) -> [Cue] {
        Media.configureLogging()
        let input = try FormatInput(path: path)
        let fmt = input.ctx!
        var index: Int32 = -1
        var tb = AVRational(num: 1, den: 1)
        for i in 0..<Int(fmt.pointee.nb_streams) {
            guard let st = fmt.pointee.streams[i], st.pointee.codecpar.pointee.codec_id == AV_CODEC_ID_MOV_TEXT else { continue }
            index = Int32(i); tb = st.pointee.time_base
            break
        }
        guard index >= 0 else { return [] }
        var cues: [Cue] = []
        let packet = Packet()
        while true {
            let r = av_read_frame(fmt, packet.ptr)
            if r == dv_averror_eof() { break }
            try check(r) { .decodeFailed(path: path, reason: $0) }
            defer { av_packet_unref(packet.ptr) }
            guard packet.ptr.pointee.stream_index == index, packet.ptr.pointee.size >= 2, let d = packet.ptr.pointee.data else { continue }
            // mov_text: a 16-bit big-endian length, then the UTF-8 text (style boxes may follow).
            let length = min(Int(d[0]) << 8 | Int(d[1]), Int(packet.ptr.pointee.size) - 2)
            let text = String(decoding: UnsafeBufferPointer(start: d + 2, count: max(0, length)), as: UTF8.self)
            if text.isEmpty { continue }  // a muxer's filler between cues
            let s = Double(tb.num) / Double(tb.den)
            cues.append(Cue(time: Double(packet.ptr.pointee.pts) * s, duration: Double(packet.ptr.pointee.duration) * s, text: text))
        }
        return cues.sorted { $0.time < $1.time }
    }
}
