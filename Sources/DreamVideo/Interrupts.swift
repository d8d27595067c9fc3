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
    public static var signalNumber: Int32 { flag }
}
