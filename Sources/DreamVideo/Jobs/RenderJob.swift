import DreamEngine
import Foundation
import MediaIO

/// A render described completely by values: what to read, where to write, and every setting.
/// Jobs are Codable, so presets and batch files can hold them; `run` does the work.
///
/// However a job is made — `resolve` from flags and presets, built in code, decoded from JSON — `run`
/// checks it by the same rules (`validate`) before it touches a file or loads a model.
public protocol RenderJob: Codable, Sendable {
    static var kind: JobKind { get }
    /// The input: an image or video file, or `white`/`gray`/`noise`.
    var input: String { get }
    var output: String { get }
    var settings: JobSettings { get }

    init(input: String, output: String, settings: JobSettings)

    /// The checks of this kind of job beyond the settings table's (the input can be read, the frame size
    /// suits the model…). `resolved` tells where each setting came from, for the error's wording.
    func checkJob(resolved: ResolvedSettings?) throws

    /// Checks that need no model (input readable, output folder writable, an existing output without
    /// `overwrite`…). `run` calls it before loading or installing a model.
    func preflight(policy: OutputPolicy) throws

    /// Renders. `shouldStop` is polled between frames: when it returns true the render checkpoints,
    /// leaves a playable partial video and throws `DreamVideoError.interrupted`.
    func run(store: ModelStore, policy: OutputPolicy, progress: RenderObserver,
             shouldStop: () throws -> Bool) throws -> RenderSummary
}

extension RenderJob {
    public var kind: JobKind { Self.kind }

    /// Built-in defaults ← the model's defaults for this kind of job ← `sources` (a preset, then flags),
    /// checked by the settings table and by the job (`checkJob`).
    public static func resolve(input: String, output: String, sources: [SettingSource]) throws -> Self {
        let r = try JobSettings.resolve(kind: kind, sources: sources)
        let job = Self(input: input, output: output, settings: r.settings)
        try job.checkJob(resolved: r)
        return job
    }

    /// Checks the settings by the table's rules and the job's own checks, whoever made them.
    public func validate() throws {
        try settings.validate(for: Self.kind)
        try checkJob(resolved: nil)
    }
}

/// Where a render reports what it is doing. Every callback is optional.
public struct RenderObserver {
    /// After each video frame, with the frame itself.
    public var frame: (FrameProgress) -> Void = { _ in }
    /// After each gradient-ascent step (images) — video frames report only the end of each octave.
    public var step: (DreamProgress) -> Void = { _ in }
    /// Notes worth a line on the terminal (resuming, a fallback encoder, an octave pyramid cut short…).
    public var note: (String) -> Void = { _ in }
    public init() {}
}

/// A frame just finished: its index, the picture as written, and what it cost.
public struct FrameProgress: Sendable {
    /// Index of the frame just finished (0-based) and the frame count (an estimate while a re-dream's
    /// source has not ended).
    public var index: Int
    public var count: Int
    /// Seconds this frame took, all told.
    public var seconds: Double
    /// The frame as it went into the video (8-bit RGB; shared, not copied).
    public var picture: RGBImage
    /// Where the time went, this frame.
    public var timings: FrameTimings
}

/// Seconds spent per stage of making frames.
public struct FrameTimings: Sendable, Equatable {
    public var decode = 0.0, flow = 0.0, dream = 0.0, warp = 0.0, encode = 0.0
    public init() {}

    static func - (a: FrameTimings, b: FrameTimings) -> FrameTimings {
        var d = FrameTimings()
        d.decode = a.decode - b.decode; d.flow = a.flow - b.flow; d.dream = a.dream - b.dream
        d.warp = a.warp - b.warp; d.encode = a.encode - b.encode
        return d
    }
}

/// What a render did, for the summary line and the README's figures.
public struct RenderSummary: Sendable {
    public var output: String
    public var width = 0, height = 0
    public var frameRate: FrameRate? = nil
    /// Frames rendered by this run (a resumed run renders only the rest) and in the whole video (or range).
    public var framesRendered = 0
    public var totalFrames = 0
    public var wallSeconds = 0.0
    public var decodeSeconds = 0.0, flowSeconds = 0.0, dreamSeconds = 0.0, warpSeconds = 0.0, encodeSeconds = 0.0
    public var outputBytes: Int64 = 0
    /// Lines worth showing after the summary (audio re-encoded, damaged packets skipped…).
    public var notes: [String] = []

    public init(output: String) { self.output = output }

    mutating func add(_ t: FrameTimings) {
        decodeSeconds += t.decode; flowSeconds += t.flow; dreamSeconds += t.dream; warpSeconds += t.warp; encodeSeconds += t.encode
    }
}

extension RenderJob {
    /// The input as it identifies a render (absolute, normalised), so `./x.png` and `x.png` resume alike.
    var canonicalInput: String {
        StartImage.isSynthetic(input) ? input : URL(fileURLWithPath: input).standardizedFileURL.resolvingSymlinksInPath().path
    }

    /// The settings that must match for a resume, by key, plus the input.
    func identity(extra: [String: String] = [:]) -> [String: String] {
        var id: [String: String] = ["input": canonicalInput]
        for s in SettingsTable.settings(for: Self.kind) where s.affectsFrames {
            if let v = s.format(settings), v.description != s.impliedBefore { id[s.key] = v.description }
        }
        id.merge(extra) { _, new in new }
        return id
    }

    /// The file checks every job makes before anything runs (a batch makes them for every job before the
    /// first): the input is readable, the output's folder exists and is writable, the output is not the input
    /// and has one of `extensions`.
    func checkPaths(extensions: [String], described: String? = nil) throws {
        let ext = (output as NSString).pathExtension.lowercased()
        guard extensions.contains(ext) else {
            throw DreamVideoError.invalidArgument("\(output): the output must end in \(described ?? extensions.map { "." + $0 }.joined(separator: " or "))")
        }
        try checkInputReadable()
        try AtomicFile.checkWritableFolder(for: output)
        try checkOutputIsNotInput()
    }

    /// Checks that the input exists and is readable (a picture or video is decoded later).
    func checkInputReadable() throws {
        if StartImage.isSynthetic(input) { return }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: input, isDirectory: &isDir) else {
            throw MediaError.cannotOpen(path: input, reason: "no such file")
        }
        guard !isDir.boolValue else { throw MediaError.cannotOpen(path: input, reason: "is a folder") }
        guard access(input, R_OK) == 0 else { throw MediaError.cannotOpen(path: input, reason: "permission denied") }
    }

    /// The checks every video job makes before loading anything: an .mp4 output that is not the input,
    /// a readable input and guide, and an output location the shared video output may take.
    func videoPreflight(policy: OutputPolicy) throws {
        try checkPaths(extensions: ["mp4"])
        try DreamControl.preflight(settings)
        try ResumableVideoOutput<Never>.preflight(output: output, framesDir: settings.framesDir, policy: policy)
    }

    /// Refuses a render that would not fit in memory (before any model is loaded).
    func checkMemory(width: Int, height: Int) throws {
        var (w, h) = (width, height)
        if Self.kind == .zoom && settings.gridTurn > 0 {
            // Frames are dreamed on a turned canvas that holds the whole frame: at 45° a square of (w + h)/√2.
            let side = Int((Double(width + height) / 2.0.squareRoot()).rounded(.up))
            (w, h) = (max(width, side), max(height, side))
        }
        try MemoryGuard.check(model: settings.model, layers: settings.objectiveNodes, width: w, height: h, tile: settings.tile, what: output)
    }

    /// Checks the input is not the output (a render must never overwrite what it reads).
    func checkOutputIsNotInput() throws {
        if case .file(let song) = settings.audio, samePath(song, output) {
            throw DreamVideoError.invalidArgument("\(output): the output is the soundtrack (--audio); choose another output name")
        }
        guard !StartImage.isSynthetic(input) else { return }
        if samePath(input, output) { throw DreamVideoError.invalidArgument("\(output): the output is the input; choose another output name") }
    }

    /// The smallest side (px) a picture must have for the job's layers (and class objective) to exist.
    func minimumSide() throws -> Int {
        try ModelProfiles.profile(settings.model).minimumSide(layers: settings.objectiveNodes)
    }
}

/// Whether two paths name the same file (after making them absolute and following links).
/// Whether anything is at `path`, a dangling symbolic link included (`fileExists` follows links).
func entryExists(_ path: String) -> Bool {
    var st = stat()
    return lstat(path, &st) == 0
}

func samePath(_ a: String, _ b: String) -> Bool {
    func canonical(_ p: String) -> String { URL(fileURLWithPath: p).standardizedFileURL.resolvingSymlinksInPath().path }
    if canonical(a) == canonical(b) { return true }
    var sa = stat(), sb = stat()
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
}

extension JobSettings {
    /// The nodes the objective reads: the layers, and the classifier for class terms.
    var objectiveNodes: [String] {
        layers.map(\.name) + (classes.isEmpty ? [] : [ClassTerm.logitsNode(model)])
    }
}

/// A `Dreamer` reused across frames while the frame settings stay the same (schedules change them).
final class DreamerCache {
    private let network: Network
    private let guide: Tensor?
    private let cancel: (@Sendable () -> Bool)?
    private var current: (settings: DreamSettings, dreamer: Dreamer)?
    init(network: Network, guide: Tensor? = nil, cancel: (@Sendable () -> Bool)? = nil) { self.network = network; self.guide = guide; self.cancel = cancel }
    func dreamer(for s: DreamSettings) throws -> Dreamer {
        if let c = current, c.settings == s { return c.dreamer }
        var d = try Dreamer(network: network, settings: s, guide: guide)
        d.shouldCancel = cancel
        current = (s, d)
        return d
    }
}

/// Identifies a file's content cheaply: its size, digests of its first and last MiB and (`withTime`) its
/// modification time. Nil when it cannot be read.
func fileFingerprint(_ path: String, withTime: Bool = true) -> String? {
    guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
    defer { try? handle.close() }
    let size = (try? handle.seekToEnd()) ?? 0
    try? handle.seek(toOffset: 0)
    let head = (try? handle.read(upToCount: 1 << 20)) ?? Data()
    try? handle.seek(toOffset: size > 1 << 20 ? size - (1 << 20) : 0)
    let tail = (try? handle.read(upToCount: 1 << 20)) ?? Data()
    var st = stat()
    let time = withTime && stat(path, &st) == 0 ? ", modified \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)" : ""
    return "\(size) bytes, \(SHA256.hex(of: head + tail).prefix(16))\(time)"
}
