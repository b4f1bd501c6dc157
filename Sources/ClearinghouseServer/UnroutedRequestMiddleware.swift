import Hummingbird

/// Answers requests no route takes: 405 with `Allow` when the path exists under other methods,
/// else 404, both in the API's error shape.
///
/// Added to the router after every route, so it wraps only the router's not-found responder
/// and costs routed requests nothing.
struct UnroutedRequestMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Route templates split into segments (a parameter, `:name` or `{name}`, matches any one
    /// segment), with their methods.
    private let templates: [(segments: [Substring], methods: [String])]

    init(routes: [(path: String, method: String)]) {
        var byPath: [String: [String]] = [:]
        for route in routes { byPath[route.path, default: []].append(route.method) }
        templates = byPath.map { path, methods in
            (path.split(separator: "/", omittingEmptySubsequences: true), methods.sorted())
        }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let segments = request.uri.path.split(separator: "/", omittingEmptySubsequences: true)
            let allowed = templates.filter { Self.matches($0.segments, segments) }.flatMap(\.methods)
            guard !allowed.isEmpty else {
                throw APIError(.notFound, code: "not_found", message: "no such endpoint; GET /openapi.json lists them")
            }
            let list = Set(allowed).sorted().joined(separator: ", ")
            var refusal = APIError(
                .methodNotAllowed, code: "method_not_allowed", message: "this endpoint answers \(list) only")
            refusal.extraHeaders[.allow] = list
            throw refusal
        }
    }

    private static func matches(_ template: [Substring], _ path: [Substring]) -> Bool {
        template.count == path.count && zip(template, path).allSatisfy { $0.hasPrefix(":") || $0.hasPrefix("{") || $0 == $1 }
    }
}
