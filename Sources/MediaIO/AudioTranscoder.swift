import CFFmpeg
import Foundation

/// Re-encodes one audio stream to AAC (for codecs the MP4 container cannot hold, such as Vorbis or
/// PCM): decode → resample to planar float → 1024-sample frames → FFmpeg's native AAC encoder.
final class AudioTranscoder {
    private let path: String
    private let decoder: CodecContext
    private let encoder: CodecContext
    private let resampler: Resampler
    private let fifo: AudioFIFO
    private let outStream: UnsafeMutablePointer<AVStream>
    private let inTB: AVRational
    private let decoded = Frame()
    private let converted = Frame()
    private let chunk = Frame()
    private let packet = Packet()
    private var samplesOut: Int64 = 0
    private var started = false
    /// Packets whose decoding failed (damaged audio), skipped.
    private(set) var skipped = 0

    init(stream: UnsafeMutablePointer<AVStream>, sourcePath: String, output: FormatOutput,
         outStream: UnsafeMutablePointer<AVStream>) throws(MediaError) {
        path = sourcePath
        self.outStream = outStream
        inTB = stream.pointee.time_base
        let par = stream.pointee.codecpar!
        guard let dec = avcodec_find_decoder(par.pointee.codec_id) else {
            throw .unsupported(path: sourcePath, reason: "no decoder for its audio codec \(String(cString: avcodec_get_name(par.pointee.codec_id)))")
        }
        decoder = try CodecContext(codec: dec, path: sourcePath)
        try check(avcodec_parameters_to_context(decoder.ctx, par)) { .decodeFailed(path: sourcePath, reason: $0) }
        decoder.ctx.pointee.pkt_timebase = inTB
        try check(avcodec_open2(decoder.ctx, dec, nil)) { .decodeFailed(path: sourcePath, reason: $0) }
        guard decoder.ctx.pointee.ch_layout.nb_channels > 0, decoder.ctx.pointee.sample_rate > 0 else {
            throw .decodeFailed(path: sourcePath, reason: "audio stream without channels or sample rate")
        }

        guard let enc = avcodec_find_encoder(AV_CODEC_ID_AAC) else {
            throw .unsupported(path: sourcePath, reason: "its audio needs re-encoding to AAC, and this FFmpeg has no AAC encoder")
        }
        encoder = try CodecContext(codec: enc, path: output.path)
        let e = encoder.ctx
        e.pointee.sample_fmt = AV_SAMPLE_FMT_FLTP
        e.pointee.sample_rate = AudioTranscoder.supportedRate(decoder.ctx.pointee.sample_rate, of: enc)
        // Up to stereo keeps every encoder happy; more channels are folded down by the resampler.
        let channels = min(2, Int(decoder.ctx.pointee.ch_layout.nb_channels))
        av_channel_layout_default(&e.pointee.ch_layout, Int32(channels))
        e.pointee.bit_rate = Int64(96_000 * channels)
        e.pointee.time_base = dv_rational(1, e.pointee.sample_rate)
        if output.needsGlobalHeader { e.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER }
        try check(avcodec_open2(e, enc, nil)) { .encodeFailed(path: output.path, reason: "AAC encoder: \($0)") }
        try check(avcodec_parameters_from_context(outStream.pointee.codecpar, e)) { .encodeFailed(path: output.path, reason: $0) }
        outStream.pointee.time_base = e.pointee.time_base

        resampler = try Resampler(from: decoder.ctx, to: e, path: sourcePath)
        fifo = try AudioFIFO(format: AV_SAMPLE_FMT_FLTP, channels: Int32(channels), path: sourcePath)
        converted.ptr.pointee.format = AV_SAMPLE_FMT_FLTP.rawValue
        converted.ptr.pointee.sample_rate = e.pointee.sample_rate
        av_channel_layout_copy(&converted.ptr.pointee.ch_layout, &e.pointee.ch_layout)
    }

    static func supportedRate(_ rate: Int32, of codec: UnsafePointer<AVCodec>) -> Int32 {
        guard let list = codec.pointee.supported_samplerates else { return rate }
        var best: Int32 = 48_000, i = 0
        while list[i] != 0 {
            if list[i] == rate { return rate }
            if abs(list[i] - rate) < abs(best - rate) { best = list[i] }
            i += 1
        }
        return best
    }

    /// Decodes `packet` (already cut to the wanted range) and returns whatever AAC packets are ready.
    func encode(_ packet: UnsafeMutablePointer<AVPacket>, shift: Int64) throws(MediaError) -> [Packet] {
        if avcodec_send_packet(decoder.ctx, packet) < 0 { skipped += 1; return [] }
        return try receiveDecoded()
    }

    private func receiveDecoded() throws(MediaError) -> [Packet] {
        var out: [Packet] = []
        while true {
            let r = avcodec_receive_frame(decoder.ctx, decoded.ptr)
            if r == dv_averror_eagain() || r == dv_averror_eof() { break }
            if r < 0 { skipped += 1; break }
            defer { av_frame_unref(decoded.ptr) }
            try resampler.convert(decoded.ptr, into: converted.ptr)
            try fifo.write(converted.ptr)
            out += try encodeFull(final: false)
        }
        return out
    }

    private func encodeFull(final: Bool) throws(MediaError) -> [Packet] {
        var out: [Packet] = []
        let frameSize = Int32(max(1, encoder.ctx.pointee.frame_size))
        while fifo.size >= frameSize || (final && fifo.size > 0) {
            let n = min(frameSize, fifo.size)
            av_frame_unref(chunk.ptr)
            chunk.ptr.pointee.nb_samples = n
            chunk.ptr.pointee.format = AV_SAMPLE_FMT_FLTP.rawValue
            chunk.ptr.pointee.sample_rate = encoder.ctx.pointee.sample_rate
            av_channel_layout_copy(&chunk.ptr.pointee.ch_layout, &encoder.ctx.pointee.ch_layout)
            try check(av_frame_get_buffer(chunk.ptr, 0)) { .encodeFailed(path: path, reason: $0) }
            try fifo.read(into: chunk.ptr, samples: n)
            chunk.ptr.pointee.pts = samplesOut
            samplesOut += Int64(n)
            try check(avcodec_send_frame(encoder.ctx, chunk.ptr)) { .encodeFailed(path: path, reason: "AAC: \($0)") }
            out += try receiveEncoded()
        }
        return out
    }

    private func receiveEncoded() throws(MediaError) -> [Packet] {
        var out: [Packet] = []
        while true {
            let p = Packet()
            let r = avcodec_receive_packet(encoder.ctx, p.ptr)
            if r == dv_averror_eagain() || r == dv_averror_eof() { break }
            try check(r) { .encodeFailed(path: path, reason: "AAC: \($0)") }
            av_packet_rescale_ts(p.ptr, encoder.ctx.pointee.time_base, outStream.pointee.time_base)
            p.ptr.pointee.stream_index = outStream.pointee.index
            out.append(p)
        }
        return out
    }

    /// Flushes decoder, resampler and encoder.
    func finish() throws(MediaError) -> [Packet] {
        var out: [Packet] = []
        if avcodec_send_packet(decoder.ctx, nil) >= 0 { out += try receiveDecoded() }
        try resampler.flush(into: converted.ptr)
        if converted.ptr.pointee.nb_samples > 0 { try fifo.write(converted.ptr) }
        out += try encodeFull(final: true)
        try check(avcodec_send_frame(encoder.ctx, nil)) { .encodeFailed(path: path, reason: "AAC: \($0)") }
        out += try receiveEncoded()
        return out
    }
}

/// Sample format, rate and channel conversion (libswresample).
final class Resampler {
    private var ctx: OpaquePointer?
    private let path: String
    init(from dec: UnsafeMutablePointer<AVCodecContext>, to enc: UnsafeMutablePointer<AVCodecContext>, path: String) throws(MediaError) {
        self.path = path
        var s: OpaquePointer? = nil
        var inLayout = AVChannelLayout()
        if dec.pointee.ch_layout.order == AV_CHANNEL_ORDER_UNSPEC {
            av_channel_layout_default(&inLayout, dec.pointee.ch_layout.nb_channels)
        } else {
            av_channel_layout_copy(&inLayout, &dec.pointee.ch_layout)
        }
        defer { av_channel_layout_uninit(&inLayout) }
        try check(swr_alloc_set_opts2(&s, &enc.pointee.ch_layout, enc.pointee.sample_fmt, enc.pointee.sample_rate,
                                      &inLayout, dec.pointee.sample_fmt, dec.pointee.sample_rate, 0, nil)) {
            .unsupported(path: path, reason: "cannot convert its audio (\($0))")
        }
        ctx = s
        try check(swr_init(s)) { .unsupported(path: path, reason: "cannot convert its audio (\($0))") }
    }
    deinit { swr_free(&ctx) }

    func convert(_ input: UnsafeMutablePointer<AVFrame>, into output: UnsafeMutablePointer<AVFrame>) throws(MediaError) {
        output.pointee.nb_samples = 0
        av_frame_unref_data(output)
        // A stream without a channel layout (a WAV without a channel mask): the usual layout for its channel count,
        // as the resampler was set up with (else it calls every frame "changed").
        if input.pointee.ch_layout.order == AV_CHANNEL_ORDER_UNSPEC {
            let n = input.pointee.ch_layout.nb_channels
            av_channel_layout_uninit(&input.pointee.ch_layout)
            av_channel_layout_default(&input.pointee.ch_layout, n)
        }
        try check(swr_convert_frame(ctx, output, input)) { .decodeFailed(path: path, reason: "audio conversion: \($0)") }
    }

    func flush(into output: UnsafeMutablePointer<AVFrame>) throws(MediaError) {
        av_frame_unref_data(output)
        output.pointee.nb_samples = 0
        try check(swr_convert_frame(ctx, output, nil)) { .decodeFailed(path: path, reason: "audio conversion: \($0)") }
    }
}

/// Releases a frame's sample buffers but keeps its format, rate and layout for the next conversion.
private func av_frame_unref_data(_ f: UnsafeMutablePointer<AVFrame>) {
    let format = f.pointee.format, rate = f.pointee.sample_rate
    var layout = AVChannelLayout()
    av_channel_layout_copy(&layout, &f.pointee.ch_layout)
    av_frame_unref(f)
    f.pointee.format = format; f.pointee.sample_rate = rate
    av_channel_layout_copy(&f.pointee.ch_layout, &layout)
    av_channel_layout_uninit(&layout)
}

/// A first-in first-out sample buffer (AVAudioFifo), to cut the encoder's fixed-size frames.
final class AudioFIFO {
    private let fifo: OpaquePointer
    private let path: String
    init(format: AVSampleFormat, channels: Int32, path: String) throws(MediaError) {
        guard let f = av_audio_fifo_alloc(format, channels, 1) else { throw .invalidArgument("\(path): out of memory (audio buffer)") }
        fifo = f; self.path = path
    }
    deinit { av_audio_fifo_free(fifo) }
    var size: Int32 { av_audio_fifo_size(fifo) }

    func write(_ frame: UnsafeMutablePointer<AVFrame>) throws(MediaError) {
        let n = frame.pointee.nb_samples
        guard n > 0 else { return }
        let data = UnsafeMutableRawPointer(frame.pointee.extended_data!).assumingMemoryBound(to: UnsafeMutableRawPointer?.self)
        let w = av_audio_fifo_write(fifo, data, n)
        guard w == n else { throw .decodeFailed(path: path, reason: "audio buffer write failed") }
    }

    func read(into frame: UnsafeMutablePointer<AVFrame>, samples: Int32) throws(MediaError) {
        let data = UnsafeMutableRawPointer(frame.pointee.extended_data!).assumingMemoryBound(to: UnsafeMutableRawPointer?.self)
        let r = av_audio_fifo_read(fifo, data, samples)
        guard r == samples else { throw .encodeFailed(path: path, reason: "audio buffer read failed") }
    }
}
