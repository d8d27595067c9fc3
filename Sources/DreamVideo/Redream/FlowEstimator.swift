import COpticalFlow
import DreamEngine
import Foundation

/// How motion between frames is estimated.
public enum FlowMethod: String, Sendable, Codable, CaseIterable {
    /// No motion estimate: each frame starts from its source frame only.
    case none
    /// OpenCV's DIS (dense inverse search), "fast" preset: accurate and quick.
    case dis
    /// OpenCV's Farnebäck (polynomial expansion), computed at half resolution.
    case farneback
}

/// Dense optical flow between two pictures, through the OpenCV shim (the only code that calls it).
/// One estimator per thread.
public final class FlowEstimator {
    private let ctx: OpaquePointer
    public let method: FlowMethod

    /// The estimator for pictures too small for DIS.
    private var small: FlowEstimator?

    public convenience init(_ method: FlowMethod) throws {
        try self.init(method, downscale: method == .farneback ? 2 : 1)
    }

    init(_ method: FlowMethod, downscale: Int32) throws {
        guard method != .none else { throw DreamVideoError.invalidArgument("flow method 'none' estimates nothing") }
        self.method = method
        let m = method == .dis ? Int32(DV_FLOW_DIS) : Int32(DV_FLOW_FARNEBACK)
        guard let c = dv_flow_create(m, Int32(DV_FLOW_DIS_FAST)) else {
            throw DreamVideoError.commandFailed("optical flow", String(cString: dv_flow_last_error(nil)))
        }
        ctx = c
        if downscale > 1 { dv_flow_set_downscale(ctx, downscale) }
    }

    deinit { dv_flow_destroy(ctx) }

    /// The flow from `a` to `b` (both 8-bit luminance, `width`×`height`): a(p) ≈ b(p + flow(p)).
    public func flow(from a: [UInt8], to b: [UInt8], width: Int, height: Int) throws -> FlowField {
        guard width > 0, height > 0, a.count == width * height, b.count == width * height else {
            throw DreamVideoError.invalidArgument("optical flow needs two pictures of \(width)×\(height) (got \(a.count) and \(b.count) pixels)")
        }
        // OpenCV's DIS crashes (or asserts) on pictures under 32 px on a side: Farnebäck handles them.
        if method == .dis && (width < 32 || height < 32) {
            if small == nil { small = try FlowEstimator(.farneback, downscale: 1) }
            return try small!.flow(from: a, to: b, width: width, height: height)
        }
        var out = [Float](repeating: 0, count: 2 * width * height)
        let r = a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                out.withUnsafeMutableBufferPointer { op in
                    dv_flow_compute(ctx, ap.baseAddress, bp.baseAddress, Int32(width), Int32(height), 0, op.baseAddress)
                }
            }
        }
        guard r == DV_FLOW_OK else {
            throw DreamVideoError.commandFailed("optical flow (\(method.rawValue), \(width)×\(height))", String(cString: dv_flow_last_error(ctx)))
        }
        // A field with NaN or absurd vectors is no field: treat it as "no motion known".
        for v in out where !(v.isFinite && abs(v) < 1e5) {
            throw DreamVideoError.commandFailed("optical flow (\(method.rawValue))", "returned non-finite vectors")
        }
        return FlowField(width: width, height: height, interleaved: out)
    }

    /// The backward (t → t−1) and forward (t−1 → t) flows between two frames' luminance planes.
    public func flows(previous: [UInt8], current: [UInt8], width: Int, height: Int) throws -> (backward: FlowField, forward: FlowField) {
        (try flow(from: current, to: previous, width: width, height: height),
         try flow(from: previous, to: current, width: width, height: height))
    }
}
