import DreamEngine
import DreamVideo
import Foundation

// Times one dream step (forward to the layer + input gradient of 0.5·mean(act²), no weight gradients)
// per model and size, and reports GFLOP/s counted as 4 × the convolutions' multiply-accumulates
// (forward 2·MACs, input-gradient backward the same).
//
//   swift run -c release dreamvideo-bench [--runs N] [--models a,b] [--sizes 512x512,1280x720] [--layer NAME] [--json]

BLASKernels.restartWithBetterKernelsIfNeeded()

struct Case { let model: String; let layer: String?; let size: FrameSize }

var runs = 10, warmup = 2
var models = ["efficientnet-lite0", "vgg16-hed"]
var sizes = ["512x512", "1280x720"]
var layerOverride: String? = nil
var json = false
var zoomFrame = false
var ops = false
var tiled = false
var profile = false
var options = EngineOptions()
var zoomSettings: [String: SettingValue] = [:]
var args = CommandLine.arguments.dropFirst().makeIterator()
while let a = args.next() {
    switch a {
    case "--runs": runs = Int(args.next() ?? "") ?? runs
    case "--warmup": warmup = Int(args.next() ?? "") ?? warmup
    case "--models": models = (args.next() ?? "").split(separator: ",").map(String.init)
    case "--sizes": sizes = (args.next() ?? "").split(separator: ",").map(String.init)
    case "--layer": layerOverride = args.next()
    case "--json": json = true
    case "--zoom-frame": zoomFrame = true
    case "--ops": ops = true
    case "--set":
        let kv = args.next() ?? ""
        guard let eq = kv.firstIndex(of: "=") else { FileHandle.standardError.write(Data("dreamvideo-bench: --set KEY=VALUE\n".utf8)); exit(2) }
        zoomSettings[String(kv[..<eq])] = .text(String(kv[kv.index(after: eq)...]))
    case "--tiled": tiled = true
    case "--profile": profile = true
    case "--no-winograd": options.winograd = false
    case "--no-pointwise": options.pointwiseKernel = false
    case "-h", "--help":
        print("""
        usage: dreamvideo-bench [--runs N] [--warmup N] [--models a,b] [--sizes WxH,…] [--layer NAME] [--tiled] [--zoom-frame [--set KEY=VALUE …]] [--profile] [--no-winograd] [--no-pointwise] [--json]
          --tiled       time a full dream step as the tool runs it (tiles of 512, jitter, normalised update)
          --ops         with --zoom-frame: also time the per-frame extras alone (warp + feedback, the Laplacian normalisation)
          --zoom-frame  time a whole zoom frame as `dreamvideo zoom` makes it with its defaults (warp, feedback, octaves × iterations);
                        --set KEY=VALUE changes a zoom setting (e.g. --set laplacian=0 --set renormalize=0)
        """)
        exit(0)
    default:
        FileHandle.standardError.write(Data("dreamvideo-bench: unknown argument \(a)\n".utf8)); exit(2)
    }
}

func peakRSSKiB() -> Int {
    guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = s.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return 0 }
    return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
}

/// Runs every case and prints the table (or JSON).
func runBenchmarks() throws {
    var results: [[String: Any]] = []
    if !json { print("model                layer           size        ms/step (median)   min      GFLOP/s") }
    for m in models {
        var network: Network
        do { network = try ModelStore().load(m, autoInstall: true) } catch {
            FileHandle.standardError.write(Data("dreamvideo-bench: \(error)\n".utf8)); exit(1)
        }
        let profiler = LayerProfiler()
        network.options = options
        if profile { network.options.profiler = profiler }
        var layer = try layerOverride ?? ModelProfiles.profile(network.definition.name).image.layers[0].name
        for s in sizes {
            let size = try FrameSize(parsing: s)
            let settings = DreamSettings(layers: [LayerWeight(layer)], iterations: 1, octaves: 1, octaveScale: 1.4, step: 1.5)
            var x = Tensor(zeros: Shape(3, size.height, size.width))
            var rng = SeededGenerator(seed: 1)
            for i in 0..<x.count { x.data[i] = 128 + 40 * rng.gaussian() }
            // A zoom frame: the zoom command's own settings (its defaults, then --layer and --set), its own frame maker.
            var maker: ZoomFrameMaker? = nil
            var turned = false
            if zoomFrame {
                var api = zoomSettings
                api["model"] = .text(m)
                api["size"] = .text(s)
                if let layerOverride { api["layer"] = .text(layerOverride) }
                let job = try JobSettings.resolve(kind: .zoom, sources: [.api(api)]).settings
                layer = job.layers.first?.name ?? layer
                maker = try ZoomFrameMaker(settings: job, network: network, seed: x)
                turned = job.gridTurn > 0
            }
            let dreamer = try Dreamer(network: network, settings: settings)
            var previous = x
            if ops, let maker {
                func median(_ body: () -> Void) -> Double {
                    var t: [Double] = []
                    for _ in 0..<max(5, runs) {
                        let t0 = DispatchTime.now().uptimeNanoseconds
                        body()
                        t.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
                    }
                    return t.sorted()[t.count / 2]
                }
                let start = median { _ = maker.start(1, previous: x) }
                let lap = median { var g = x; g.data[0] += 1; ImageOps.laplacianNormalize(&g, levels: 4) }  // the copy is part of it
                // Per frame the Laplacian runs once per iteration of every octave, on the octave's picture.
                let d = try maker.dreamer(at: 1)
                let area = d.octaveSizes(height: size.height, width: size.width).map { Double($0.0 * $0.1) }.reduce(0, +)
                let perFrame = lap * area / Double(size.height * size.width) * Double(d.settings.iterations)
                print(String(format: "  %@: warp + feedback %.1f ms/frame; Laplacian (4 levels) %.1f ms at full size, ≈ %.1f ms/frame", s, start, lap, perFrame))
            }
            var times: [Double] = []
            for i in 0..<(warmup + runs) {
                if profile && i == warmup { profiler.reset() }
                let t = DispatchTime.now().uptimeNanoseconds
                if let maker {
                    var frameRNG = SeededGenerator(seed: UInt64(i))
                    previous = try maker.frame(i + 1, previous: previous, rng: &frameRNG)
                    ImageOps.clip(&previous, 0, 255)
                } else if tiled {
                var y = x
                try dreamer.step(&y, rng: &rng)
            } else {
                _ = try dreamer.objectiveAndGradient(x)
            }
                let ms = Double(DispatchTime.now().uptimeNanoseconds - t) / 1e6
                if i >= warmup { times.append(ms) }
            }
            times.sort()
            if profile {
                let rows = profiler.entries.sorted { $0.forward + $0.backward > $1.forward + $1.backward }
                print("  per step, by layer kind (ms): forward  backward  nodes")
                for v in rows {
                    let per = Double(runs)
                    print("  " + v.key.padding(toLength: 26, withPad: " ", startingAt: 0)
                          + String(format: "%8.1f %9.1f %6d", v.forward / per, v.backward / per, v.calls / runs))
                }
            }
            let median = times[times.count / 2]
            let mean = times.reduce(0, +) / Double(times.count)
            let macs = try network.graph.macs(height: size.height, width: size.width, upTo: try network.graph.nodeIndex(layer))
            let gflops = 4 * Double(macs) / (median / 1000) / 1e9
            results.append(["model": m, "layer": layer, "size": s, "median_ms": median, "min_ms": times[0], "gflops": gflops, "macs": macs])
            if !json {
                func pad(_ t: String, _ n: Int) -> String { t.padding(toLength: max(n, t.count), withPad: " ", startingAt: 0) }
                print(pad(m, 20) + " " + pad(layer, 15) + " " + pad(s, 11) + String(format: " %10.1f %12.1f %10.1f", median, times[0], gflops))
                if turned {
                    // Each frame draws its own grid turn, and its canvas (1–2.2× the frame) sets its cost.
                    print(String(format: "  mean of %d frames %.1f ms (max %.1f): each frame's grid turn sets its canvas, so time a zoom frame over 24 or more (--runs 24) or read the CLI's average", times.count, mean, times.last!))
                }
            }
        }
    }
    if json {
        let d = try JSONSerialization.data(withJSONObject: ["results": results, "peak_rss_kib": peakRSSKiB(), "threads": options.threads], options: [.sortedKeys])
        print(String(decoding: d, as: UTF8.self))
    } else {
        print("peak RSS \(peakRSSKiB() / 1024) MiB, \(options.threads) threads, OpenBLAS kernels \(BLASKernels.current)")
    }
}

do { try runBenchmarks() } catch {
    FileHandle.standardError.write(Data("dreamvideo-bench: \(error)\n".utf8))
    exit(1)
}
