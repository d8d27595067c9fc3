import Foundation
import MediaIO

/// What a render of a range of a job's frames leaves beside its video (`OUT.mp4.range.json`), so ranges
/// rendered apart — on other machines, at other times — can be checked and put together by stream copy.
public struct RangeManifest: Codable, Equatable, Sendable {
    public var format = "dreamvideo range"
    public var version = 1
    public var pipeline: String
    /// The settings that determine the frames (the resume identity, without the range).
    public var settings: [String: String]
    public var firstFrame: Int
    public var frames: Int
    /// The job-timeline time of the range's first frame, in `timeBase` (where it goes in the joined video).
    public var ptsOrigin: Int64
    public var timeBase: TimeBase
    /// The whole job's audio (its start: the clip's first frame), attached once, at the join.
    public var audio: AudioSource?
    /// The range's video: file name (beside the manifest), size and SHA-256.
    public var video: String
    public var bytes: Int64
    public var sha256: String
    /// Frames at the end past the range's own (its overlap with the next range, cross-faded at the join).
    public var tail: Int? = nil
    /// The frames that are the range's own.
    public var ownFrames: Int { frames - max(0, tail ?? 0) }

    public static func path(for video: String) -> String { video + ".range.json" }

    /// Reads and checks the manifest of the range video at `video`; the error names the file.
    public static func read(for video: String) throws -> RangeManifest {
        let path = RangeManifest.path(for: video)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DreamVideoError.invalidArgument("\(video): not a range of a render (no \(URL(fileURLWithPath: path).lastPathComponent) beside it)")
        }
        guard data.count < 16 << 20, let m = try? JSONDecoder().decode(RangeManifest.self, from: data), m.format == "dreamvideo range" else {
            throw DreamVideoError.invalidArgument("\(path): is not a dreamvideo range manifest")
        }
        guard m.version == 1 else { throw DreamVideoError.invalidArgument("\(path): has version \(m.version); this dreamvideo reads version 1") }
        guard m.firstFrame >= 0, m.frames > 0, m.timeBase.isValid else { throw DreamVideoError.invalidArgument("\(path): is damaged (frame range or time base)") }
        guard fileSize(video) == m.bytes, (try? SHA256.hex(ofFile: video)) == m.sha256 else {
            throw DreamVideoError.invalidArgument("\(video): differs from the video its range manifest describes (changed or damaged); render the range again")
        }
        return m
    }

    func write(beside video: String) throws {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try e.encode(self), to: RangeManifest.path(for: video))
    }
}

/// Puts ranges of one job's frames, rendered apart, back together by stream copy: timestamps where the
/// whole render would have put them, the source's audio attached once and cut to the joined length.
/// Refuses missing, overlapping or foreign ranges (naming the file and what differs) and writes nothing then.
public enum RangeJoin {
    @discardableResult
    public static func join(_ videos: [String], to output: String, overwrite: Bool = false) throws -> JoinReport {
        guard !videos.isEmpty else { throw DreamVideoError.invalidArgument("\(output): no ranges to join") }
        guard output.lowercased().hasSuffix(".mp4") else { throw DreamVideoError.invalidArgument("\(output): the output must end in .mp4") }
        for v in videos where samePath(v, output) { throw DreamVideoError.invalidArgument("\(output): is one of the ranges to join; choose another output name") }
        try AtomicFile.checkWritableFolder(for: output)
        if entryExists(output) && !overwrite { throw DreamVideoError.outputExists(output) }
        var parts = try videos.map { ($0, try RangeManifest.read(for: $0)) }
        parts.sort { $0.1.firstFrame < $1.1.firstFrame }
        let (firstPath, first) = parts[0]
        for (path, m) in parts.dropFirst() {
            guard m.pipeline == first.pipeline else { throw DreamVideoError.invalidArgument("\(path): a \(m.pipeline) range, not \(first.pipeline) like \(firstPath)") }
            if let key = Set(m.settings.keys).union(first.settings.keys).sorted().first(where: { m.settings[$0] != first.settings[$0] }) {
                let what = key == "input" || key == "source" ? "another source" : "other settings"
                throw DreamVideoError.invalidArgument("\(path): made from \(what) than \(firstPath) (\(key) is \(SettingsTable.identityValue(key, in: m.settings)) there, \(SettingsTable.identityValue(key, in: first.settings)) here)")
            }
            guard m.timeBase == first.timeBase else { throw DreamVideoError.invalidArgument("\(path): has another time base than \(firstPath)") }
        }
        // The source the shards were made from: still there, unchanged, and not where the join writes.
        if let input = first.settings["input"], first.pipeline == "redream" {
            if samePath(input, output) { throw DreamVideoError.invalidArgument("\(output): is the source the ranges were made from; choose another output name") }
            if let recorded = first.settings["source"] {
                guard let now = fileFingerprint(input, withTime: false) else {
                    throw DreamVideoError.invalidArgument("\(input): the source of \(firstPath) cannot be read (its audio goes into the join)")
                }
                guard now == recorded else {
                    throw DreamVideoError.invalidArgument("\(input): changed since \(firstPath) was made from it (\(recorded) then, \(now) now); render the shards again")
                }
            }
        }
        guard first.firstFrame == 0 else { throw DreamVideoError.invalidArgument("\(output): frames 0…\(first.firstFrame - 1) are missing (the first range, \(firstPath), starts at frame \(first.firstFrame))") }
        for ((pa, a), (pb, b)) in zip(parts, parts.dropFirst()) {
            let end = a.firstFrame + a.ownFrames
            if b.firstFrame < end { throw DreamVideoError.invalidArgument("\(pb): overlaps \(pa) (frames \(b.firstFrame)…\(end - 1) are in both)") }
            if b.firstFrame > end { throw DreamVideoError.invalidArgument("\(output): frames \(end)…\(b.firstFrame - 1) are missing (between \(pa) and \(pb))") }
        }
        // Each range's own frames by stream copy; where a range rendered frames past its end (its overlap with the
        // next), the next range's first frames are cross-faded from them, re-encoded up to its first key frame
        // after the fade, and the rest copied.
        var segments: [JoinSegment] = []
        var seams: [String] = []
        defer { for s in seams { unlink(s) } }
        for (j, (path, m)) in parts.enumerated() {
            var copyFrom = 0
            if j > 0, let tail = parts[j - 1].1.tail, tail > 0 {
                let fade = min(tail, m.ownFrames)
                let keys = try VideoPacketTimes.keyFrames(path)
                let cut = keys.first { $0 >= fade && $0 < m.ownFrames } ?? m.ownFrames
                let seam = try crossFade(previous: parts[j - 1], next: (path, m), frames: cut, fade: fade, output: output)
                seams.append(seam)
                segments.append(JoinSegment(path: seam, offset: m.ptsOrigin, timeBase: m.timeBase))
                copyFrom = cut
            }
            if copyFrom < m.ownFrames {
                let whole = copyFrom == 0 && (m.tail ?? 0) == 0
                segments.append(JoinSegment(path: path, offset: m.ptsOrigin, timeBase: m.timeBase, packets: whole ? nil : copyFrom..<m.ownFrames))
            }
        }
        var audio = first.audio
        // The audio comes from the source as the shards recorded it (absolute), wherever the join runs.
        if audio != nil, let input = first.settings["input"], input.hasPrefix("/") { audio!.path = input }
        if audio != nil, let (lastPath, last) = parts.last {
            let info = try SegmentInfo(path: lastPath)
            audio!.end = audio!.start + Double(last.ptsOrigin) * last.timeBase.seconds + Double(info.end) * info.timeBase.seconds
        }
        // Joined into a hidden file first, checked, then put in place: never over a file that appeared meanwhile
        // (another join, or anything else) unless --overwrite.
        let dir = URL(fileURLWithPath: output).deletingLastPathComponent().path
        let staged = dir + "/." + URL(fileURLWithPath: output).lastPathComponent + ".joining-\(getpid())-\(UUID().uuidString.prefix(8)).mp4"
        defer { unlink(staged) }
        let report = try VideoJoiner.join(segments, audio: audio, to: staged)
        let frames = try SegmentInfo(path: staged).packets
        let expected = parts.reduce(0) { $0 + $1.1.ownFrames }
        guard frames == expected else {
            throw DreamVideoError.invalidArgument("\(output): the joined video has \(frames) frames, expected \(expected); nothing was kept")
        }
        if overwrite {
            guard rename(staged, output) == 0 else { throw DreamVideoError.invalidArgument("\(output): cannot be written (\(AtomicFile.describeErrno(errno)))") }
        } else {
            guard link(staged, output) == 0 else {
                if errno == EEXIST { throw DreamVideoError.outputExists(output) }
                throw DreamVideoError.invalidArgument("\(output): cannot be written (\(AtomicFile.describeErrno(errno)))")
            }
        }
        return report
    }

    /// The first `frames` frames of the range `next`, the first `fade` of them cross-faded from the frames the
    /// range `previous` rendered past its end (weights 1/(fade+1) … fade/(fade+1) toward `next`), encoded as
    /// the ranges were into a hidden file beside `output`.
    static func crossFade(previous: (String, RangeManifest), next: (String, RangeManifest), frames: Int, fade: Int, output: String) throws -> String {
        let (prevPath, prev) = previous, (path, m) = next
        let dir = URL(fileURLWithPath: output).deletingLastPathComponent().path
        let seam = dir + "/." + URL(fileURLWithPath: output).lastPathComponent + ".seam-\(m.firstFrame)-\(UUID().uuidString.prefix(8)).mp4"
        let a = try VideoReader(path: prevPath), b = try VideoReader(path: path)
        let times = try VideoPacketTimes.read(prevPath).times
        guard prev.ownFrames < times.count else {
            throw DreamVideoError.invalidArgument("\(prevPath): holds \(times.count) frames, its manifest says \(prev.frames); it is damaged")
        }
        try a.seek(toPTS: times[prev.ownFrames])
        let encoder = EncoderSettings(crf: Int(m.settings["crf"] ?? "") ?? 18, preset: m.settings["encoder-preset"] ?? "medium",
                                      forceMPEG4: m.settings["mpeg4"] == "true",
                                      codec: m.settings["codec"].flatMap(VideoCodec.init(rawValue:)) ?? .h264)
        let rate = b.frameRate.num > 0 ? FrameRate(b.frameRate.num, b.frameRate.den) : FrameRate(30)
        let writer = try VideoWriter(path: seam, width: b.size.width, height: b.size.height, frameRate: rate, timeBase: m.timeBase, settings: encoder)
        do {
            for i in 0..<frames {
                guard let f = try b.nextVideoFrame() else { throw DreamVideoError.invalidArgument("\(path): ends after \(i) frames, its manifest says \(m.frames)") }
                var picture = f.image
                if i < fade {
                    guard let g = try a.nextVideoFrame(), g.image.width == picture.width, g.image.height == picture.height else {
                        throw DreamVideoError.invalidArgument("\(prevPath): its overlapping frames cannot be read")
                    }
                    let w = Double(i + 1) / Double(fade + 1)
                    picture = g.image.mixed(with: picture, weight: w)
                }
                try writer.write(picture, pts: Int64((f.time / m.timeBase.seconds).rounded()))
            }
            try writer.finish()
        } catch {
            unlink(seam)
            throw error
        }
        return seam
    }
}
