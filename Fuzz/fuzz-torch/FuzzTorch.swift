import Foundation
import FuzzSupport
import ModelImport

/// TorchCheckpoint.read (pickle, legacy and zip torch.save files) on the input written to a temp file.
@main enum FuzzTorch {
    static func main() {
        Fuzz.main { bytes in
            let path = Fuzz.writeTempFile(bytes, suffix: ".pt")
            _ = try? TorchCheckpoint.read(URL(fileURLWithPath: path))
        }
    }
}
