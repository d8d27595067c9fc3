import CFFmpeg
import Foundation

/// SHA-256 digests (libavutil's implementation), for checkpoints, segments and model weights.
public final class SHA256 {
    private let ctx: OpaquePointer
    private var done = false
    private var final: [UInt8] = []

    public init() {
        ctx = av_sha_alloc()
        av_sha_init(ctx, 256)
    }

    deinit { av_free(UnsafeMutableRawPointer(ctx)) }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard !done, let base = bytes.baseAddress, bytes.count > 0 else { return }
        av_sha_update(ctx, base.assumingMemoryBound(to: UInt8.self), bytes.count)
    }

    public func update(_ data: Data) { data.withUnsafeBytes { update($0) } }

    /// The digest of what was hashed so far, leaving this hash open for more (the digest of a growing file's
    /// prefix).
    public func hexSoFar() -> String {
        guard !done else { return hex() }
        let copy = SHA256()
        memcpy(UnsafeMutableRawPointer(copy.ctx), UnsafeRawPointer(ctx), Int(av_sha_size))
        return copy.hex()
    }

    /// The digest as 64 lowercase hex digits; further updates are ignored.
    public func hex() -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        if !done { av_sha_final(ctx, &digest); done = true; final = digest } else { digest = final }
        return digest.map { String(format: "%02x", $0) }.joined()
    }

    public static func hex(of data: Data) -> String {
        let h = SHA256()
        h.update(data)
        return h.hex()
    }

    /// Digest of a file, read in 4 MiB pieces.
    public static func hex(ofFile path: String) throws(MediaError) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw .cannotOpen(path: path, reason: "cannot read it") }
        defer { try? handle.close() }
        let h = SHA256()
        while true {
            let chunk: Data
            do { chunk = try handle.read(upToCount: 4 << 20) ?? Data() } catch {
                throw .cannotOpen(path: path, reason: "read failed (\((error as NSError).localizedDescription))")
            }
            if chunk.isEmpty { break }
            h.update(chunk)
        }
        return h.hex()
    }
}
