import Foundation
import MediaIO
import Yams

/// A job of any kind.
public enum AnyRenderJob: Codable, Sendable, Equatable {
    case image(ImageJob)
    case zoom(ZoomJob)
    case redream(RedreamJob)

    public var job: any RenderJob {
        switch self {
        case .image(let j): return j
        case .zoom(let j): return j
        case .redream(let j): return j
        }
    }
    public var kind: JobKind {
        switch self {
        case .image: return .image
        case .zoom: return .zoom
        case .redream: return .redream
        }
    }

    /// Resolves a job of `kind`.
    public static func resolve(kind: JobKind, input: String, output: String, sources: [SettingSource]) throws -> AnyRenderJob {
        switch kind {
        case .image: return .image(try ImageJob.resolve(input: input, output: output, sources: sources))
        case .zoom: return .zoom(try ZoomJob.resolve(input: input, output: output, sources: sources))
        case .redream: return .redream(try RedreamJob.resolve(input: input, output: output, sources: sources))
        }
    }
}

/// A batch file: a list of jobs (kind, input, output, preset, and any settings), in the preset format.
/// Relative paths are relative to the batch file's folder.
///
/// ```yaml
/// jobs:
///   - kind: zoom
///     input: samples/chelsea.png
///     output: out/cat-zoom.mp4
///     preset: classic-eyes
///     frames: 300
///   - kind: image
///     input: samples/coffee.png
///     output: out/coffee.png
///     layer: blocks.7
/// ```
public struct BatchFile: Sendable {
    public struct Item: Sendable {
        /// 1-based position in the file.
        public var number: Int
        public var line: Int?
        public var preset: String?
        public var job: AnyRenderJob
        /// Identifies the job's settings, inputs and output: a re-run skips a job whose output was made with it.
        public var fingerprint: String
        /// A rough measure of the work (frames × pixels × steps ÷ cadence, × the turned canvas of a zoom), to
        /// share a batch's time estimate among jobs and to split a batch among shards.
        public var estimatedWork: Double
    }

    public let path: String
    public var items: [Item]

    static let jobKeys = ["kind", "input", "output", "preset"]

    /// Reads and checks every job (settings, presets, duplicate outputs) before anything runs.
    /// The largest batch file read (about 25 000 jobs).
    public static let maxBytes = 16 << 20

    public static func load(path: String) throws -> BatchFile {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            if isDanglingLink(path) { throw DreamVideoError.invalidArgument("\(path): a symbolic link that leads nowhere (a loop, or its target is gone)") }
            throw DreamVideoError.invalidArgument("\(path): no such batch file")
        }
        guard !isDir.boolValue else { throw DreamVideoError.invalidArgument("\(path): is a folder, not a batch file") }
        guard let size = fileSize(path) else { throw DreamVideoError.invalidArgument("\(path): is not a regular file") }
        guard size <= maxBytes else {
            throw DreamVideoError.invalidArgument("\(path): is \(size >> 20) MiB, over the \(maxBytes >> 20) MiB a batch file may have; split it into several batches")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw DreamVideoError.invalidArgument("\(path): cannot be read (permission denied?)") }
        guard let text = String(data: data, encoding: .utf8) else { throw DreamVideoError.invalidArgument("\(path): is not UTF-8 text") }
        return try parse(yaml: text, path: path)
    }

    public static func parse(yaml: String, path: String) throws -> BatchFile {
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        func resolvePath(_ p: String) -> String {
            if p.hasPrefix("/") || StartImage.isSynthetic(p) { return p }
            return base.appendingPathComponent(p).standardizedFileURL.path
        }
        let root: Node
        do { root = try YAMLSettings.compose(yaml, path: path) } catch let e as SettingError where e.key.isEmpty {
            throw DreamVideoError.invalidArgument("\(path): the batch file is empty; it needs a `jobs:` list")
        }
        guard case .mapping(let top) = root else { throw DreamVideoError.invalidArgument("\(path): a batch file is a mapping with a `jobs:` list") }
        var jobsNode: Node? = nil
        for (k, v) in top {
            guard k.string == "jobs" else {
                let hint = closeMatch(k.string ?? "", in: ["jobs"]).map { " (did you mean \($0)?)" } ?? ""
                throw DreamVideoError.invalidArgument("\(path):\(k.mark?.line ?? 0): unknown key '\(k.string ?? "?")'\(hint); a batch file holds `jobs:`")
            }
            jobsNode = v
        }
        guard let jobsNode, case .sequence(let seq) = jobsNode, !seq.isEmpty else {
            throw DreamVideoError.invalidArgument("\(path): the batch has no jobs (`jobs:` must be a list of jobs)")
        }
        var items: [Item] = []
        var outputs: [String: Int] = [:]
        var framesDirs: [String: Int] = [:]
        var cache: [String: String] = [:]
        var estimator = WorkEstimator()
        var readPaths: [(String, String)] = [(path, "the batch file itself")]
        for (i, node) in seq.enumerated() {
            let line = node.mark?.line
            guard case .mapping(let m) = node else {
                throw DreamVideoError.invalidArgument("\(path):\(line ?? 0): job \(i + 1) must be a mapping (kind, input, output, preset, settings)")
            }
            var kind: JobKind? = nil, input: String? = nil, output: String? = nil, preset: String? = nil
            var source = SettingSource(entries: [], origin: .file(path: path, line: line))
            for (k, v) in m {
                let key = try YAMLSettings.key(k, path: path)
                let here = "\(path):\(k.mark?.line ?? line ?? 0)"
                switch key {
                case "kind":
                    guard let s = v.string, let kd = JobKind(rawValue: s) else {
                        throw DreamVideoError.invalidArgument("\(here): kind must be image, zoom or redream, got '\(v.string ?? "?")'")
                    }
                    kind = kd
                case "input", "output", "preset":
                    guard let s = v.string, !s.isEmpty else { throw DreamVideoError.invalidArgument("\(here): \(key) must be a path") }
                    if key == "input" { input = s } else if key == "output" { output = s } else { preset = s }
                default:
                    source.entries.append(try YAMLSettings.entry(key: key, node: v, path: path, extraKeys: jobKeys))
                }
            }
            let here = "\(path):\(line ?? 0)"
            guard let kind else { throw DreamVideoError.invalidArgument("\(here): job \(i + 1) needs a kind (image, zoom or redream)") }
            guard let input else { throw DreamVideoError.invalidArgument("\(here): job \(i + 1) needs an input") }
            guard let output else { throw DreamVideoError.invalidArgument("\(here): job \(i + 1) needs an output") }
            let out = resolvePath(output)
            if let other = outputs[out] {
                throw DreamVideoError.invalidArgument("\(here): job \(i + 1) writes \(output), as job \(other) does; every job needs its own output")
            }
            outputs[out] = i + 1
            var sources: [SettingSource] = []
            if let preset {
                let resolvedPreset = preset.contains("/") || preset.hasSuffix(".yaml") || preset.hasSuffix(".yml") ? resolvePath(preset) : preset
                let p = try PresetLibrary.find(resolvedPreset)
                sources.append(p.source)
                readPaths.append((p.path, "job \(i + 1)'s preset"))
            }
            sources.append(source)
            let job: AnyRenderJob
            do { job = try AnyRenderJob.resolve(kind: kind, input: resolvePath(input), output: out, sources: sources) } catch let e as SettingError {
                throw e
            } catch {
                throw DreamVideoError.invalidArgument("\(here): job \(i + 1): \(error)")
            }
            let s = job.job.settings
            if let dir = s.framesDir, job.kind.isVideo {
                let key = URL(fileURLWithPath: dir).standardizedFileURL.resolvingSymlinksInPath().path
                if let other = framesDirs[key] {
                    throw DreamVideoError.invalidArgument("\(here): job \(i + 1) writes its frames into \(dir), as job \(other) does; every job needs its own frames-dir")
                }
                framesDirs[key] = i + 1
            }
            if !StartImage.isSynthetic(job.job.input) { readPaths.append((job.job.input, "job \(i + 1)'s input")) }
            if let g = s.guide { readPaths.append((g, "job \(i + 1)'s guide")) }
            items.append(Item(number: i + 1, line: line, preset: preset, job: job, fingerprint: try fingerprint(job, cache: &cache),
                              estimatedWork: estimator.work(job)))
        }
        // Nothing the batch reads may be written over, whatever the flags: every file read, by its canonical
        // path and by its inode (a hard link), looked up once per output.
        var read: [FileIdentity: String] = [:]
        for (p, what) in readPaths { for id in FileIdentity.of(p) where read[id] == nil { read[id] = what } }
        for item in items {
            if let what = FileIdentity.of(item.job.job.output).lazy.compactMap({ read[$0] }).first {
                throw DreamVideoError.invalidArgument("\(path):\(item.line ?? 0): job \(item.number) writes \(item.job.job.output), which is \(what); choose another output")
            }
        }
        return BatchFile(path: path, items: items)
    }

    /// Identifies a job: its settings, and the content of the files it reads (input and guide: size,
    /// modification time and digests of their first and last MiB), so a changed input is rendered again.
    static func fingerprint(_ job: AnyRenderJob, cache: inout [String: String]) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = .sortedKeys
        var data = try e.encode(job)
        for p in [job.job.input, job.job.settings.guide].compactMap({ $0 }) where !StartImage.isSynthetic(p) {
            // Many jobs of a batch read the same few files: each is read once per load.
            let f = cache[p] ?? fileFingerprint(p) ?? "unreadable"
            cache[p] = f
            data.append(Data(f.utf8))
        }
        return String(SHA256.hex(of: data).prefix(32))
    }
}

/// Estimates a job's work from its settings and the sizes of its inputs, reading each input once.
struct WorkEstimator {
    private var pictures: [String: FrameSize?] = [:]
    private var videos: [String: (size: (width: Int, height: Int), seconds: Double?, fps: Double)?] = [:]

    mutating func work(_ job: AnyRenderJob) -> Double {
        let s = job.job.settings
        // Steps times the octaves' areas relative to the frame (1 + 1/scale² + 1/scale⁴ …: a second octave at 1.4 costs
        // half the first), per output frame.
        let scale = max(1.01, s.octaveScale.first)
        let areas = (0..<Int(min(12, max(1, s.octaves.first)))).reduce(0.0) { sum, k in sum + pow(scale, -2 * Double(k)) }
        let steps = max(1, s.iterations.first) * areas / max(1, s.cadence.first)
        switch job {
        case .image(let j):
            let size = picture(j.input) ?? s.size ?? FrameSize(width: 512, height: 512)
            let scale = s.maxSide.map { min(1, Double($0) / Double(max(size.width, size.height))) } ?? 1
            return Double(size.width * size.height) * scale * scale * steps
        case .zoom(let j):
            let size = s.size ?? picture(j.input).flatMap { try? StartImage.fit($0, maxSide: s.maxSide ?? SettingsTable.defaultVideoSide, even: true, what: j.input) }
                ?? FrameSize(width: 1280, height: 720)
            let turn = s.gridTurn > 0 ? 1.5 : 1  // the turned picture in bands of a larger canvas (≈ 1.46× at 720p, 1.54× for small squares)
            return Double(s.frameCount) * Double(size.width * size.height) * steps * turn
        case .redream(let j):
            if videos[j.input] == nil {
                videos[j.input] = (try? VideoReader(path: j.input)).map { r in
                    (r.size, r.duration, r.frameRate.num > 0 ? Double(r.frameRate.num) / Double(r.frameRate.den) : 30)
                } ?? nil
            }
            guard let v = videos[j.input] ?? nil, let size = try? j.workSize(source: v.size) else { return 1 }
            let seconds = s.duration ?? max(0, (v.seconds ?? 1) - s.start)
            return max(1, seconds * v.fps) * Double(size.width * size.height) * steps
        }
    }

    private mutating func picture(_ path: String) -> FrameSize? {
        if StartImage.isSynthetic(path) { return nil }
        if let p = pictures[path] { return p }
        let p = (try? StartImage.size(of: path)) ?? nil
        pictures[path] = p
        return p
    }
}

extension BatchFile {
    /// The jobs of `shard`: every job goes to the shard with the least estimated work so far, the costliest
    /// jobs first (the longest-processing-time rule: within 4/3 of the best split), ties to the lower shard.
    /// Every shard computes the same split from the same batch file, so shards on different machines agree.
    public func share(of shard: Shard) -> [Item] {
        let costs = items.map { max(1, $0.estimatedWork) }
        let order = items.indices.sorted { costs[$0] != costs[$1] ? costs[$0] > costs[$1] : $0 < $1 }
        var load = [Double](repeating: 0, count: shard.count)
        var owner = [Int](repeating: 0, count: items.count)
        for i in order {
            let s = load.indices.min { load[$0] != load[$1] ? load[$0] < load[$1] : $0 < $1 }!
            owner[i] = s
            load[s] += costs[i]
        }
        return items.indices.filter { owner[$0] == shard.index }.map { items[$0] }
    }
}

/// Ways a file is identified: its canonical path (links followed) and, when it exists, its device and inode.
enum FileIdentity: Hashable {
    case path(String)
    case inode(dev: UInt64, ino: UInt64)

    static func of(_ p: String) -> [FileIdentity] {
        var ids: [FileIdentity] = [.path(URL(fileURLWithPath: p).standardizedFileURL.resolvingSymlinksInPath().path)]
        var st = stat()
        if stat(p, &st) == 0 { ids.append(.inode(dev: UInt64(st.st_dev), ino: UInt64(st.st_ino))) }
        return ids
    }
}
