import CFFmpeg
import Foundation

/// Still images in and out through FFmpeg's codecs.
public enum ImageIO {
    /// Reads the first frame of an image (PNG, JPEG, WebP, BMP, …) or video as upright RGB.
    public static func read(_ path: String) throws(MediaError) -> RGBImage {
        let reader = try VideoReader(path: path)
        guard let f = try reader.nextFrame() else { throw .decodeFailed(path: path, reason: "no picture could be decoded") }
        return f.image
    }

    /// Encodes `image` as PNG or JPEG (chosen by the extension) and writes it atomically:
    /// a temporary file in the same folder, renamed into place only when complete.
    public static func write(_ image: RGBImage, to path: String, jpegQuality: Int = 92) throws(MediaError) {
        let ext = (path as NSString).pathExtension.lowercased()
        let data: [UInt8]
        switch ext {
        case "png": data = try encode(image, codecID: AV_CODEC_ID_PNG, format: AV_PIX_FMT_RGB24, path: path, quality: nil)
        case "jpg", "jpeg":
            data = try encode(image, codecID: AV_CODEC_ID_MJPEG, format: AV_PIX_FMT_YUVJ444P, path: path,
                              quality: Swift.max(2, Swift.min(31, 2 + (100 - jpegQuality) * 29 / 100)))
        default:
            throw .unsupported(path: path, reason: "unsupported image extension '.\(ext)' (use .png or .jpg)")
        }
        try AtomicFile.write(Data(data), to: path)
    }

    static func encode(_ image: RGBImage, codecID: AVCodecID, format: AVPixelFormat, path: String, quality: Int?) throws(MediaError) -> [UInt8] {
        guard let enc = avcodec_find_encoder(codecID) else { throw .unsupported(path: path, reason: "this FFmpeg build has no encoder for it") }
        let codec = try CodecContext(codec: enc, path: path)
        let c = codec.ctx
        c.pointee.width = Int32(image.width); c.pointee.height = Int32(image.height)
        c.pointee.pix_fmt = format
        c.pointee.time_base = dv_rational(1, 25)
        c.pointee.thread_count = 1
        if let q = quality {
            c.pointee.flags |= AV_CODEC_FLAG_QSCALE
            c.pointee.global_quality = Int32(q) * FF_QP2LAMBDA
        }
        try check(avcodec_open2(c, enc, nil)) { .encodeFailed(path: path, reason: $0) }
        let frame = Frame()
        frame.ptr.pointee.width = c.pointee.width; frame.ptr.pointee.height = c.pointee.height
        frame.ptr.pointee.format = format.rawValue
        try check(av_frame_get_buffer(frame.ptr, 0)) { .encodeFailed(path: path, reason: $0) }
        if let q = quality { frame.ptr.pointee.quality = Int32(q) * FF_QP2LAMBDA }
        let scaler = try Scaler(srcW: c.pointee.width, srcH: c.pointee.height, src: AV_PIX_FMT_RGB24,
                                dstW: c.pointee.width, dstH: c.pointee.height, dst: format, path: path)
        scaler.fromRGB(image, into: frame.ptr)
        frame.ptr.pointee.pts = 0
        try check(avcodec_send_frame(c, frame.ptr)) { .encodeFailed(path: path, reason: $0) }
        try check(avcodec_send_frame(c, nil)) { .encodeFailed(path: path, reason: $0) }
        let pkt = Packet()
        var out: [UInt8] = []
        while true {
            let r = avcodec_receive_packet(c, pkt.ptr)
            if r == dv_averror_eof() || r == dv_averror_eagain() { break }
            try check(r) { .encodeFailed(path: path, reason: $0) }
            out.append(contentsOf: UnsafeBufferPointer(start: pkt.ptr.pointee.data, count: Int(pkt.ptr.pointee.size)))
            av_packet_unref(pkt.ptr)
        }
        guard !out.isEmpty else { throw .encodeFailed(path: path, reason: "the encoder produced no data") }
        return out
    }
}

