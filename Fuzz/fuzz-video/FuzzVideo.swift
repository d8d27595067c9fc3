import Foundation
import FuzzSupport
import MediaIO

/// VideoReader(path:) and up to 30 frames, on the input written to a temp file (no extension: FFmpeg probes
/// the content). Run it without a network (unshare -n): FFmpeg demuxers such as HLS, SDP or RTSP
/// open URLs named inside a file.
@main enum FuzzVideo {
    static func main() {
        Fuzz.main { bytes in
            let path = Fuzz.writeTempFile(bytes)
            guard let reader = try? VideoReader(path: path) else { return }
            _ = reader.size; _ = reader.nominalFrameTicks
            for _ in 0..<30 {
                guard let f = try? reader.nextVideoFrame() else { break }
                precondition(f.image.pixels.count == f.image.width * f.image.height * 3)
            }
        }
    }
}
