import CFFmpeg
import Foundation

/// An output file being muxed (MP4): owns the `AVFormatContext` and its I/O, writes under a temporary
/// name beside the destination, and renames into place only in `finish()`.
///
/// One clean-up path: whatever fails, and whenever the object is dropped without `finish()`, `deinit`
/// closes the file, frees the context and removes the temporary file. Callers never free by hand.
///
/// A fragmented output (a render's segment in its work folder) is written in place instead, as a fragmented MP4
/// whose fragments end where the caller says (`flushFragment`): the file read up to any fragment's end is a
/// complete, playable video, and dropping the object leaves the fragments written so far.
final class FormatOutput {
    let path: String
    let tmpPath: String
    let fragmented: Bool
    private(set) var ctx: UnsafeMutablePointer<AVFormatContext>?
    private var committed = false

    init(path: String, format: String = "mp4", fragmented: Bool = false) throws(MediaError) {
        try AtomicFile.checkWritableFolder(for: path)
        self.path = path
        self.fragmented = fragmented
        tmpPath = fragmented ? path : AtomicFile.temporaryPath(for: path)
        var oc: UnsafeMutablePointer<AVFormatContext>? = nil
        try check(avformat_alloc_output_context2(&oc, nil, format, tmpPath)) { .writeFailed(path: path, reason: $0) }
        ctx = oc
    }

    deinit { discard() }

    var needsGlobalHeader: Bool { (ctx?.pointee.oformat.pointee.flags ?? 0) & AVFMT_GLOBALHEADER != 0 }

    /// Whether the container holds streams of `codec` as a standard player expects, without re-encoding.
    /// (FFmpeg 5.1 says yes to FLAC in MP4 but then refuses it as experimental; Vorbis in MP4 is
    /// non-standard and most players cannot play it.)
    func accepts(_ codec: AVCodecID) -> Bool {
        guard let f = ctx?.pointee.oformat else { return false }
        if codec == AV_CODEC_ID_FLAC || codec == AV_CODEC_ID_VORBIS { return false }
        return avformat_query_codec(f, codec, FF_COMPLIANCE_NORMAL) == 1
    }

    /// Adds a stream; its parameters are filled in by the caller before `start`.
    func addStream() throws(MediaError) -> UnsafeMutablePointer<AVStream> {
        guard let st = avformat_new_stream(ctx, nil) else { throw .writeFailed(path: path, reason: "cannot add a stream") }
        return st
    }

    /// Opens the temporary file and writes the header (`+faststart`: the index goes first at the end).
    func start() throws(MediaError) {
        guard let oc = ctx else { throw .invalidArgument("\(path): output already closed") }
        try check(avio_open(&oc.pointee.pb, tmpPath, AVIO_FLAG_WRITE)) { .writeFailed(path: path, reason: $0) }
        var opts: OpaquePointer? = nil
        // Fragmented: the (empty) index first, then a fragment each time the caller flushes.
        av_dict_set(&opts, "movflags", fragmented ? "+frag_custom+empty_moov+default_base_moof" : "+faststart", 0)
        let r = avformat_write_header(oc, &opts)
        av_dict_free(&opts)
        try check(r) { .writeFailed(path: path, reason: $0) }
    }

    /// Writes one packet (timestamps already in the stream's time base), interleaving streams by time.
    func write(_ packet: UnsafeMutablePointer<AVPacket>) throws(MediaError) {
        let r = av_interleaved_write_frame(ctx, packet)
        try check(r) { .writeFailed(path: path, reason: FormatOutput.explain($0)) }
        try checkIOError()
    }

    /// Fragmented output: writes every packet received so far as one fragment and hands it to the system;
    /// returns the file's length, which ends at that fragment.
    func flushFragment() throws(MediaError) -> Int64 {
        guard let oc = ctx, fragmented else { throw .invalidArgument("\(path): not a fragmented output") }
        try check(av_interleaved_write_frame(oc, nil)) { .writeFailed(path: path, reason: FormatOutput.explain($0)) }
        try check(av_write_frame(oc, nil)) { .writeFailed(path: path, reason: FormatOutput.explain($0)) }
        avio_flush(oc.pointee.pb)
        try checkIOError()
        return avio_tell(oc.pointee.pb)
    }

    private func checkIOError() throws(MediaError) {
        if let pb = ctx?.pointee.pb, pb.pointee.error < 0 {
            throw .writeFailed(path: path, reason: FormatOutput.explain(errorString(pb.pointee.error)))
        }
    }

    /// Writes the trailer, closes the file and renames it into place.
    func finish() throws(MediaError) {
        guard let oc = ctx else { throw .invalidArgument("\(path): output already closed") }
        try check(av_write_trailer(oc)) { .writeFailed(path: path, reason: FormatOutput.explain($0)) }
        try checkIOError()
        try check(avio_closep(&oc.pointee.pb)) { .writeFailed(path: path, reason: FormatOutput.explain($0)) }
        avformat_free_context(oc)
        ctx = nil
        if !fragmented { try AtomicFile.commit(tmpPath, to: path) }
        committed = true
    }

    /// Closes and frees everything and removes the temporary file (idempotent).
    func discard() {
        if let oc = ctx {
            if oc.pointee.pb != nil { avio_closep(&oc.pointee.pb) }
            avformat_free_context(oc)
            ctx = nil
        }
        if !committed && !fragmented { unlink(tmpPath) }
    }

    /// Adds the likely cause to write errors that users meet on a full disk or under a file-size limit.
    static func explain(_ s: String) -> String {
        let l = s.lowercased()
        return l.contains("no space") || l.contains("too large") ? "\(s) — the disk is full or the file size limit was reached" : s
    }
}
