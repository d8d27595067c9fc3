import CFFmpeg
import Foundation

/// One piece of a joined video: a file and where its time zero lands in the result.
public struct JoinSegment: Sendable, Equatable {
    public var path: String
    /// Start of the segment in the joined video, in `timeBase` units.
    public var offset: Int64
    public var timeBase: TimeBase
    /// The video packets to take, by index in the file (all when nil). Without B-frames packets are frames in
    /// order; a window must start at a key frame.
    public var packets: Range<Int>?
    public init(path: String, offset: Int64, timeBase: TimeBase, packets: Range<Int>? = nil) {
        self.path = path; self.offset = offset; self.timeBase = timeBase; self.packets = packets
    }
}

/// The audio to carry into a joined video: every audio stream of `path` between `start` and `end`
/// (seconds on the source's clock), shifted so that `start` lands at time zero.
public struct AudioSource: Sendable, Equatable, Codable {
    public var path: String
    public var start: Double
    public var end: Double?
    public init(path: String, start: Double = 0, end: Double? = nil) { self.path = path; self.start = start; self.end = end }
}

/// What a join did with the audio.
public struct JoinReport: Sendable, Equatable {
    /// Audio streams copied packet for packet, by codec name.
    public var copiedAudio: [String] = []
    /// Audio streams the MP4 container cannot hold, re-encoded to AAC, by original codec name.
    public var transcodedAudio: [String] = []
    public var videoPackets = 0
    public var audioPackets = 0
}

/// Joins MP4 files with identical video parameters into one by stream copy (no re-encoding), with the
/// audio of another file copied alongside.
public enum VideoJoiner {
    /// Writes `inputs` back to back to `path` (atomically, `+faststart`).
    public static func join(_ inputs: [String], to path: String) throws(MediaError) {
        guard !inputs.isEmpty else { throw .invalidArgument("\(path): nothing to join") }
        // Each next file starts where the previous one ends.
        var segments: [JoinSegment] = []
        var offset: Int64 = 0
        var tb = TimeBase(1, 1)
        for (i, file) in inputs.enumerated() {
            let info = try SegmentInfo(path: file)
            if i == 0 { tb = info.timeBase }
            segments.append(JoinSegment(path: file, offset: offset, timeBase: tb))
            offset += av_rescale_q(info.end, info.timeBase.rational, tb.rational)
        }
        _ = try join(segments, audio: nil, to: path)
    }

    /// Writes `segments` at their offsets to `path`, with the audio of `audio` if given, and with `parameters` a
    /// text track: the line for each video packet (its index in the output), shown while that frame is.
    @discardableResult
    public static func join(_ segments: [JoinSegment], audio: AudioSource?, parameters: ((Int) -> String?)? = nil,
                            to path: String) throws(MediaError) -> JoinReport {
        guard !segments.isEmpty else { throw .invalidArgument("\(path): nothing to join") }
        Media.configureLogging()
        let out = try FormatOutput(path: path)
        var report = JoinReport()

        // Video: one output stream with the first segment's parameters.
        let first = try FormatInput(path: segments[0].path)
        let (firstIdx, firstStream) = try videoStream(of: first)
        let vst = try out.addStream()
        let par = firstStream.pointee.codecpar!
        try check(avcodec_parameters_copy(vst.pointee.codecpar, par)) { .writeFailed(path: path, reason: $0) }
        vst.pointee.codecpar.pointee.codec_tag = mp4Tag(for: par.pointee.codec_id)
        vst.pointee.time_base = firstStream.pointee.time_base
        vst.pointee.avg_frame_rate = firstStream.pointee.avg_frame_rate
        let params = (par.pointee.width, par.pointee.height, par.pointee.codec_id.rawValue)
        _ = firstIdx

        // Audio: every audio stream of the source.
        var audioReader: AudioPacketReader? = nil
        if let audio {
            let reader = try AudioPacketReader(source: audio, output: out)
            audioReader = reader.streamCount > 0 ? reader : nil
            report.copiedAudio = reader.copiedCodecs
            report.transcodedAudio = reader.transcodedCodecs
        }
        let track = try parameters.map { _ throws(MediaError) in try ParameterTrackWriter(output: out, timeBase: vst.pointee.time_base) }
        try out.start()
        let outVideoTB = vst.pointee.time_base
        let subPacket = Packet()
        var written = 0
        // Each frame's line waits for the next frame, whose time ends it (packet durations in segments may be 0).
        var waiting: (text: String, pts: Int64, duration: Int64)? = nil
        func emit(until end: Int64?) throws(MediaError) {
            guard let track, let w = waiting else { return }
            waiting = nil
            let tb = track.stream.pointee.time_base
            let start = av_rescale_q(w.pts, outVideoTB, tb)
            let stop = av_rescale_q(end ?? (w.pts + max(1, w.duration)), outVideoTB, tb)
            try track.packet(w.text, pts: start, duration: max(1, stop - start), into: subPacket.ptr)
            try out.write(subPacket.ptr)
            av_packet_unref(subPacket.ptr)
        }
        var lastStep: Int64 = 0

        var pendingAudio: Packet? = try audioReader?.next()
        let packet = Packet()
        for (i, seg) in segments.enumerated() {
            let input = i == 0 ? first : try FormatInput(path: seg.path)
            let (idx, inStream) = try videoStream(of: input)
            let p = inStream.pointee.codecpar!
            guard (p.pointee.width, p.pointee.height, p.pointee.codec_id.rawValue) == params else {
                throw .unsupported(path: seg.path, reason: "cannot be joined: its size or codec differs from \(segments[0].path)")
            }
            let inTB = inStream.pointee.time_base
            let offset = av_rescale_q(seg.offset, seg.timeBase.rational, outVideoTB)
            var index = -1
            while true {
                let r = av_read_frame(input.ctx, packet.ptr)
                if r == dv_averror_eof() { break }
                try check(r) { .decodeFailed(path: seg.path, reason: $0) }
                defer { av_packet_unref(packet.ptr) }
                guard packet.ptr.pointee.stream_index == idx else { continue }
                index += 1
                if let window = seg.packets {
                    if index < window.lowerBound { continue }
                    if index >= window.upperBound { break }
                    if index == window.lowerBound && packet.ptr.pointee.flags & AV_PKT_FLAG_KEY == 0 {
                        throw .unsupported(path: seg.path, reason: "cannot be cut at packet \(index): it is not a key frame")
                    }
                }
                av_packet_rescale_ts(packet.ptr, inTB, outVideoTB)
                if packet.ptr.pointee.pts != dv_nopts_value() { packet.ptr.pointee.pts += offset }
                if packet.ptr.pointee.dts != dv_nopts_value() { packet.ptr.pointee.dts += offset }
                packet.ptr.pointee.stream_index = vst.pointee.index
                packet.ptr.pointee.pos = -1
                // Audio that plays before this video packet goes first.
                let vdts = packet.ptr.pointee.dts != dv_nopts_value() ? packet.ptr.pointee.dts : packet.ptr.pointee.pts
                while let a = pendingAudio, let reader = audioReader,
                      av_compare_ts(a.ptr.pointee.dts, reader.timeBase(of: a), vdts, outVideoTB) <= 0 {
                    try out.write(a.ptr)
                    report.audioPackets += 1
                    pendingAudio = try reader.next()
                }
                let (pts, duration) = (packet.ptr.pointee.pts, packet.ptr.pointee.duration)
                try out.write(packet.ptr)
                report.videoPackets += 1
                if track != nil, let parameters, pts != dv_nopts_value() {
                    if let w = waiting { lastStep = pts - w.pts }
                    try emit(until: pts)
                    if let text = parameters(written) { waiting = (text, pts, duration > 0 ? duration : lastStep) }
                }
                written += 1
            }
        }
        try emit(until: nil)
        while let a = pendingAudio, let reader = audioReader {
            try out.write(a.ptr)
            report.audioPackets += 1
            pendingAudio = try reader.next()
        }
        try audioReader?.flush { (p: UnsafeMutablePointer<AVPacket>) throws(MediaError) in
            try out.write(p); report.audioPackets += 1
        }
        try out.finish()
        return report
    }

    static func videoStream(of input: FormatInput) throws(MediaError) -> (Int32, UnsafeMutablePointer<AVStream>) {
        let idx = av_find_best_stream(input.ctx, AVMEDIA_TYPE_VIDEO, -1, -1, nil, 0)
        guard idx >= 0, let st = input.ctx!.pointee.streams[Int(idx)] else { throw .noVideoStream(path: input.path) }
        return (idx, st)
    }
}

/// Frame count and end time of a video file's video stream, by reading its packets (no decoding).
public struct SegmentInfo: Sendable {
    public let path: String
    public let packets: Int
    /// End of the last packet (pts + duration), in `timeBase`.
    public let end: Int64
    public let timeBase: TimeBase
    public let width: Int, height: Int

    public init(path: String) throws(MediaError) {
        self.path = path
        var n = 0
        var end: Int64 = 0
        let (tb, size) = try VideoPackets.forEach(path) { p in
            n += 1
            let t = p.pointee.pts != dv_nopts_value() ? p.pointee.pts : p.pointee.dts
            if t != dv_nopts_value() { end = max(end, t + max(0, p.pointee.duration)) }
        }
        timeBase = tb
        width = size.width; height = size.height
        packets = n
        self.end = end
    }
}

/// The presentation times of every packet of a file's video stream, sorted (reading packets, no decoding):
/// for most files one a frame, so the index of a frame's time is the frame's index.
public enum VideoPacketTimes {
    public static func read(_ path: String) throws(MediaError) -> (times: [Int64], timeBase: TimeBase) {
        var times: [Int64] = []
        let (tb, _) = try VideoPackets.forEach(path) { p in
            let t = p.pointee.pts != dv_nopts_value() ? p.pointee.pts : p.pointee.dts
            if t != dv_nopts_value() { times.append(t) }
        }
        return (times.sorted(), tb)
    }

    /// The indexes of the key-frame packets of a file's video stream, in file order.
    public static func keyFrames(_ path: String) throws(MediaError) -> [Int] {
        var keys: [Int] = []
        var n = 0
        _ = try VideoPackets.forEach(path) { p in
            if p.pointee.flags & AV_PKT_FLAG_KEY != 0 { keys.append(n) }
            n += 1
        }
        return keys
    }
}

/// Reads every packet of a file's video stream in file order (no decoding).
enum VideoPackets {
    /// Calls `body` with each video packet; returns the stream's time base and frame size.
    static func forEach(_ path: String, _ body: (UnsafeMutablePointer<AVPacket>) -> Void) throws(MediaError)
        -> (timeBase: TimeBase, size: (width: Int, height: Int)) {
        Media.configureLogging()
        let input = try FormatInput(path: path)
        let (idx, st) = try VideoJoiner.videoStream(of: input)
        let packet = Packet()
        while true {
            let r = av_read_frame(input.ctx, packet.ptr)
            if r == dv_averror_eof() { break }
            try check(r) { .decodeFailed(path: path, reason: $0) }
            defer { av_packet_unref(packet.ptr) }
            guard packet.ptr.pointee.stream_index == idx else { continue }
            body(packet.ptr)
        }
        return (TimeBase(Int(st.pointee.time_base.num), Int(st.pointee.time_base.den)),
                (Int(st.pointee.codecpar.pointee.width), Int(st.pointee.codecpar.pointee.height)))
    }
}

