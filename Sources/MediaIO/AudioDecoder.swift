import CFFmpeg
import Foundation

/// Decodes the main audio stream of any file FFmpeg reads (MP3, AAC, Ogg, FLAC, WAV, a video's soundtrack) to
/// mono 32-bit float samples at a chosen rate, handed out in pieces as they are decoded (a song of any length
/// in constant memory). Damaged packets are skipped and counted.
public enum AudioDecoder {
    public struct Info: Sendable, Equatable {
        /// Length in seconds (from the samples decoded).
        public var duration: Double
        public var codec: String
        public var skippedPackets: Int
    }

    /// Decodes `path`, calling `body` with each piece of samples, in order. Stops after `maxSeconds`; a file whose
    /// container says it is longer than `refuseAfter` seconds is refused before decoding.
    @discardableResult
    public static func decodeMono(_ path: String, sampleRate: Int, maxSeconds: Double = .infinity, refuseAfter: Double = .infinity,
                                  _ body: ([Float]) throws -> Void) throws -> Info {
        Media.configureLogging()
        let input = try FormatInput(path: path)
        let fmt = input.ctx!
        if fmt.pointee.duration > 0, Double(fmt.pointee.duration) / Double(dv_av_time_base()) > refuseAfter {
            let minutes = Double(fmt.pointee.duration) / Double(dv_av_time_base()) / 60
            throw MediaError.unsupported(path: path, reason: String(format: "is %.0f minutes long; at most %.0f (cut it first)", minutes, refuseAfter / 60))
        }
        let index = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, -1, nil, 0)
        guard index >= 0, let stream = fmt.pointee.streams[Int(index)] else {
            throw MediaError.unsupported(path: path, reason: "has no audio stream")
        }
        let par = stream.pointee.codecpar!
        let codecName = String(cString: avcodec_get_name(par.pointee.codec_id))
        guard let dec = avcodec_find_decoder(par.pointee.codec_id) else {
            throw MediaError.unsupported(path: path, reason: "no decoder for its audio codec \(codecName)")
        }
        let decoder = try CodecContext(codec: dec, path: path)
        try check(avcodec_parameters_to_context(decoder.ctx, par)) { .decodeFailed(path: path, reason: $0) }
        decoder.ctx.pointee.pkt_timebase = stream.pointee.time_base
        try check(avcodec_open2(decoder.ctx, dec, nil)) { .decodeFailed(path: path, reason: $0) }
        guard decoder.ctx.pointee.ch_layout.nb_channels > 0, decoder.ctx.pointee.sample_rate > 0 else {
            throw MediaError.decodeFailed(path: path, reason: "audio stream without channels or sample rate")
        }
        // The resampler: whatever comes in (any layout, format, rate) to mono float at `sampleRate`.
        var swr: OpaquePointer? = nil
        var mono = AVChannelLayout()
        av_channel_layout_default(&mono, 1)
        defer { av_channel_layout_uninit(&mono); swr_free(&swr) }
        try check(swr_alloc_set_opts2(&swr, &mono, AV_SAMPLE_FMT_FLT, Int32(sampleRate),
                                      &decoder.ctx.pointee.ch_layout, decoder.ctx.pointee.sample_fmt, decoder.ctx.pointee.sample_rate, 0, nil)) {
            .unsupported(path: path, reason: "cannot convert its audio (\($0))")
        }
        try check(swr_init(swr)) { .unsupported(path: path, reason: "cannot convert its audio (\($0))") }

        let packet = Packet(), frame = Frame()
        var total = 0, skipped = 0
        let limit = maxSeconds.isFinite ? Int(maxSeconds * Double(sampleRate)) : Int.max
        var out = [Float](repeating: 0, count: 1 << 16)

        /// Converts `input` (nil: flushes the resampler) and hands the samples to `body`.
        func convert(_ input: UnsafeMutablePointer<AVFrame>?) throws {
            let inCount = input.map { Int($0.pointee.nb_samples) } ?? 0
            let room = Int(swr_get_out_samples(swr, Int32(inCount)))
            if room > out.count { out = [Float](repeating: 0, count: room) }
            let capacity = Int32(out.count)
            let n: Int32 = try out.withUnsafeMutableBytes { buf in
                var dst: UnsafeMutablePointer<UInt8>? = buf.baseAddress!.assumingMemoryBound(to: UInt8.self)
                let src: UnsafeMutablePointer<UnsafePointer<UInt8>?>? = input.map {
                    UnsafeMutableRawPointer($0.pointee.extended_data).assumingMemoryBound(to: UnsafePointer<UInt8>?.self)
                }
                return try withUnsafeMutablePointer(to: &dst) { d in
                    try check(swr_convert(swr, d, capacity, src, Int32(inCount))) { MediaError.decodeFailed(path: path, reason: "audio conversion: \($0)") }
                }
            }
            guard n > 0, total < limit else { return }
            let take = min(Int(n), limit - total)
            total += take
            try body(Array(out[0..<take]))
        }

        let streamTB = stream.pointee.time_base
        func receive() throws {
            while total < limit {
                let r = avcodec_receive_frame(decoder.ctx, frame.ptr)
                if r == dv_averror_eagain() || r == dv_averror_eof() { return }
                if r < 0 { skipped += 1; return }
                // Where this frame belongs on the file's timeline (a late start, a gap after damage): silence up to it,
                // so that sample n is always at n / sampleRate seconds.
                let ts = frame.ptr.pointee.best_effort_timestamp
                if ts != dv_nopts_value(), streamTB.den > 0 {
                    let at = Double(ts) * Double(streamTB.num) / Double(streamTB.den)
                    let want = Int((at * Double(sampleRate)).rounded())
                    let behind = min(want, limit) - total - Int(swr_get_delay(swr, Int64(sampleRate)))
                    if behind > sampleRate / 100 {
                        var left = behind
                        while left > 0 {
                            let n = min(left, 1 << 16)
                            try body([Float](repeating: 0, count: n))
                            total += n; left -= n
                        }
                    }
                }
                try convert(frame.ptr)
                av_frame_unref(frame.ptr)
            }
        }

        while total < limit {
            let r = av_read_frame(fmt, packet.ptr)
            if r == dv_averror_eof() { break }
            if r < 0 { skipped += 1; break }
            defer { av_packet_unref(packet.ptr) }
            guard packet.ptr.pointee.stream_index == index else { continue }
            if avcodec_send_packet(decoder.ctx, packet.ptr) < 0 { skipped += 1; continue }
            try receive()
        }
        if total < limit {
            _ = avcodec_send_packet(decoder.ctx, nil)
            try receive()
            try convert(nil)
        }
        guard total > 0 else { throw MediaError.decodeFailed(path: path, reason: "its audio stream holds no samples") }
        return Info(duration: Double(total) / Double(sampleRate), codec: codecName, skippedPackets: skipped)
    }
}
