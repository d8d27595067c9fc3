import DreamEngine
import Foundation
import MediaIO

/// How a re-dreamed video relates to its source over time (all per channel, 0–255 levels):
/// - strength Q = mean |D_t − S_t|: how much the dream changed the picture;
/// - flicker F = mean |D_t − D_{t−1}| ÷ mean |S_t − S_{t−1}|: frame-to-frame change relative to the source's;
/// - warp error W = mean over trusted pixels of |D_t − warp(D_{t−1})| ÷ the same for the source, with the
///   flow taken from the source: how well the dream follows the motion (1 would be as coherent as the footage).
public struct CoherenceReport: Sendable {
    public var frames = 0
    /// Frame pairs left out of F and W because the motion could not be trusted (scene cuts).
    public var cuts = 0
    public var strength = 0.0
    public var flicker = 0.0
    public var warpError = 0.0
    /// The source's own mean frame-to-frame change and warp residual (levels), for scale.
    public var sourceChange = 0.0
    public var sourceWarpResidual = 0.0
}

public enum CoherenceMetrics {
    /// Compares `dreamed` with `source` frame by frame (frame i with frame i, the source starting at `start`
    /// seconds and resized to the dreamed size), over the frames both have.
    public static func measure(source: String, dreamed: String, start: Double = 0, flow method: FlowMethod = .dis,
                               maxFrames: Int? = nil) throws -> CoherenceReport {
        let s = try VideoReader(path: source), d = try VideoReader(path: dreamed)
        if start > 0 { try s.seek(toSeconds: Double(s.startPTS) * Double(s.timeBase.num) / Double(s.timeBase.den) + start) }
        let flow = try FlowEstimator(method == .none ? .dis : method)
        var report = CoherenceReport()
        var q = 0.0, dD = 0.0, dS = 0.0, eD = 0.0, eS = 0.0
        var prevS: Tensor? = nil, prevD: Tensor? = nil
        while maxFrames.map({ report.frames < $0 }) ?? true, let fd = try d.nextVideoFrame(), let fs = try s.nextVideoFrame() {
            let D = Tensor(fd.image)
            var S = Tensor(fs.image)
            if S.shape != D.shape { S = StartImage.resize(S, width: D.shape.w, height: D.shape.h) }
            q += meanAbsDifference(D, S)
            report.frames += 1
            if let pS = prevS, let pD = prevD {
                let (b, f) = try flow.flows(previous: ImageOps.gray8(pS), current: ImageOps.gray8(S), width: S.shape.w, height: S.shape.h)
                let mask = ImageOps.consistencyMask(backward: b, forward: f)
                if mask.mean() < TrustedMotion.sceneCutThreshold {
                    report.cuts += 1
                } else {
                    dD += meanAbsDifference(D, pD)
                    dS += meanAbsDifference(S, pS)
                    eD += maskedMeanAbsDifference(D, ImageOps.warp(pD, along: b), mask: mask)
                    eS += maskedMeanAbsDifference(S, ImageOps.warp(pS, along: b), mask: mask)
                }
            }
            prevS = S; prevD = D
        }
        guard report.frames > 0 else { throw DreamVideoError.invalidArgument("\(dreamed): no frames to compare with \(source)") }
        let pairs = Double(max(1, report.frames - 1 - report.cuts))
        report.strength = q / Double(report.frames)
        report.flicker = dS > 0 ? dD / dS : 0
        report.warpError = eS > 0 ? eD / eS : 0
        report.sourceChange = dS / pairs
        report.sourceWarpResidual = eS / pairs
        return report
    }

    static func meanAbsDifference(_ a: Tensor, _ b: Tensor) -> Double {
        var s = 0.0
        a.data.withUnsafeBufferPointer { ap in b.data.withUnsafeBufferPointer { bp in for i in 0..<ap.count { s += Double(abs(ap[i] - bp[i])) } } }
        return s / Double(max(1, a.count))
    }

    static func maskedMeanAbsDifference(_ a: Tensor, _ b: Tensor, mask: Tensor) -> Double {
        let plane = a.shape.plane
        var s = 0.0, w = 0.0
        a.data.withUnsafeBufferPointer { ap in b.data.withUnsafeBufferPointer { bp in mask.data.withUnsafeBufferPointer { mp in
            for i in 0..<plane where mp[i] > 0 {
                for c in 0..<a.shape.c { s += Double(mp[i] * abs(ap[c * plane + i] - bp[c * plane + i])) }
                w += Double(mp[i]) * Double(a.shape.c)
            }
        } } }
        return w > 0 ? s / w : 0
    }
}
