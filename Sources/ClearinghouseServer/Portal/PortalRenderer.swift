import Foundation
import Hummingbird
import Mustache

/// The portal's Mustache templates (`Resources/portal/*.mustache`), parsed once, and the
/// response every page is sent as.
///
/// Mustache escapes every `{{value}}` for HTML; the only unescaped value (`{{{svg}}}`) is the
/// heatmap, which ``HeatmapSVG`` escapes itself.
struct PortalRenderer: Sendable {
    static let shared = PortalRenderer()

    let library: MustacheLibrary?
    let stylesheet: String?
    let loadProblem: String?

    private init() {
        guard let folder = Bundle.module.url(forResource: "portal", withExtension: nil) else {
            library = nil
            stylesheet = nil
            loadProblem = "the portal templates are missing from the daemon's resources"
            return
        }
        var library = MustacheLibrary()
        var problem: String?
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        for name in names where name.hasSuffix(".mustache") {
            do {
                let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
                try library.register(text, named: String(name.dropLast(".mustache".count)))
            } catch {
                problem = "portal template \(name) does not parse: \(error)"
            }
        }
        self.library = library
        self.stylesheet = try? String(contentsOf: folder.appendingPathComponent("portal.css"), encoding: .utf8)
        self.loadProblem = problem
    }

    /// The page `template` rendered with `view`, as an HTML response.
    func page(_ template: String, _ view: Any, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        guard loadProblem == nil, let html = library?.render(view, withTemplate: template) else {
            throw HTTPError(.internalServerError, message: loadProblem ?? "no portal template \(template)")
        }
        var headers = headers
        headers[.contentType] = "text/html; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}
