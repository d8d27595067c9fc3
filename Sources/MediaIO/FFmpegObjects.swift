import CFFmpeg
import Foundation

// One owning class per FFmpeg struct, freed in deinit. Raw pointers stay inside MediaIO.

final class FormatInput {
    var ctx: UnsafeMutablePointer<AVFormatContext>?
    let path: String
    init(path: String) throws(MediaError) {
        self.path = path
        // A pipe, a device or a socket could keep FFmpeg waiting for ever (or feed it without end): files only.
        var st = stat()
        if stat(path, &st) == 0 {
            let kind = st.st_mode & S_IFMT
            if kind == S_IFDIR { throw .cannotOpen(path: path, reason: "is a directory") }
            if kind != S_IFREG { throw .cannotOpen(path: path, reason: "is not a regular file") }
        }
        var c: UnsafeMutablePointer<AVFormatContext>? = nil
        let r = avformat_open_input(&c, path, nil, nil)
        if r < 0 {
            if r == dv_averror(ENOENT) { throw .cannotOpen(path: path, reason: "no such file") }
            if r == dv_averror(EACCES) { throw .cannotOpen(path: path, reason: "permission denied") }
            if r == dv_averror(EISDIR) { throw .cannotOpen(path: path, reason: "is a directory") }
            throw .notMedia(path: path, reason: errorString(r))
        }
        ctx = c
        try check(avformat_find_stream_info(c, nil)) { .notMedia(path: path, reason: $0) }
    }
    deinit { avformat_close_input(&ctx) }
}

final class CodecContext {
    let ctx: UnsafeMutablePointer<AVCodecContext>
    init(codec: UnsafePointer<AVCodec>, path: String) throws(MediaError) {
        guard let c = avcodec_alloc_context3(codec) else { throw .invalidArgument("\(path): out of memory allocating a codec") }
        ctx = c
    }
    deinit { var c: UnsafeMutablePointer<AVCodecContext>? = ctx; avcodec_free_context(&c) }
}

final class Frame {
    let ptr: UnsafeMutablePointer<AVFrame>
    init() { ptr = av_frame_alloc() }
    deinit { var p: UnsafeMutablePointer<AVFrame>? = ptr; av_frame_free(&p) }
}

final class Packet {
    let ptr: UnsafeMutablePointer<AVPacket>
    init() { ptr = av_packet_alloc() }
    deinit { var p: UnsafeMutablePointer<AVPacket>? = ptr; av_packet_free(&p) }
}

/// Pixel-format conversion and scaling (libswscale).
final class Scaler {
    let ctx: OpaquePointer
    let srcW: Int32, srcH: Int32, dstW: Int32, dstH: Int32
    let src: AVPixelFormat, dst: AVPixelFormat
    /// The YUV matrix of the YUV side (SWS_CS_ITU709, SWS_CS_ITU601…) and whether that side is full range.
    /// Nil: swscale's own choice (BT.601; full range for the JPEG formats).
    let matrix: Int32?, fullRange: Bool

    init(srcW: Int32, srcH: Int32, src: AVPixelFormat, dstW: Int32, dstH: Int32, dst: AVPixelFormat, path: String,
         matrix: Int32? = nil, fullRange: Bool = false) throws(MediaError) {
        guard let c = sws_getContext(srcW, srcH, src, dstW, dstH, dst,
                                     Int32(SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT | SWS_FULL_CHR_H_INP), nil, nil, nil) else {
            throw .unsupported(path: path, reason: "cannot convert pixel format \(src.rawValue) to \(dst.rawValue)")
        }
        ctx = c; self.srcW = srcW; self.srcH = srcH; self.dstW = dstW; self.dstH = dstH; self.src = src; self.dst = dst
        self.matrix = matrix; self.fullRange = fullRange
        // The matrix the video is tagged with (swscale assumes BT.601 otherwise). RGB sides are full range.
        let isRGB = { (f: AVPixelFormat) in (av_pix_fmt_desc_get(f)?.pointee.flags ?? 0) & UInt64(AV_PIX_FMT_FLAG_RGB) != 0 }
        let jpegFormats = [AV_PIX_FMT_YUVJ420P, AV_PIX_FMT_YUVJ422P, AV_PIX_FMT_YUVJ444P, AV_PIX_FMT_YUVJ440P, AV_PIX_FMT_YUVJ411P]
        if let matrix, isRGB(src) != isRGB(dst), let table = sws_getCoefficients(matrix) {
            let yuvRange: Int32 = fullRange || jpegFormats.contains(isRGB(src) ? dst : src) ? 1 : 0
            _ = sws_setColorspaceDetails(c, table, isRGB(src) ? 1 : yuvRange, table, isRGB(dst) ? 1 : yuvRange, 0, 1 << 16, 1 << 16)
        }
    }

    /// The swscale matrix for a stream's colour space tag (untagged: BT.601, as players assume for SD).
    static func matrix(for space: AVColorSpace) -> Int32 {
        switch space {
        case AVCOL_SPC_BT709: return SWS_CS_ITU709
        case AVCOL_SPC_BT2020_NCL, AVCOL_SPC_BT2020_CL: return SWS_CS_BT2020
        case AVCOL_SPC_SMPTE240M: return SWS_CS_SMPTE240M
        case AVCOL_SPC_FCC: return SWS_CS_FCC
        default: return SWS_CS_DEFAULT
        }
    }
    deinit { sws_freeContext(ctx) }

    /// Converts a decoded frame into packed RGB24 (the scaler's destination format).
    func toRGB(_ frame: UnsafeMutablePointer<AVFrame>) -> RGBImage {
        RGBImage(width: Int(dstW), height: Int(dstH), pixels: convert(frame, bytesPerPixel: 3))
    }

    /// Converts a frame with alpha (the scaler's destination is RGBA) and composites it over white.
    func toRGBOverWhite(_ frame: UnsafeMutablePointer<AVFrame>) -> RGBImage {
        let rgba = convert(frame, bytesPerPixel: 4)
        let n = Int(dstW) * Int(dstH)
        var out = [UInt8](repeating: 0, count: n * 3)
        for i in 0..<n {
            let a = UInt32(rgba[4 * i + 3])
            for c in 0..<3 {
                // out = a·src + (1 − a)·255, rounded
                out[3 * i + c] = UInt8((UInt32(rgba[4 * i + c]) * a + 255 * (255 - a) + 127) / 255)
            }
        }
        return RGBImage(width: Int(dstW), height: Int(dstH), pixels: out)
    }

    private func convert(_ frame: UnsafeMutablePointer<AVFrame>, bytesPerPixel: Int32) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(dstW) * Int(dstH) * Int(bytesPerPixel))
        out.withUnsafeMutableBufferPointer { o in
            var dst: [UnsafeMutablePointer<UInt8>?] = [o.baseAddress, nil, nil, nil]
            var stride: [Int32] = [dstW * bytesPerPixel, 0, 0, 0]
            withUnsafePointer(to: &frame.pointee.data) { dp in
                dp.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: 8) { srcData in
                    withUnsafePointer(to: &frame.pointee.linesize) { lp in
                        lp.withMemoryRebound(to: Int32.self, capacity: 8) { srcStride in
                            _ = sws_scale(ctx, srcData, srcStride, 0, srcH, &dst, &stride)
                        }
                    }
                }
            }
        }
        return out
    }

    /// Converts packed RGB24 into an allocated frame of the destination format.
    func fromRGB(_ image: RGBImage, into frame: UnsafeMutablePointer<AVFrame>) {
        image.pixels.withUnsafeBufferPointer { p in
            var src: [UnsafePointer<UInt8>?] = [p.baseAddress, nil, nil, nil]
            var stride: [Int32] = [Int32(image.width * 3), 0, 0, 0]
            withUnsafeMutablePointer(to: &frame.pointee.data) { dp in
                dp.withMemoryRebound(to: UnsafeMutablePointer<UInt8>?.self, capacity: 8) { dstData in
                    withUnsafeMutablePointer(to: &frame.pointee.linesize) { lp in
                        lp.withMemoryRebound(to: Int32.self, capacity: 8) { dstStride in
                            _ = sws_scale(ctx, &src, &stride, 0, srcH, dstData, dstStride)
                        }
                    }
                }
            }
        }
    }
}
