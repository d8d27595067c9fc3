import ArgumentParser
struct Zoom: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Render an endless zoom video (coming).")
    func run() throws { throw ValidationError("zoom is not implemented yet") }
}
