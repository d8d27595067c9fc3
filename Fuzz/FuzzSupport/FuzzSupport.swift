import Foundation

/// The harness body, set once by `Fuzz.main` before any input runs.
nonisolated(unsafe) private var harness: (UnsafeRawBufferPointer) -> Void = { _ in }

/// libFuzzer's per-input callback. Always defined: with -sanitize=fuzzer, libFuzzer's own main
/// (linked whole-archive) refers to it even though `Fuzz.main` starts the driver itself.
@_cdecl("LLVMFuzzerTestOneInput")
public func LLVMFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    harness(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

#if FUZZING
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                                 _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                                 _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt
#endif

public enum Fuzz {
    /// The executable's entry point. SwiftPM on Linux links every executable with
    /// `--defsym main=<module>_main`, so a harness must have a Swift `main` even when libFuzzer brings its own:
    /// under FUZZING it hands the command line to libFuzzer's driver; otherwise it replays the files
    /// (or every file in the folders) named on the command line, to reproduce a crash without libFuzzer.
    public static func main(_ body: @escaping (UnsafeRawBufferPointer) -> Void) -> Never {
        harness = body
        #if FUZZING
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput))
        #else
        var files: [String] = []
        for arg in CommandLine.arguments.dropFirst() {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: arg, isDirectory: &isDir), isDir.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: arg)) ?? []
                files += names.sorted().map { arg + "/" + $0 }
            } else {
                files.append(arg)
            }
        }
        if files.isEmpty {
            FileHandle.standardError.write("usage: \(CommandLine.arguments[0]) FILE|FOLDER… (replays the harness; build with -DFUZZING -sanitize=fuzzer to fuzz)\n".data(using: .utf8)!)
            exit(2)
        }
        for f in files {
            guard let d = FileManager.default.contents(atPath: f) else { fputs("cannot read \(f)\n", stderr); continue }
            fputs("running \(f) (\(d.count) bytes)\n", stderr)  // unbuffered: shows which file crashed
            d.withUnsafeBytes { body($0) }
        }
        fputs("ran \(files.count) input(s) without crashing\n", stderr)
        exit(0)
        #endif
    }

    /// One temporary file per process, rewritten for each input, for entry points that take a path.
    public static func writeTempFile(_ bytes: UnsafeRawBufferPointer, suffix: String = "") -> String {
        let path = NSTemporaryDirectory() + "/dreamvideo-fuzz-\(getpid())" + suffix
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        precondition(fd >= 0, "cannot create \(path)")
        var done = 0
        while done < bytes.count {
            let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
            precondition(n > 0, "cannot write \(path)")
            done += n
        }
        close(fd)
        return path
    }
}
