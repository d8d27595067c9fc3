import DreamEngine
import MediaIO

/// Conversions between packed 8-bit RGB images and the engine's CHW float tensors (0–255).
public extension Tensor {
    init(_ image: RGBImage) {
        let w = image.width, h = image.height, plane = w * h
        var d = [Float](repeating: 0, count: 3 * plane)
        image.pixels.withUnsafeBufferPointer { p in
            d.withUnsafeMutableBufferPointer { o in
                for i in 0..<plane {
                    o[i] = Float(p[3 * i]); o[plane + i] = Float(p[3 * i + 1]); o[2 * plane + i] = Float(p[3 * i + 2])
                }
            }
        }
        self.init(shape: Shape(3, h, w), data: d)
    }

    /// Rounds to 8-bit RGB, clamping to 0…255.
    func rgbImage() -> RGBImage {
        precondition(shape.c == 3)
        let plane = shape.plane
        var out = [UInt8](repeating: 0, count: 3 * plane)
        data.withUnsafeBufferPointer { d in
            out.withUnsafeMutableBufferPointer { o in
                for i in 0..<plane {
                    for c in 0..<3 {
                        // NaN becomes 0; everything else is clamped before the conversion (which traps outside 0…255).
                        let v = d[c * plane + i]
                        o[3 * i + c] = v >= 0.5 ? (v < 254.5 ? UInt8(v.rounded()) : 255) : 0
                    }
                }
            }
        }
        return RGBImage(width: shape.w, height: shape.h, pixels: out)
    }
}

/// Writes a tensor image atomically as PNG or JPEG.
public func writeImage(_ t: Tensor, to path: String) throws {
    try ImageIO.write(t.rgbImage(), to: path)
}

/// Writes a contact sheet or any packed RGB picture atomically as PNG or JPEG.
public func writeSheet(_ image: RGBImage, to path: String) throws {
    try ImageIO.write(image, to: path)
}
