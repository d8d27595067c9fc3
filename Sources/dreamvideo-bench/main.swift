import DreamEngine
import DreamVideo
import Foundation

// Times one dream step (forward to the layer + input gradient of 0.5·mean(act²), no weight gradients)
// per model and size, and reports GFLOP/s counted as 4 × the convolutions' multiply-accumulates
// (forward 2·MACs, input-gradient backward the same).
//
//   swift run -c release dreamvideo-bench [--runs N] [--models a,b] [--sizes 512x512,1280x720] [--layer NAME] [--json]

struct Case { let model: String; let layer: String?; let size: FrameSize }

var runs = 10, warmup = 2
var models = ["efficientnet-lite0", "vgg16-hed"]
var sizes = ["512x512", "1280x720"]
var layerOverride: String? = nil
var json = false
var zoomFrame = false
var tiled = false
var profile = false
var options = EngineOptions()
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
    case "--tiled": tiled = true
    case "--profile": profile = true
    case "--no-winograd": options.winograd = false
    case "--no-pointwise": options.pointwiseKernel = false
    case "-h", "--help":
        print("""
        usage: dreamvideo-bench [--runs N] [--warmup N] [--models a,b] [--sizes WxH,…] [--layer NAME] [--tiled] [--zoom-frame] [--profile] [--no-winograd] [--no-pointwise] [--json]
          --tiled       time a full dream step as the tool runs it (tiles of 512, jitter, normalised update)
          --zoom-frame  time a whole default zoom frame (video defaults: octaves × iterations, then the zoom warp)
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
        let layer = layerOverride ?? (zoomFrame ? network.definition.videoDefaults : network.definition.defaults).layers[0].name
        for s in sizes {
            let size = try FrameSize(parsing: s)
            var settings = DreamSettings(layers: [LayerWeight(layer)], iterations: 1, octaves: 1, octaveScale: 1.4, step: 1.5)
        if zoomFrame {
            settings = DreamSettings(defaults: network.definition.videoDefaults)
            if let layerOverride { settings.layers = [LayerWeight(layerOverride)] }
        }
        let dreamer = try Dreamer(network: network, settings: settings)
            var x = Tensor(zeros: Shape(3, size.height, size.width))
            var rng = SeededGenerator(seed: 1)
            for i in 0..<x.count { x.data[i] = 128 + 40 * rng.gaussian() }
            var times: [Double] = []
            for i in 0..<(warmup + runs) {
                if profile && i == warmup { profiler.reset() }
                let t = DispatchTime.now().uptimeNanoseconds
                if zoomFrame {
                var frameRNG = SeededGenerator(seed: UInt64(i))
                let dreamed = try dreamer.dream(x, rng: &frameRNG)
                _ = ImageOps.warp(dreamed, FrameTransform(zoom: 1.05))
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
            let macs = try network.graph.macs(height: size.height, width: size.width, upTo: try network.graph.nodeIndex(layer))
            let gflops = 4 * Double(macs) / (median / 1000) / 1e9
            results.append(["model": m, "layer": layer, "size": s, "median_ms": median, "min_ms": times[0], "gflops": gflops, "macs": macs])
            if !json {
                func pad(_ t: String, _ n: Int) -> String { t.padding(toLength: max(n, t.count), withPad: " ", startingAt: 0) }
                print(pad(m, 20) + " " + pad(layer, 15) + " " + pad(s, 11) + String(format: " %10.1f %12.1f %10.1f", median, times[0], gflops))
            }
        }
    }
    if json {
        let d = try JSONSerialization.data(withJSONObject: ["results": results, "peak_rss_kib": peakRSSKiB(), "threads": options.threads], options: [.sortedKeys])
        print(String(decoding: d, as: UTF8.self))
    } else {
        print("peak RSS \(peakRSSKiB() / 1024) MiB, \(options.threads) threads")
    }
}

do { try runBenchmarks() } catch {
    FileHandle.standardError.write(Data("dreamvideo-bench: \(error)\n".utf8))
    exit(1)
}
