/// A packed 8-bit RGB image (row-major, 3 bytes per pixel, no padding).
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3, "RGBImage: \(pixels.count) bytes for \(width)×\(height)")
        self.width = width; self.height = height; self.pixels = pixels
    }

    public init(width: Int, height: Int, fill: (UInt8, UInt8, UInt8) = (0, 0, 0)) {
        self.width = width; self.height = height
        var p = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) { p[3 * i] = fill.0; p[3 * i + 1] = fill.1; p[3 * i + 2] = fill.2 }
        pixels = p
    }

    /// Rotated clockwise by a multiple of 90°.
    public func rotated(clockwiseQuarterTurns q: Int) -> RGBImage {
        let q = ((q % 4) + 4) % 4
        if q == 0 { return self }
        let (nw, nh) = q == 2 ? (width, height) : (height, width)
        var out = [UInt8](repeating: 0, count: pixels.count)
        for y in 0..<height {
            for x in 0..<width {
                let (nx, ny): (Int, Int)
                switch q {
                case 1: (nx, ny) = (height - 1 - y, x)
                case 2: (nx, ny) = (width - 1 - x, height - 1 - y)
                default: (nx, ny) = (y, width - 1 - x)
                }
                let s = (y * width + x) * 3, d = (ny * nw + nx) * 3
                out[d] = pixels[s]; out[d + 1] = pixels[s + 1]; out[d + 2] = pixels[s + 2]
            }
        }
        return RGBImage(width: nw, height: nh, pixels: out)
    }
}

extension RGBImage {
    /// (1 − w)·self + w·other, pixel by pixel (the same size), rounded: a cross-fade step.
    public func mixed(with other: RGBImage, weight w: Double) -> RGBImage {
        precondition(other.width == width && other.height == height, "RGBImage.mixed: sizes differ")
        return RGBImage(width: width, height: height, pixels: zip(pixels, other.pixels).map { UInt8(((1 - w) * Double($0) + w * Double($1)).rounded()) })
    }
}
