import Foundation
import MediaIO

/// How a render treats an output that exists or an unfinished render of it.
public struct OutputPolicy: Sendable, Equatable, Codable {
    /// Continue an interrupted render (from its last good checkpoint); without one, start from the beginning.
    public var resume: Bool
    /// Replace an existing output, an unfinished render of it and a partial file.
    public var overwrite: Bool
    public init(resume: Bool = false, overwrite: Bool = false) { self.resume = resume; self.overwrite = overwrite }
}

/// Format and behaviour of a video output.
public struct VideoOutputOptions: Sendable {
    public var width: Int, height: Int
    public var frameRate: FrameRate
    /// Time base of frame times (1/fps for constant frame rate).
    public var timeBase: TimeBase
    public var encoder: EncoderSettings
    public var checkpointEvery: Int
    public var framesDir: String?
    /// Audio to carry into the output (cut to the video's length).
    public var audio: AudioSource?
    public var policy: OutputPolicy
    /// The index of the first frame this output holds (a render of frames N…M starts at N).
    public var firstFrame: Int

    public init(width: Int, height: Int, frameRate: FrameRate, timeBase: TimeBase? = nil, encoder: EncoderSettings,
                checkpointEvery: Int, framesDir: String? = nil, audio: AudioSource? = nil, policy: OutputPolicy, firstFrame: Int = 0) {
        self.width = width; self.height = height; self.frameRate = frameRate
        self.timeBase = timeBase ?? TimeBase(frameRate: frameRate)
        self.encoder = encoder; self.checkpointEvery = checkpointEvery; self.framesDir = framesDir
        self.audio = audio; self.policy = policy; self.firstFrame = firstFrame
    }
}

/// The video output every pipeline shares: frames go into MP4 segments in a locked work folder beside
/// the output, with a checkpoint (the pipeline's payload and images) every few frames. One encoder runs
/// from the first frame (or a resume) to the end: a checkpoint ends a fragment of the open segment and keeps
/// the frames still inside the encoder's look-ahead as lossless files, so a checkpoint leaves no trace in
/// the video (a fresh encoder at every checkpoint made a visible jump in the dream's texture); an interrupted
/// render leaves a playable `OUT.partial.mp4`; a resumed one continues from the last good checkpoint
/// and refuses, naming the setting, if its settings differ; the end joins the segments by stream copy,
/// with the audio. It never touches a file it did not create.
public final class ResumableVideoOutput<Payload: Codable & Sendable> {
    public let output: String
    public let options: VideoOutputOptions
    /// `OUT.partial.mp4`: what an interrupted render leaves to watch.
    public let partialPath: String
    let pipeline: String
    let identity: [String: String]
    var log: (String) -> Void
    /// The audio joined with the video (its `end` is set from the video's length); settable once the first
    /// frame's time is known.
    public var audio: AudioSource?
    /// Each frame's evaluated settings (by frame index), for the finished video's parameter track (nil: none).
    public var parameters: ((Int) -> String?)?
    /// The job-timeline time that the output's time zero stands for (the time of its first frame), kept in
    /// checkpoints so that ranges rendered apart can be put back on one timeline.
    public var ptsOrigin: Int64 = 0

    private var folder: WorkFolder?
    private var segments: [SegmentRecord] = []
    private var writer: VideoWriter?
    private var segmentFirstFrame = 0
    private var segmentOffset: Int64 = 0
    private var segmentName = ""
    /// End (pts + duration) of each frame given to the open segment's encoder, in order.
    private var segmentEnds: [Int64] = []
    /// The open segment's SHA-256 over its first `hashedBytes` bytes (its flushed fragments).
    private var segmentHash = SHA256()
    private var hashedBytes: Int64 = 0
    /// Frames given to the open segment's encoder and kept losslessly until their packets are in a fragment.
    private var pending: [Int: PendingFrame] = [:]
    /// Pending frames the previous checkpoint names (kept while it may still be the one a resume uses).
    private var lastPending: Set<String> = []
    private var framesDone = 0
    /// The end of the last frame written (pts + duration), for cutting the audio.
    private var videoEnd: Int64 = 0
    private var lastImages: [String: StoredFile] = [:]

    /// `identity`: every setting that determines the frames, as text by key (input, model, layers…).
    public init(output: String, pipeline: String, identity: [String: String], options: VideoOutputOptions,
                log: @escaping (String) -> Void = { _ in }) {
        self.output = output; self.pipeline = pipeline; self.identity = identity; self.options = options; self.log = log
        partialPath = ResumableVideoOutput.partialPath(for: output)
        audio = options.audio
    }

    deinit { writer = nil; folder?.unlock() }

    public static func workFolderPath(for output: String) -> String { output + ".dreamvideo" }
    public static func partialPath(for output: String) -> String {
        let u = URL(fileURLWithPath: output)
        return u.deletingPathExtension().path + ".partial." + (u.pathExtension.isEmpty ? "mp4" : u.pathExtension)
    }

    // MARK: checks before anything is loaded

    /// Checks that need nothing but the file system: the output's folder is writable, the output is
    /// not in the way (or may be replaced), the work folder and partial file are ours, and the frames
    /// folder is usable. Changes nothing.
    /// With `--resume`, an output with a range manifest beside it passes here: `open` checks whether it is this
    /// very range, finished (then there is nothing to do), and refuses it otherwise.
    public static func preflight(output: String, framesDir: String?, policy: OutputPolicy, strict: Bool = false) throws {
        let fm = FileManager.default
        try AtomicFile.checkWritableFolder(for: output)
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: output, isDirectory: &isDir) {
            if isDir.boolValue { throw DreamVideoError.invalidArgument("\(output): is a folder") }
            if (try? fm.attributesOfItem(atPath: output))?[.type] as? FileAttributeType != .typeRegular {
                throw DreamVideoError.invalidArgument("\(output): is not a regular file")
            }
            if !policy.overwrite && (strict || !policy.resume || !fm.fileExists(atPath: RangeManifest.path(for: output))) {
                throw DreamVideoError.outputExists(output)
            }
        } else if !policy.overwrite && entryExists(output) {
            throw DreamVideoError.outputExists(output)  // a dangling symbolic link
        }
        let work = workFolderPath(for: output)
        if fm.fileExists(atPath: work, isDirectory: &isDir) {
            // A render that has just made and locked its folder may not have written its marker yet.
            if isDir.boolValue && WorkFolder.isLocked(work) { throw WorkFolder.busy(output: output, path: work) }
            let empty = isDir.boolValue && ((try? fm.contentsOfDirectory(atPath: work))?.isEmpty ?? false)
            guard isDir.boolValue && (WorkFolder.isWorkFolder(work) || empty) else { throw WorkFolder.notOurs(work) }
        }
        let partial = partialPath(for: output)
        if fm.fileExists(atPath: partial) && !policy.overwrite && WorkFolder.readOwner(work)?.wrotePartial != true {
            throw DreamVideoError.invalidArgument("\(partial): exists and was not written by this render (dreamvideo writes its partial video there); move it away or pass --overwrite")
        }
        if let framesDir {
            try checkFramesDir(framesDir)
            if let why = FramesFolder.refusal(framesDir, for: output, overwrite: policy.overwrite) { throw DreamVideoError.invalidArgument(why) }
        }
    }

    /// The output exists, no render of it is unfinished, and its range manifest says it is this range with these
    /// settings, its size and SHA-256 matching: a requeued farm task that had finished.
    func isFinishedRange() -> Bool {
        guard options.firstFrame > 0 || identity["range"] != nil,
              FileManager.default.fileExists(atPath: output),
              !FileManager.default.fileExists(atPath: ResumableVideoOutput.workFolderPath(for: output)),
              let m = try? RangeManifest.read(for: output) else { return false }
        var id = identity
        id["range"] = nil
        guard m.pipeline == pipeline, m.settings == id, m.firstFrame == options.firstFrame,
              m.video == URL(fileURLWithPath: output).lastPathComponent, fileSize(output) == m.bytes else { return false }
        return (try? SHA256.hex(ofFile: output)) == m.sha256
    }

    static func checkFramesDir(_ dir: String) throws {
        let fm = FileManager.default
        guard !dir.isEmpty else { throw DreamVideoError.invalidArgument("--frames-dir is empty; give a folder") }
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: dir, isDirectory: &isDir) {
            guard isDir.boolValue else { throw DreamVideoError.invalidArgument("\(dir): --frames-dir must be a folder, and this is a file") }
            guard access(dir, W_OK) == 0 else { throw DreamVideoError.invalidArgument("\(dir): the frames folder is not writable") }
        } else {
            let parent = URL(fileURLWithPath: dir).deletingLastPathComponent().path
            guard fm.fileExists(atPath: parent, isDirectory: &isDir), isDir.boolValue else {
                throw DreamVideoError.invalidArgument("\(dir): cannot create the frames folder: \(parent) does not exist")
            }
            guard access(parent, W_OK) == 0 else { throw DreamVideoError.invalidArgument("\(dir): cannot create the frames folder: \(parent) is not writable") }
        }
    }

    // MARK: opening

    /// Takes the output: locks its work folder and, when resuming, returns the last good checkpoint
    /// (nil: start from the range's first frame). Damaged checkpoints and segments fall back to the previous
    /// checkpoint, or to a fresh start, with a message.
    public func open() throws -> Checkpoint<Payload>? {
        if options.policy.resume && !options.policy.overwrite && isFinishedRange() { throw DreamVideoError.alreadyDone(output) }
        try ResumableVideoOutput.preflight(output: output, framesDir: options.framesDir, policy: options.policy, strict: true)
        let hadFolder = FileManager.default.fileExists(atPath: ResumableVideoOutput.workFolderPath(for: output))
        let folder = try WorkFolder(output: output)
        self.folder = folder
        // A join of this output killed on the way left its temporary file (".OUT.mp4.PID.part"); the work folder's
        // lock says no other render of it runs, so it is ours and dead.
        let dir = URL(fileURLWithPath: output).deletingLastPathComponent().path
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        for target in [output, partialPath] {
            let stem = "." + URL(fileURLWithPath: target).lastPathComponent + "."
            for name in names where name.hasPrefix(stem) && name.hasSuffix(".part") && name.dropFirst(stem.count).dropLast(5).allSatisfy(\.isNumber) {
                unlink(dir + "/" + name)
            }
        }
        framesDone = options.firstFrame
        if let dir = options.framesDir { try FramesFolder.take(dir, for: output, overwrite: options.policy.overwrite) }
        var resumed: Checkpoint<Payload>? = nil
        if hadFolder && !options.policy.overwrite {
            switch loadBestCheckpoint() {
            case .found(let cp, let file, let note):
                if let note {
                    log(note)
                    // The newer checkpoint is damaged: the previous one becomes the current one.
                    _ = rename(folder.file("checkpoint-prev.json"), folder.file("checkpoint.json"))
                }
                guard options.policy.resume else {
                    throw DreamVideoError.invalidArgument("\(output): an interrupted render exists (\(folder.path), \(file.nextFrame) frames done); pass --resume to continue it or --overwrite to start over")
                }
                let diffs = differences(file.settings)
                guard diffs.isEmpty else { throw DreamVideoError.resumeMismatch(output: output, differences: diffs) }
                guard (file.firstFrame ?? 0) == options.firstFrame else {
                    throw DreamVideoError.resumeMismatch(output: output, differences: [("first frame", "\(file.firstFrame ?? 0)", "\(options.firstFrame)")])
                }
                if file.engine != DreamVideoInfo.engineBuild {
                    // Not an error: the frames continue from the saved pictures without a seam. But another build or
                    // OpenBLAS's other kernels round differently, and a zoom's feedback grows that into other details.
                    // The recorded text is shown printable and short, whatever the file holds.
                    let was = file.engine.map { String(String.UnicodeScalarView($0.unicodeScalars.filter { $0.properties.generalCategory != .control }).prefix(120)) }
                    log("note: \(output) was begun by \(was.map { "another build or with other kernels (\($0))" } ?? "an earlier build of dreamvideo"); it continues with \(DreamVideoInfo.engineBuild), so the frames from here on are dreamed alike but will not be identical to an uninterrupted render's")
                }
                segments = file.segments.map { var s = $0; s.open = nil; return s }
                ptsOrigin = file.ptsOrigin ?? 0
                lastImages = file.images
                framesDone = file.nextFrame
                let replay = file.pending ?? []
                videoEnd = replay.last.map { $0.pts + ($0.duration ?? 1) } ?? segments.last?.end ?? 0
                resumed = cp
                let keep = Set(file.segments.map(\.file) + file.images.values.map(\.file) + replay.map(\.file) + WorkFolder.checkpointNames)
                folder.removeOurFiles(except: keep)
                // The frames that were inside the encoder go into a new segment first.
                let firstPending = file.nextFrame - replay.count
                for (i, p) in replay.enumerated() {
                    let pixels = try readPending(p)
                    try encode(RGBImage(width: options.width, height: options.height, pixels: pixels), frame: firstPending + i, pts: p.pts, duration: p.duration, keep: p)
                }
                log("resuming at frame \(file.nextFrame + 1)")
            case .none(let reason):
                if let reason { log("\(folder.path): \(reason); starting from the beginning") }
                folder.removeOurFiles()
            }
        } else {
            folder.removeOurFiles()
        }
        if !folder.owner.wrotePartial && options.policy.overwrite && FileManager.default.fileExists(atPath: partialPath) {
            // --overwrite: a partial file in the way is replaced when one is written; remove the stale one now.
            unlink(partialPath)
        }
        if resumed == nil, folder.owner.wrotePartial { unlink(partialPath) }
        return resumed
    }

    private enum Found {
        case found(Checkpoint<Payload>, CheckpointFile<Payload>, note: String?)
        case none(reason: String?)
    }

    /// The newest checkpoint whose files are all intact.
    private func loadBestCheckpoint() -> Found {
        guard let folder else { return .none(reason: nil) }
        var problems: [String] = []
        for name in WorkFolder.checkpointNames {
            let path = folder.file(name)
            guard FileManager.default.fileExists(atPath: path) else { continue }
            do {
                let file = try SealedCheckpoint<Payload>.read(path)
                guard file.pipeline == pipeline else { throw CheckpointDamage("belongs to a \(file.pipeline) render, not \(pipeline)") }
                guard file.timeBase == options.timeBase else { throw CheckpointDamage("has another time base") }
                let cp = try verify(file)
                let note = problems.isEmpty ? nil : "\(problems.joined(separator: "; ")); resuming from the previous checkpoint"
                return .found(cp, file, note: note)
            } catch {
                problems.append("\(name) \(error)")
            }
        }
        if problems.isEmpty { return .none(reason: "the interrupted render stopped before its first checkpoint") }
        return .none(reason: "no usable checkpoint (\(problems.joined(separator: "; ")))")
    }

    /// Checks every segment and image the checkpoint names (size, digest, frame count) and loads the images.
    private func verify(_ file: CheckpointFile<Payload>) throws -> Checkpoint<Payload> {
        guard let folder else { throw CheckpointDamage("no work folder") }
        for s in file.segments {
            let path = folder.file(s.file)
            // A segment that was open: fragments written after the checkpoint are cut off.
            if s.open == true, let size = fileSize(path), size > s.bytes, truncate(path, off_t(s.bytes)) != 0 {
                throw CheckpointDamage("segment \(s.file) cannot be cut back to \(s.bytes) bytes (\(AtomicFile.describeErrno(errno)))")
            }
            guard let size = fileSize(path) else { throw CheckpointDamage("segment \(s.file) is missing") }
            guard size == s.bytes else { throw CheckpointDamage("segment \(s.file) has \(size) bytes, expected \(s.bytes)") }
            guard (try? SHA256.hex(ofFile: path)) == s.sha256 else { throw CheckpointDamage("segment \(s.file) is damaged (checksum)") }
            let info: SegmentInfo
            do { info = try SegmentInfo(path: path) } catch { throw CheckpointDamage("segment \(s.file) cannot be read (\(error))") }
            guard info.packets == s.frames, info.width == options.width, info.height == options.height else {
                throw CheckpointDamage("segment \(s.file) holds \(info.packets) frames of \(info.width)×\(info.height), expected \(s.frames) of \(options.width)×\(options.height)")
            }
        }
        let frameBytes = Int64(options.width) * Int64(options.height) * 3
        for p in file.pending ?? [] {
            let path = folder.file(p.file)
            guard p.bytes == frameBytes, fileSize(path) == p.bytes, (try? SHA256.hex(ofFile: path)) == p.sha256 else {
                throw CheckpointDamage("pending frame \(p.file) is missing or damaged")
            }
        }
        var images: [String: RGBImage] = [:]
        for (name, f) in file.images {
            let path = folder.file(f.file)
            guard fileSize(path) == f.bytes, (try? SHA256.hex(ofFile: path)) == f.sha256 else { throw CheckpointDamage("state image \(f.file) is missing or damaged") }
            do { images[name] = try ImageIO.read(path) } catch { throw CheckpointDamage("state image \(f.file) cannot be read (\(error))") }
        }
        return Checkpoint(nextFrame: file.nextFrame, payload: file.payload, images: images, ptsOrigin: file.ptsOrigin ?? 0)
    }

    private func differences(_ saved: [String: String]) -> [(key: String, was: String, now: String)] {
        SettingsTable.identityDifferences(saved, identity, keys: Set(saved.keys).union(identity.keys))
    }

    // MARK: writing

    /// Encodes frame `frame` (frames arrive in order) shown at `pts` (output time base) for `duration`.
    public func write(_ image: RGBImage, frame: Int, pts: Int64, duration: Int64? = nil) throws {
        guard frame == framesDone else { throw DreamVideoError.invalidArgument("\(output): frame \(frame) out of order (expected \(framesDone))") }
        try encode(image, frame: frame, pts: pts, duration: duration, keep: nil)
        if let dir = options.framesDir { try ImageIO.write(image, to: String(format: "%@/frame_%06d.png", dir, frame)) }
        framesDone += 1
        videoEnd = pts + (duration ?? 1)
    }

    /// Gives a frame to the open segment's encoder (opening one if needed), keeping it losslessly until its packet
    /// is in a fragment (`keep`: the file that already holds it, when a resume encodes a pending frame again).
    private func encode(_ image: RGBImage, frame: Int, pts: Int64, duration: Int64?, keep: PendingFrame?) throws {
        guard let folder else { throw DreamVideoError.invalidArgument("\(output): output not opened") }
        if writer == nil {
            segmentName = String(format: "segment-%06d.mp4", frame)
            segmentFirstFrame = frame
            segmentOffset = pts
            segmentEnds = []
            segmentHash = SHA256()
            hashedBytes = 0
            pending = [:]
            unlink(folder.file(segmentName))  // a segment of an abandoned run that no checkpoint names
            writer = try VideoWriter(path: folder.file(segmentName), width: options.width, height: options.height,
                                     frameRate: options.frameRate, timeBase: options.timeBase, settings: options.encoder, fragmented: true)
        }
        if let keep {
            pending[frame] = keep
        } else {
            let name = String(format: "pending-%06d.rgb", frame)
            let data = Data(image.pixels)
            let path = folder.file(name)
            guard FileManager.default.createFile(atPath: path, contents: data) else {
                throw DreamVideoError.invalidArgument("\(path): cannot write (\(AtomicFile.describeErrno(errno)))")
            }
            pending[frame] = PendingFrame(file: name, bytes: Int64(data.count), sha256: SHA256.hex(of: data), pts: pts, duration: duration)
        }
        try writer!.write(image, pts: pts - segmentOffset, duration: duration)
        segmentEnds.append(pts + (duration ?? 1))
    }

    private func readPending(_ p: PendingFrame) throws -> [UInt8] {
        guard let folder, let data = FileManager.default.contents(atPath: folder.file(p.file)), Int64(data.count) == p.bytes else {
            throw DreamVideoError.invalidArgument("\(output): pending frame \(p.file) cannot be read")
        }
        return [UInt8](data)
    }

    /// Whether a checkpoint is due after `nextFrame` frames.
    public func isCheckpointDue(nextFrame: Int) -> Bool { nextFrame % options.checkpointEvery == 0 }

    /// Writes a checkpoint: the pipeline's payload and images for frame `nextFrame`. The open segment ends a
    /// fragment and goes on (its encoder keeps its look-ahead, saved as pending frames); `closing` (the render
    /// stops or ends) closes it instead.
    public func checkpoint(_ cp: Checkpoint<Payload>, closing: Bool = false) throws {
        guard let folder else { throw DreamVideoError.invalidArgument("\(output): output not opened") }
        guard cp.nextFrame == framesDone else { throw DreamVideoError.invalidArgument("\(output): checkpoint at frame \(cp.nextFrame) but \(framesDone) frames written") }
        var listed = segments
        var waiting: [PendingFrame] = []
        if closing {
            try closeSegment()
            listed = segments
        } else if let w = writer {
            let bytes = try w.flush()
            let path = folder.file(segmentName)
            AtomicFile.sync(path)
            try hashSegment(upTo: bytes)
            let flushed = w.packetsWritten
            if flushed > 0 {
                listed.append(SegmentRecord(file: segmentName, firstFrame: segmentFirstFrame, frames: flushed, offset: segmentOffset,
                                            end: segmentEnds[flushed - 1], bytes: bytes, sha256: segmentHash.hexSoFar(), open: true))
            }
            for f in (segmentFirstFrame + flushed)..<framesDone {
                guard let p = pending[f] else { throw DreamVideoError.invalidArgument("\(output): frame \(f) is neither in a segment nor kept") }
                AtomicFile.sync(folder.file(p.file))
                waiting.append(p)
            }
            // Frames now in a fragment need no copy.
            for f in pending.keys where f < segmentFirstFrame + flushed { pending[f] = nil }
        }
        var stored: [String: StoredFile] = [:]
        for (name, image) in cp.images.sorted(by: { $0.key < $1.key }) {
            let file = String(format: "state-%06d-%@.png", cp.nextFrame, name)
            let path = folder.file(file)
            try ImageIO.write(image, to: path)
            stored[name] = StoredFile(file: file, bytes: fileSize(path) ?? 0, sha256: try SHA256.hex(ofFile: path))
        }
        let file = CheckpointFile(pipeline: pipeline, settings: identity, firstFrame: options.firstFrame, ptsOrigin: ptsOrigin,
                                  nextFrame: cp.nextFrame, timeBase: options.timeBase, segments: listed, pending: waiting.isEmpty ? nil : waiting,
                                  images: stored, payload: cp.payload, engine: DreamVideoInfo.engineBuild)
        let data = try SealedCheckpoint(file).encoded()
        let current = folder.file("checkpoint.json"), previous = folder.file("checkpoint-prev.json")
        if FileManager.default.fileExists(atPath: current) {
            guard rename(current, previous) == 0 else { throw DreamVideoError.invalidArgument("\(previous): cannot write (\(AtomicFile.describeErrno(errno)))") }
        }
        try AtomicFile.write(data, to: current)
        // Files neither checkpoint needs any more (the open segment and the frames still in its encoder stay).
        var keep = Set(listed.map(\.file) + stored.values.map(\.file) + WorkFolder.checkpointNames)
        keep.formUnion(lastImages.values.map(\.file))
        keep.formUnion(lastPending)
        if writer != nil { keep.insert(segmentName) }
        keep.formUnion(pending.values.map(\.file))
        folder.removeOurFiles(except: keep)
        lastImages = stored
        lastPending = Set(waiting.map(\.file))
    }

    /// Adds the open segment's bytes up to `bytes` (its newly flushed fragments) to its running digest.
    private func hashSegment(upTo bytes: Int64) throws {
        guard bytes > hashedBytes else { return }
        let path = folder!.file(segmentName)
        guard let h = FileHandle(forReadingAtPath: path) else { throw DreamVideoError.invalidArgument("\(path): cannot read it back") }
        defer { try? h.close() }
        try h.seek(toOffset: UInt64(hashedBytes))
        var left = bytes - hashedBytes
        while left > 0 {
            guard let chunk = try h.read(upToCount: Int(min(left, 4 << 20))), !chunk.isEmpty else {
                throw DreamVideoError.invalidArgument("\(path): shorter than the \(bytes) bytes just written")
            }
            segmentHash.update(chunk)
            left -= Int64(chunk.count)
        }
        hashedBytes = bytes
    }

    private func closeSegment() throws {
        guard let w = writer else { return }
        writer = nil
        try w.finish()
        let path = folder!.file(segmentName)
        // On disk before any checkpoint names it: after a power loss a checkpoint never points at lost frames
        // (and if the disk lied, the segment's size and SHA-256 in the checkpoint catch it).
        AtomicFile.sync(path)
        segments.append(SegmentRecord(file: segmentName, firstFrame: segmentFirstFrame, frames: w.framesWritten, offset: segmentOffset,
                                      end: videoEnd, bytes: fileSize(path) ?? 0, sha256: try SHA256.hex(ofFile: path)))
        pending = [:]  // every frame is in the file now
    }

    /// After a failure before any frame was written: removes the work folder (nothing in it could be
    /// resumed) and lets go of the output.
    public func discardIfNothingSaved() {
        guard let folder, segments.isEmpty, writer == nil, framesDone == options.firstFrame else { return }
        writer = nil
        folder.removeAll()
        self.folder = nil
    }

    /// After a checkpoint: joins what exists into `OUT.partial.mp4` (with the audio so far) and returns its path.
    public func writePartial() throws -> String {
        guard let folder, !segments.isEmpty else { throw DreamVideoError.invalidArgument("\(output): nothing rendered yet") }
        try folder.markPartialWritten()
        _ = try join(to: partialPath)
        return partialPath
    }

    /// Closes the last segment, joins every segment (with the audio) into the output, checks its frame
    /// count, removes the partial file and the work folder. Returns what the join did with the audio.
    @discardableResult
    public func finish(expectedFrames: Int) throws -> JoinReport {
        guard let folder else { throw DreamVideoError.invalidArgument("\(output): output not opened") }
        try closeSegment()
        let report = try join(to: output, parameters: parameters)
        let info = try SegmentInfo(path: output)
        guard info.packets == expectedFrames else {
            unlink(output)
            throw DreamVideoError.invalidArgument("\(output): the joined video has \(info.packets) frames, expected \(expectedFrames); the segments stay in \(folder.path)")
        }
        if folder.owner.wrotePartial { unlink(partialPath) }
        if !folder.removeAll() {
            log("note: \(folder.path) holds files dreamvideo did not write; left in place")
        }
        self.folder = nil
        return report
    }

    private func join(to path: String, parameters: ((Int) -> String?)? = nil) throws -> JoinReport {
        let tb = options.timeBase
        let parts = segments.map { JoinSegment(path: folder!.file($0.file), offset: $0.offset, timeBase: tb) }
        var a = audio
        if a != nil { a!.end = a!.start + Double(videoEnd) * tb.seconds }
        let first = options.firstFrame
        return try VideoJoiner.join(parts, audio: a, parameters: parameters.map { p in { p(first + $0) } }, to: path)
    }

    /// The index of the next frame to write (frames before it are in segments).
    public var nextFrame: Int { framesDone }
}

func fileSize(_ path: String) -> Int64? {
    var st = stat()
    guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
    return Int64(st.st_size)
}
