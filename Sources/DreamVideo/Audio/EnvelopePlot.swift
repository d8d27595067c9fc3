import Foundation
import MediaIO

extension AudioEnvelopes {
    /// A picture of the envelopes over the frames: one band per envelope (loudness, onset, beat, bass, mid,
    /// treble), each filled up to its value, with the tracked beats as thin lines and a time axis in seconds.
    public func plot(width: Int = 1200) -> RGBImage {
        let rows: [(String, [Double], (UInt8, UInt8, UInt8))] = [
            ("LOUDNESS", loudness, (230, 230, 230)), ("ONSET", onset, (255, 170, 60)), ("BEAT", beat, (255, 80, 120)),
            ("BASS", bass, (90, 160, 255)), ("MID", mid, (120, 220, 120)), ("TREBLE", treble, (210, 140, 255)),
        ]
        let w = max(200, min(4000, width)), band = 64, gap = 6, axis = 24, left = 112
        let h = rows.count * (band + gap) + axis
        var px = [UInt8](repeating: 18, count: w * h * 3)
        func set(_ x: Int, _ y: Int, _ c: (UInt8, UInt8, UInt8)) {
            guard x >= 0, x < w, y >= 0, y < h else { return }
            let i = (y * w + x) * 3
            px[i] = c.0; px[i + 1] = c.1; px[i + 2] = c.2
        }
        let plotW = w - left - 10
        let n = max(1, frameCount)
        func frameAt(_ x: Int) -> Int { min(n - 1, x * n / max(1, plotW)) }
        for (r, (name, values, colour)) in rows.enumerated() {
            let top = r * (band + gap)
            for y in top..<(top + band) { for x in left..<(left + plotW) { set(x, y, (34, 34, 40)) } }
            BitmapFont.draw(name, into: &px, width: w, height: h, x: 6, y: top + band / 2 - 7, scale: 2, color: colour)
            for x in 0..<plotW {
                // The highest value among the frames this column covers (short peaks stay visible).
                let a = frameAt(x), b = max(a, frameAt(x + 1) - 1)
                let v = values.isEmpty ? 0 : (a...b).map { values[$0] }.max() ?? 0
                let filled = Int((max(0, min(1, v)) * Double(band - 2)).rounded())
                for k in 0..<filled { set(left + x, top + band - 1 - k, colour) }
            }
        }
        // Beats: a thin line through every band.
        for t in beats {
            let x = left + Int(t * fps) * plotW / n
            for y in 0..<(rows.count * (band + gap) - gap) where y % 3 != 2 { set(x, y, (255, 80, 120)) }
        }
        // Time axis: a tick and a label every so many seconds.
        let seconds = Double(n) / fps
        let every = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600].first { seconds / $0 <= 12 } ?? 1200
        var t = 0.0
        let y0 = rows.count * (band + gap)
        while t <= seconds + 1e-9 {
            let x = left + Int((t * fps).rounded()) * plotW / n
            for y in y0..<(y0 + 5) { set(x, y, (200, 200, 200)) }
            let label = every < 1 ? String(format: "%.1fs", t) : "\(Int(t))s"
            let lw = BitmapFont.measure(label, scale: 2).width
            BitmapFont.draw(label, into: &px, width: w, height: h, x: min(x - 6, w - lw - 2), y: y0 + 8, scale: 2, color: (200, 200, 200))
            t += every
        }
        return RGBImage(width: w, height: h, pixels: px)
    }
}
