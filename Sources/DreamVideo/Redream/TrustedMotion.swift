import DreamEngine
import Foundation

/// The motion between two source frames and where it can be trusted — the one definition the re-dream and
/// `metrics` share, so both see the same scene cuts:
/// - the backward flow (current → previous), along which the previous frame is carried;
/// - the mask (1×H×W, 0…1): forward and backward flows agree, and the previous frame carried along the flow
///   looks like the current one (compared slightly blurred, so resampling at sharp edges is no mismatch);
/// - a scene cut when less than `sceneCutThreshold` of the picture can be trusted.
struct TrustedMotion {
    /// Below this fraction of trustworthy motion between two frames, the second starts a new shot.
    static let sceneCutThreshold = 0.3
    /// Where the previous source frame, moved along the flow, differs from the current one by more than this
    /// many levels, the motion is not trusted (the flow missed something).
    static let mismatchThreshold: Float = 20

    let backward: FlowField
    /// The flow the other way (previous → current), along which a picture of the current frame is carried back.
    let forward: FlowField
    let mask: Tensor
    let trusted: Double
    var isCut: Bool { trusted < TrustedMotion.sceneCutThreshold }

    init(previous: Tensor, current: Tensor, flow: FlowEstimator) throws {
        let (w, h) = (current.shape.w, current.shape.h)
        let (b, f) = try flow.flows(previous: ImageOps.gray8(previous), current: ImageOps.gray8(current), width: w, height: h)
        var mask = ImageOps.consistencyMask(backward: b, forward: f)
        ImageOps.clearMismatches(&mask, carried: ImageOps.gaussianBlur(ImageOps.warp(previous, along: b), sigma: 1),
                                 current: ImageOps.gaussianBlur(current, sigma: 1), threshold: TrustedMotion.mismatchThreshold)
        backward = b
        forward = f
        self.mask = mask
        trusted = Double(mask.mean())
    }

    /// Where carrying a picture of the current frame back into the previous one can be trusted (a mask over the
    /// previous frame's pixels): the same tests with the roles of the frames swapped.
    func reverseMask(previous: Tensor, current: Tensor) -> Tensor {
        var m = ImageOps.consistencyMask(backward: forward, forward: backward)
        ImageOps.clearMismatches(&m, carried: ImageOps.gaussianBlur(ImageOps.warp(current, along: forward), sigma: 1),
                                 current: ImageOps.gaussianBlur(previous, sigma: 1), threshold: TrustedMotion.mismatchThreshold)
        return m
    }
}
