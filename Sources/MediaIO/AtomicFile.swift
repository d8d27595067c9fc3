import Foundation

/// Writing files so that a reader never sees a half-written one, and a finished one survives a crash.
public enum AtomicFile {
    /// A temporary path next to `path` (same folder, so the final rename is atomic).
    public static func temporaryPath(for path: String) -> String {
        let url = URL(fileURLWithPath: path)
        return url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).part").path
    }

    /// Checks that the folder of `path` exists and is writable, with a one-line reason if not.
    public static func checkWritableFolder(for path: String) throws(MediaError) {
        guard !path.isEmpty else { throw .writeFailed(path: "''", reason: "the path is empty") }
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) else {
            throw .writeFailed(path: path, reason: "folder \(dir) does not exist")
        }
        guard isDir.boolValue else { throw .writeFailed(path: path, reason: "\(dir) is not a folder") }
        guard access(dir, W_OK) == 0 else { throw .writeFailed(path: path, reason: "folder \(dir) is not writable") }
    }

    /// Writes `data` to a temporary file, flushes it to disk and renames it to `path`.
    public static func write(_ data: Data, to path: String) throws(MediaError) {
        try checkWritableFolder(for: path)
        let tmp = temporaryPath(for: path)
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .writeFailed(path: path, reason: describeErrno(errno)) }
        var failure: Int32 = 0
        data.withUnsafeBytes { (buf: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < buf.count {
                let n = Foundation.write(fd, buf.baseAddress! + offset, buf.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                offset += n
            }
        }
        if failure == 0 && fsync(fd) != 0 { failure = errno }
        if close(fd) != 0 && failure == 0 { failure = errno }
        if failure != 0 {
            unlink(tmp)
            throw .writeFailed(path: path, reason: describeErrno(failure))
        }
        try commit(tmp, to: path)
    }

    /// Flushes the finished temporary file, renames it into place and flushes the folder entry.
    public static func commit(_ tmp: String, to path: String) throws(MediaError) {
        let fd = open(tmp, O_RDONLY | O_CLOEXEC)
        if fd >= 0 { _ = fsync(fd); close(fd) }
        if rename(tmp, path) != 0 {
            let reason = describeErrno(errno)
            unlink(tmp)
            throw .writeFailed(path: path, reason: reason)
        }
        syncFolder(of: path)
    }

    /// Flushes a finished file's data to disk (before a checkpoint that names it is written).
    public static func sync(_ path: String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd >= 0 { _ = fsync(fd); close(fd) }
    }

    /// Flushes a folder's entries (a rename or unlink in it) to disk.
    public static func syncFolder(of path: String) {
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { _ = fsync(fd); close(fd) }
    }

    /// A system error as a short sentence, with the likely cause for a full disk or a size limit.
    public static func describeErrno(_ e: Int32) -> String {
        let s = String(cString: strerror(e))
        switch e {
        case ENOSPC, EDQUOT: return "\(s) — the disk is full"
        case EFBIG: return "\(s) — the file size limit was reached"
        default: return s
        }
    }
}
