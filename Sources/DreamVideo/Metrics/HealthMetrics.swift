import DreamEngine
import Foundation
import MediaIO

/// Numbers for "is this long zoom still alive?", per frame and per window of frames:
/// - saturation: mean HSV saturation (0–1); colours drifting toward neon push it up;
/// - slope: the radially averaged power spectrum's log–log slope of the luminance (photos ≈ −2 to −3;
///   fine texture everywhere flattens it toward −1.5);
/// - clipped: the fraction of pixels with a channel at 0 or 255;
/// - change: mean |frame − previous frame| (0–255 levels);
/// - diversity: how different the 16 cells of a 4×4 grid are from each other (mean pairwise distance of
///   their mean colour, contrast and edge density): a single texture covering the frame scores low.
public struct FrameHealth: Sendable, Equatable {
    public var saturation = 0.0, slope = 0.0, clipped = 0.0, change = 0.0, diversity = 0.0
    /// `FFT.diagonalExcess`: structure along the pixel grid's diagonals over that along its rows and columns
    /// (healthy: under 1; a lattice of straight diagonal lines: 1.3 and more).
    public var lattice = 0.0
}

/// Averages over frames `first…last`.
public struct HealthWindow: Sendable {
    public var first: Int, last: Int
    public var mean: FrameHealth
    /// Mean distance of the frames' colours from a reference picture's (`ColorTransfer.paletteDistance`, levels),
    /// when a reference was given.
    public var palette: Double?
}

public enum HealthMetrics {
    /// Health numbers of one RGB 0–255 frame (`previous`: the frame before, for `change`).
    public static func frame(_ x: Tensor, previous: Tensor? = nil) -> FrameHealth {
        let s = x.shape, p = s.plane
        var h = FrameHealth()
        var sat = 0.0, clipped = 0
        for i in 0..<p {
            let r = x.data[i], g = x.data[p + i], b = x.data[2 * p + i]
            let mx = max(r, g, b), mn = min(r, g, b)
            sat += mx > 0 ? Double((mx - mn) / mx) : 0
            if mx >= 254.5 || mn <= 0.5 { clipped += 1 }
        }
        h.saturation = sat / Double(p)
        h.clipped = Double(clipped) / Double(p)
        if let previous, previous.shape == s {
            var d = 0.0
            for i in 0..<x.count { d += Double(abs(x.data[i] - previous.data[i])) }
            h.change = d / Double(x.count)
        }
        let y = ImageOps.luminance(x)
        // Spectrum of the largest centred square of a power-of-two side (at most 512), at full resolution.
        var n = 1
        while n * 2 <= min(s.h, s.w, 512) { n *= 2 }
        if n >= 32 {
            let y0 = (s.h - n) / 2, x0 = (s.w - n) / 2
            var plane = [Double](repeating: 0, count: n * n)
            for r in 0..<n { for c in 0..<n { plane[r * n + c] = Double(y.data[(y0 + r) * s.w + x0 + c]) } }
            let power = FFT.powerSpectrum(plane, size: n)
            h.slope = FFT.spectrumSlope(power: power, size: n)
            h.lattice = FFT.diagonalExcess(power: power, size: n)
        }
        h.diversity = diversity(x, luminance: y)
        return h
    }

    /// Mean pairwise distance between the descriptors of a 4×4 grid of cells (0: all cells alike).
    static func diversity(_ x: Tensor, luminance y: Tensor) -> Double {
        let s = x.shape, p = s.plane, grid = 4
        guard s.h >= 2 * grid, s.w >= 2 * grid else { return 0 }
        var cells: [[Double]] = []
        for gy in 0..<grid {
            for gx in 0..<grid {
                let ys = (s.h * gy / grid)..<(s.h * (gy + 1) / grid), xs = (s.w * gx / grid)..<(s.w * (gx + 1) / grid)
                var sum = 0.0, sq = 0.0, cb = 0.0, cr = 0.0, edge = 0.0, n = 0.0
                for r in ys {
                    for c in xs {
                        let i = r * s.w + c
                        let l = Double(y.data[i])
                        sum += l; sq += l * l
                        let R = Double(x.data[i]), G = Double(x.data[p + i]), B = Double(x.data[2 * p + i])
                        cb += -0.168736 * R - 0.331264 * G + 0.5 * B
                        cr += 0.5 * R - 0.418688 * G - 0.081312 * B
                        if c + 1 < s.w && r + 1 < s.h {
                            edge += abs(Double(y.data[i + 1]) - l) + abs(Double(y.data[i + s.w]) - l)
                        }
                        n += 1
                    }
                }
                let mean = sum / n, std = max(0, sq / n - mean * mean).squareRoot()
                cells.append([mean / 255, std / 128, cb / n / 128, cr / n / 128, min(1, edge / n / 32)])
            }
        }
        var total = 0.0, pairs = 0.0
        for a in 0..<cells.count {
            for b in (a + 1)..<cells.count {
                total += zip(cells[a], cells[b]).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
                pairs += 1
            }
        }
        return total / pairs
    }

    /// Health of every frame of a video, averaged over windows of `window` frames.
    /// `paletteOf`: a picture whose colours each frame is compared with (the zoom's seed).
    public static func measure(video path: String, window: Int = 100, paletteOf picture: String? = nil,
                               progress: (Int) -> Void = { _ in }) throws -> [HealthWindow] {
        let reference = try picture.map { Tensor(try ImageIO.read($0)) }
        guard window >= 1 else { throw DreamVideoError.invalidArgument("the window must be at least 1 frame") }
        let reader = try VideoReader(path: path)
        var windows: [HealthWindow] = []
        var acc = FrameHealth(), count = 0, index = 0, first = 0, palette = 0.0
        var previous: Tensor? = nil
        func flush() {
            guard count > 0 else { return }
            let n = Double(count)
            windows.append(HealthWindow(first: first, last: index - 1, mean: FrameHealth(
                saturation: acc.saturation / n, slope: acc.slope / n, clipped: acc.clipped / n,
                change: acc.change / Double(max(1, count - (first == 0 ? 1 : 0))), diversity: acc.diversity / n,
                lattice: acc.lattice / n),
                palette: reference == nil ? nil : palette / n))
            acc = FrameHealth(); count = 0; first = index; palette = 0
        }
        while let f = try reader.nextVideoFrame() {
            let t = Tensor(f.image)
            let h = frame(t, previous: previous)
            acc.saturation += h.saturation; acc.slope += h.slope; acc.clipped += h.clipped; acc.change += h.change; acc.diversity += h.diversity
            acc.lattice += h.lattice
            if let reference { palette += ColorTransfer.paletteDistance(t, reference) }
            count += 1; index += 1
            previous = t
            progress(index)
            if count == window { flush() }
        }
        flush()
        guard !windows.isEmpty else { throw DreamVideoError.invalidArgument("\(path): no frames") }
        return windows
    }
}
