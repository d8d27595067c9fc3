import DreamVideo
import Foundation
import Testing

@Suite("Memory guard")
struct MemoryGuardTests {
    /// Peak resident memory measured with /usr/bin/time -f %M for one dream step (README, Reliability):
    /// the estimate must cover it without asking for far more.
    @Test(arguments: [
        ("efficientnet-lite0", "blocks.10", 256, 256, 159_392),
        ("efficientnet-lite0", "blocks.10", 1024, 1024, 827_476),
        ("efficientnet-lite0", "blocks.10", 3840, 2160, 1_046_036),
        ("vgg16-hed", "block4_conv3", 512, 512, 1_120_244),
        ("vgg16-hed", "block4_conv3", 2048, 2048, 1_393_880),
    ])
    func estimateCoversMeasuredPeaks(_ c: (model: String, layer: String, w: Int, h: Int, measuredKiB: Int)) throws {
        let e = try MemoryGuard.estimate(model: c.model, layers: [c.layer], width: c.w, height: c.h, tile: 0)
        let measured = c.measuredKiB * 1024
        print("memory estimate \(c.model) \(c.w)×\(c.h): \(e >> 20) MiB, measured \(measured >> 20) MiB")
        #expect(e >= measured && e <= measured * 2, "estimate \(e >> 20) MiB for a measured \(measured >> 20) MiB")
    }
}
