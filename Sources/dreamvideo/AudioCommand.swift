import ArgumentParser
import DreamVideo
import Foundation
import MediaIO

struct AudioCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audio",
        abstract: "Show what a zoom's formulas can follow in a soundtrack: tempo, beats, and per frame loudness, onset, beat, bass, mid, treble.",
        discussion: """
        Each envelope is 0…1 over the song. Use them in any keyframed value of a zoom with --audio SONG, e.g.
        --zoom '1.005 + 0.03*beat^2' or --step '1 + bass'.
        """)

    @Argument(help: "A sound file (anything FFmpeg reads, a video's soundtrack too).") var song: String
    @Option(help: "Frames per second of the video the envelopes are for.") var fps: String = "30"
    @Option(help: "Write a picture of the envelopes over the frames (PNG).") var plot: String?
    @Flag(help: "Print every frame's values (CSV, after the summary line).") var csv = false
    @Flag(help: "Replace the --plot file if it exists.") var overwrite = false

    func run() throws {
        let rate: FrameRate
        do { rate = try FrameRate(parsing: fps) } catch { throw ValidationError("--fps: \(error)") }
        guard rate.value.isFinite, rate.value > 0, rate.value <= 1000 else { throw ValidationError("--fps must be 0…1000, got \(fps)") }
        if let plot {
            guard plot.lowercased().hasSuffix(".png") else { throw ValidationError("--plot must name a .png file, got '\(plot)'") }
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: plot, isDirectory: &isDir) {
                if isDir.boolValue { throw DreamVideoError.invalidArgument("\(plot): is a folder; --plot names a .png file") }
                if !overwrite { throw DreamVideoError.outputExists(plot) }
            }
        }
        let e = try AudioEnvelopes.analyze(song, fps: rate.value)
        print(String(format: "%@: %.2f s, %d frames at %@ fps; tempo %.1f BPM, %d beats", song as NSString, e.duration, e.frameCount,
                     rate.description as NSString, e.tempo, e.beats.count))
        if csv {
            print("frame,time,loudness,onset,beat,bass,mid,treble")
            for i in 0..<e.frameCount {
                let v = e.values(at: Double(i))
                print(String(format: "%d,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f", i, Double(i) / rate.value, v.loudness, v.onset, v.beat, v.bass, v.mid, v.treble))
            }
        }
        if let plot {
            try ImageIO.write(e.plot(), to: plot)
            print("plot: \(plot)")
        }
    }
}
