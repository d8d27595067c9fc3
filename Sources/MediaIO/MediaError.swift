import CFFmpeg

/// A media failure, always naming the file and the problem in one line.
public enum MediaError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String, reason: String)
    case notMedia(path: String, reason: String)
    case noVideoStream(path: String)
    case decodeFailed(path: String, reason: String)
    case encodeFailed(path: String, reason: String)
    case writeFailed(path: String, reason: String)
    case unsupported(path: String, reason: String)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .cannotOpen(let p, let r): return "\(p): cannot open (\(r))"
        case .notMedia(let p, let r): return "\(p): not an image or video this build can read (\(r))"
        case .noVideoStream(let p): return "\(p): contains no image or video stream"
        case .decodeFailed(let p, let r): return "\(p): decoding failed (\(r))"
        case .encodeFailed(let p, let r): return "\(p): encoding failed (\(r))"
        case .writeFailed(let p, let r): return "\(p): cannot write (\(r))"
        case .unsupported(let p, let r): return "\(p): \(r)"
        case .invalidArgument(let s): return s
        }
    }
}

/// FFmpeg's message for an error code.
func errorString(_ code: Int32) -> String {
    var buf = [CChar](repeating: 0, count: 128)
    return buf.withUnsafeMutableBufferPointer { b in
        String(cString: dv_err2str(code, b.baseAddress, b.count))
    }
}

/// The one place FFmpeg return codes become errors: negative codes throw `make(message)`.
@discardableResult
func check(_ code: Int32, _ make: (String) -> MediaError) throws(MediaError) -> Int32 {
    if code < 0 { throw make(errorString(code)) }
    return code
}

/// Library-wide FFmpeg settings.
public enum Media {
    /// Silences FFmpeg's own logging (we report errors ourselves); `verbose` shows its warnings.
    public static func configureLogging(verbose: Bool = false) {
        av_log_set_level(verbose ? AV_LOG_WARNING : AV_LOG_QUIET)
    }

    /// Whether the linked libavcodec has the libx264 encoder.
    public static var hasH264Encoder: Bool { avcodec_find_encoder_by_name("libx264") != nil }
    /// Whether libx265 is there and encodes 10-bit 4:2:0 (an x265 built for 8 bits only does not).
    public static var hasHEVCEncoder: Bool {
        guard let enc = avcodec_find_encoder_by_name("libx265"), var f = enc.pointee.pix_fmts else { return false }
        while f.pointee != AV_PIX_FMT_NONE {
            if f.pointee == AV_PIX_FMT_YUV420P10LE { return true }
            f += 1
        }
        return false
    }
}
