import CFFmpeg
import Foundation

/// Reads the audio streams of a source file between two times and hands out packets ready for an
/// output: copied as they are when the container accepts the codec, otherwise re-encoded to AAC.
/// Timestamps come out in the output stream's time base, shifted so that `start` is zero.
final class AudioPacketReader {
    private struct Track {
        let outStream: UnsafeMutablePointer<AVStream>
        let inTB: AVRational
        let transcoder: AudioTranscoder?
        /// Cut points in the input stream's time base.
        let startTS: Int64
        let endTS: Int64?
    }

    let source: AudioSource
    private let input: FormatInput
    private var tracks: [Int32: Track] = [:]
    private let packet = Packet()
    private var queue: [Packet] = []
    private var eof = false
    private(set) var copiedCodecs: [String] = []
    private(set) var transcodedCodecs: [String] = []
    var streamCount: Int { tracks.count }

    init(source: AudioSource, output: FormatOutput) throws(MediaError) {
        self.source = source
        input = try FormatInput(path: source.path)
        let fmt = input.ctx!
        for i in 0..<Int(fmt.pointee.nb_streams) {
            guard let st = fmt.pointee.streams[i], st.pointee.codecpar.pointee.codec_type == AVMEDIA_TYPE_AUDIO else { continue }
            let par = st.pointee.codecpar!
            let name = String(cString: avcodec_get_name(par.pointee.codec_id))
            let inTB = st.pointee.time_base
            let startTS = av_rescale_q(Int64((source.start * 1_000_000).rounded()), dv_rational(1, 1_000_000), inTB)
            let endTS = source.end.map { av_rescale_q(Int64(($0 * 1_000_000).rounded()), dv_rational(1, 1_000_000), inTB) }
            let out = try output.addStream()
            if output.accepts(par.pointee.codec_id) {
                try check(avcodec_parameters_copy(out.pointee.codecpar, par)) { .writeFailed(path: output.path, reason: $0) }
                out.pointee.codecpar.pointee.codec_tag = 0
                out.pointee.time_base = inTB
                tracks[Int32(i)] = Track(outStream: out, inTB: inTB, transcoder: nil, startTS: startTS, endTS: endTS)
                copiedCodecs.append(name)
            } else {
                let t = try AudioTranscoder(stream: st, sourcePath: source.path, output: output, outStream: out)
                tracks[Int32(i)] = Track(outStream: out, inTB: inTB, transcoder: t, startTS: startTS, endTS: endTS)
                transcodedCodecs.append(name)
            }
        }
    }

    func timeBase(of p: Packet) -> AVRational {
        for t in tracks.values where t.outStream.pointee.index == p.ptr.pointee.stream_index { return t.outStream.pointee.time_base }
        return dv_rational(1, 1)
    }

    /// The next packet for the output, or nil when the source's audio (up to `end`) is used up.
    func next() throws(MediaError) -> Packet? {
        while queue.isEmpty {
            if eof { return nil }
            let r = av_read_frame(input.ctx, packet.ptr)
            if r == dv_averror_eof() || (r < 0 && avio_feof(input.ctx!.pointee.pb) != 0) {
                eof = true
                for t in tracks.values { if let tc = t.transcoder { queue += try tc.finish() } }
                continue
            }
            // A damaged packet in the middle: skip it (the video side reports damage; audio just drops a frame).
            if r < 0 { continue }
            defer { av_packet_unref(packet.ptr) }
            guard let track = tracks[packet.ptr.pointee.stream_index] else { continue }
            let ts = packet.ptr.pointee.pts != dv_nopts_value() ? packet.ptr.pointee.pts : packet.ptr.pointee.dts
            guard ts != dv_nopts_value() else { continue }
            if ts < track.startTS { continue }
            if let end = track.endTS, ts >= end { continue }
            if let tc = track.transcoder {
                queue += try tc.encode(packet.ptr, shift: track.startTS)
            } else {
                let p = Packet()
                try check(av_packet_ref(p.ptr, packet.ptr)) { .decodeFailed(path: source.path, reason: $0) }
                if p.ptr.pointee.pts != dv_nopts_value() { p.ptr.pointee.pts -= track.startTS }
                if p.ptr.pointee.dts != dv_nopts_value() { p.ptr.pointee.dts -= track.startTS }
                av_packet_rescale_ts(p.ptr, track.inTB, track.outStream.pointee.time_base)
                p.ptr.pointee.stream_index = track.outStream.pointee.index
                p.ptr.pointee.pos = -1
                queue.append(p)
            }
        }
        return queue.removeFirst()
    }

    /// Nothing is buffered beyond what `next()` returns; kept for symmetry with encoders.
    func flush(_ write: (UnsafeMutablePointer<AVPacket>) throws(MediaError) -> Void) throws(MediaError) {
        while let p = try next() { try write(p.ptr) }
    }
}
