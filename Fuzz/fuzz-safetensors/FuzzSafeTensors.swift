import DreamEngine
import Foundation
import FuzzSupport

/// SafeTensors.decode on the raw input (the weights parser).
@main enum FuzzSafeTensors {
    static func main() {
        Fuzz.main { bytes in
            _ = try? SafeTensors.decode(Data(bytes), file: "fuzz")
        }
    }
}
