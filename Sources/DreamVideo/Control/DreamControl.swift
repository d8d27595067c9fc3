import DreamEngine
import Foundation
import MediaIO

/// The parts of a job's settings that steer every dream of it: the guide picture and how colours are kept.
struct DreamControl {
    let guide: Tensor?
    let keepColors: ColorKeeping
    /// The colour transfer of the last reference (a zoom's seed is the same picture every frame).
    private let transfers = TransferCache()
    /// Asked before every dream step: a render told to stop abandons its frame when this says so.
    var cancel: (@Sendable () -> Bool)? = nil

    /// The guide is read once, its long side at most 512 px (its features, not its size, matter).
    static let guideSide = 512

    init(_ settings: JobSettings) throws {
        keepColors = settings.keepColors
        if let path = settings.guide {
            var rng = SeededGenerator(seed: 0)
            let g = try StartImage.load(path, size: nil, maxSide: DreamControl.guideSide, rng: &rng)
            let arch = try ModelProfiles.architecture(settings.model)
            var nodes: [Int] = []
            for l in settings.layers { nodes.append(try arch.nodeIndex(l.name)) }
            let need = Dreamer.minimumSide(arch, nodes: nodes)
            guard min(g.shape.h, g.shape.w) >= need else {
                throw DreamVideoError.invalidArgument("\(path): the guide is \(g.shape.w)×\(g.shape.h) px; \(settings.layers.map(\.name).joined(separator: ", ")) needs at least \(need) px on its shorter side")
            }
            guide = g
        } else {
            guide = nil
        }
    }

    /// Checks the guide file is there and readable (decoding comes later).
    static func preflight(_ settings: JobSettings) throws {
        guard let path = settings.guide else { return }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw MediaError.cannotOpen(path: path, reason: "no such file (the --guide picture)") }
        guard !isDir.boolValue, access(path, R_OK) == 0 else { throw MediaError.cannotOpen(path: path, reason: "not a readable file (the --guide picture)") }
    }

    /// The dreamed picture with colours kept as asked: `start` gives the chroma (luminance mode),
    /// `reference` the colour distribution (histogram mode: the joint distribution of the colours, see
    /// `ColorTransfer`).
    func keepColors(_ dreamed: Tensor, start: Tensor, reference: Tensor) -> Tensor {
        switch keepColors {
        case .none: return dreamed
        case .luminance: return ImageOps.keepingChroma(dreamed, of: start)
        case .histogram:
            // A flat reference (a single colour) would paint the dream over with it: keep the start's chroma instead.
            let t = transfers.transfer(to: reference)
            return t.spread < 2 ? ImageOps.keepingChroma(dreamed, of: start) : t.apply(dreamed)
        }
    }
}

/// The colour transfer built for the last reference picture, reused while the reference is the same.
final class TransferCache: @unchecked Sendable {
    private var last: (reference: Tensor, transfer: ColorTransfer)?
    private let lock = NSLock()
    func transfer(to reference: Tensor) -> ColorTransfer {
        lock.lock()
        defer { lock.unlock() }
        if let last, last.reference.shape == reference.shape, last.reference.data == reference.data { return last.transfer }
        let t = ColorTransfer(reference: reference)
        last = (reference, t)
        return t
    }
}
