import Foundation
import MediaIO

/// The folder `OUT.mp4.dreamvideo/` beside an output while its render is unfinished: segments,
/// checkpoints and state images. It carries a marker (`owner.json`) so dreamvideo only ever touches a
/// folder it made, and only the files in it whose names it uses; it is locked (flock) by the render
/// that owns it, so two renders can never write the same output.
final class WorkFolder {
    struct Owner: Codable, Equatable {
        var tool = "dreamvideo"
        var output: String
        /// Whether this render (or one it resumed) wrote `OUT.partial.mp4`, so it may replace or remove it.
        var wrotePartial = false
    }

    let path: String
    let output: String
    private var lockFD: Int32 = -1
    private(set) var owner: Owner

    static let markerName = "owner.json"
    /// The checkpoint files, newest first: a resume takes the first that reads and checks.
    static let checkpointNames = ["checkpoint.json", "checkpoint-prev.json"]

    /// Names of the files dreamvideo writes in a work folder (and so may delete).
    static func isOurs(_ name: String) -> Bool {
        if name == markerName || checkpointNames.contains(name) { return true }
        if name.hasPrefix("segment-") && name.hasSuffix(".mp4") { return true }
        if name.hasPrefix("state-") && name.hasSuffix(".png") { return true }
        if name.hasPrefix("pending-") && name.hasSuffix(".rgb") { return true }
        // Temporary files of atomic writes: ".NAME.PID.part".
        if name.hasPrefix(".") && name.hasSuffix(".part") { return isOurs(String(name.dropFirst().split(separator: ".").dropLast(2).joined(separator: "."))) }
        return false
    }

    /// Whether `path` is a work folder made by dreamvideo (a folder with a readable marker).
    static func isWorkFolder(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue,
              let data = FileManager.default.contents(atPath: path + "/" + markerName),
              let o = try? JSONDecoder().decode(Owner.self, from: data) else { return false }
        return o.tool == "dreamvideo"
    }

    /// Whether a render holds the work folder at `path` right now (its lock is taken).
    static func isLocked(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 { flock(fd, LOCK_UN); return false }
        return errno == EWOULDBLOCK
    }

    static func readOwner(_ path: String) -> Owner? {
        FileManager.default.contents(atPath: path + "/" + markerName).flatMap { try? JSONDecoder().decode(Owner.self, from: $0) }
    }

    /// Where the work folder of `output` is.
    static func path(for output: String) -> String { output + ".dreamvideo" }

    /// Opens (creating if needed) and locks the work folder of `output`.
    init(output: String) throws {
        self.output = output
        path = WorkFolder.path(for: output)
        owner = Owner(output: URL(fileURLWithPath: output).standardizedFileURL.path)
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw WorkFolder.notOurs(path) }
        } else if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw DreamVideoError.invalidArgument("\(path): cannot create the work folder (\(AtomicFile.describeErrno(errno)))")
        }
        // Lock, then make sure the folder we locked is still the one at `path` (another render may have
        // finished and removed it between our open and our lock).
        for _ in 0..<3 {
            let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard fd >= 0 else {
                if errno == ENOENT, mkdir(path, 0o755) == 0 || errno == EEXIST { continue }
                throw DreamVideoError.invalidArgument("\(path): cannot open the work folder (\(AtomicFile.describeErrno(errno)))")
            }
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                close(fd)
                throw WorkFolder.busy(output: output, path: path)
            }
            var a = stat(), b = stat()
            if fstat(fd, &a) == 0, stat(path, &b) == 0, a.st_ino == b.st_ino, a.st_dev == b.st_dev {
                lockFD = fd
                break
            }
            close(fd)
            if mkdir(path, 0o755) != 0 && errno != EEXIST { break }
        }
        guard lockFD >= 0 else { throw DreamVideoError.invalidArgument("\(path): the work folder keeps changing; is another render starting?") }
        // Ours, or empty (just made): anything else belongs to someone else and is left alone.
        let contents = (try? fm.contentsOfDirectory(atPath: path)) ?? []
        guard WorkFolder.isWorkFolder(path) || contents.isEmpty else { unlock(); throw WorkFolder.notOurs(path) }
        if let o = WorkFolder.readOwner(path) { owner = o; owner.output = URL(fileURLWithPath: output).standardizedFileURL.path }
        try saveOwner()
    }

    deinit { unlock() }

    static func busy(output: String, path: String) -> DreamVideoError {
        .busy("\(output): another dreamvideo render is writing it right now (its work folder \(path) is locked); wait for it to finish or stop it first")
    }

    static func notOurs(_ path: String) -> DreamVideoError {
        .invalidArgument("\(path): exists but was not made by dreamvideo; move it away (dreamvideo keeps unfinished renders there)")
    }

    func unlock() {
        if lockFD >= 0 { flock(lockFD, LOCK_UN); close(lockFD); lockFD = -1 }
    }

    func saveOwner() throws {
        try AtomicFile.write(try JSONEncoder().encode(owner), to: file(WorkFolder.markerName))
    }

    func markPartialWritten() throws {
        guard !owner.wrotePartial else { return }
        owner.wrotePartial = true
        try saveOwner()
    }

    func file(_ name: String) -> String { path + "/" + name }

    /// Our files in the folder.
    func ourFiles() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { WorkFolder.isOurs($0) && $0 != WorkFolder.markerName }
    }

    /// Deletes our files except `keep` (and the marker).
    func removeOurFiles(except keep: Set<String> = []) {
        for f in ourFiles() where !keep.contains(f) { unlink(file(f)) }
    }

    /// Removes every file of ours and the folder itself (if nothing else is left in it), then unlocks.
    /// Returns false when files that are not ours kept the folder.
    @discardableResult
    func removeAll() -> Bool {
        removeOurFiles()
        unlink(file(WorkFolder.markerName))
        let gone = rmdir(path) == 0
        unlock()
        AtomicFile.syncFolder(of: path)
        return gone
    }
}
