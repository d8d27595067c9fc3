import ArgumentParser
import DreamVideo
import Foundation

struct ClassifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "classify", abstract: "Print the ImageNet classes a model sees in an image.")

    @Argument(help: "Image file.") var image: String
    @Option(help: "Model with a classifier head.") var model: String = ModelCatalog.defaultModel
    @Option(help: "How many classes to print (1…1000).") var top: Int = 5
    @Flag(name: [.customShort("q"), .long], help: "Print nothing but the classes and errors.") var quiet = false

    func validate() throws { if top < 1 || top > 1000 { throw ValidationError("--top must be 1…1000, got \(top)") } }

    func run() throws {
        let printer = ProgressPrinter(quiet: quiet, verbose: false)
        for r in try ModelCatalog.classify(image, model: model, top: top, log: printer.line) {
            print(String(format: "%4d  %-30@ %.4f", r.index, r.label as NSString, r.probability))
        }
    }
}
