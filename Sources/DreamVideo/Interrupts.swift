import Foundation

/// SIGINT/SIGTERM become a polite request: the render finishes its frame, closes its files,
/// writes a checkpoint and stops. A second signal exits at once.
public enum Interrupts {
    nonisolated(unsafe) private static var flag: sig_atomic_t = 0

    public static func install() {
        let handler: @convention(c) (Int32) -> Void = { sig in
            if Interrupts.flag != 0 { _exit(128 + sig) }
            Interrupts.flag = sig
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
        // A parent may have left these blocked (some process launchers do); unblock them.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        // A full disk or file-size limit should surface as a write error, not kill the process.
        signal(SIGXFSZ, SIG_IGN)
        signal(SIGPIPE, SIG_IGN)
    }

    public static var requested: Bool { flag != 0 }

    nonisolated(unsafe) private static var noticed: Date?
    private static let lock = NSLock()

    /// Whether a stop was asked for at least `seconds` ago (counted from when this was first asked after the
    /// signal: within one dream step of it). A frame still dreaming then is abandoned, so a render told to stop
    /// by a scheduler (which kills it a fixed time later) always leaves a checkpoint.
    public static func abandon(after seconds: Double) -> Bool {
        guard requested else { return false }
        lock.lock()
        defer { lock.unlock() }
        if noticed == nil { noticed = Date() }
        return Date().timeIntervalSince(noticed!) >= seconds
    }
    public static var signalNumber: Int32 { flag }
}
