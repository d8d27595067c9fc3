import CFFmpeg
import Foundation

/// What a media file holds, read from its packets (no decoding): one entry per stream.
public struct MediaInfo: Sendable {
    public struct Stream: Sendable {
        public enum Kind: String, Sendable { case video, audio, other }
        public var index: Int
        public var kind: Kind
        public var codec: String
        public var packets: Int
        /// First presentation time and end (last time + duration), in seconds; nil without timestamps.
        public var start: Double?
        public var end: Double?
        public var duration: Double? { start.flatMap { s in end.map { $0 - s } } }
        /// Audio only.
        public var sampleRate: Int
        public var channels: Int
    }

    public let path: String
    public let streams: [Stream]
    public var video: Stream? { streams.first { $0.kind == .video } }
    public var audio: [Stream] { streams.filter { $0.kind == .audio } }

    public init(path: String) throws(MediaError) {
        Media.configureLogging()
        self.path = path
        let input = try FormatInput(path: path)
        let fmt = input.ctx!
        var list: [Stream] = []
        var tbs: [AVRational] = []
        for i in 0..<Int(fmt.pointee.nb_streams) {
            let st = fmt.pointee.streams[i]!
            let par = st.pointee.codecpar!
            let kind: Stream.Kind = par.pointee.codec_type == AVMEDIA_TYPE_VIDEO ? .video : par.pointee.codec_type == AVMEDIA_TYPE_AUDIO ? .audio : .other
            list.append(Stream(index: i, kind: kind, codec: String(cString: avcodec_get_name(par.pointee.codec_id)), packets: 0,
                               start: nil, end: nil, sampleRate: Int(par.pointee.sample_rate), channels: Int(par.pointee.ch_layout.nb_channels)))
            tbs.append(st.pointee.time_base)
        }
        let packet = Packet()
        while true {
            let r = av_read_frame(input.ctx, packet.ptr)
            if r == dv_averror_eof() || (r < 0 && avio_feof(input.ctx!.pointee.pb) != 0) { break }
            try check(r) { .decodeFailed(path: path, reason: $0) }
            defer { av_packet_unref(packet.ptr) }
            let i = Int(packet.ptr.pointee.stream_index)
            guard i >= 0, i < list.count else { continue }
            list[i].packets += 1
            let t = packet.ptr.pointee.pts != dv_nopts_value() ? packet.ptr.pointee.pts : packet.ptr.pointee.dts
            guard t != dv_nopts_value() else { continue }
            let tb = av_q2d(tbs[i])
            let s = Double(t) * tb, e = Double(t + max(0, packet.ptr.pointee.duration)) * tb
            list[i].start = min(list[i].start ?? s, s)
            list[i].end = max(list[i].end ?? e, e)
        }
        streams = list
    }
}
