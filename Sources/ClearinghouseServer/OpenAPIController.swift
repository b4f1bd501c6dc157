import Foundation
import Hummingbird

/// `GET /openapi.json`: the OpenAPI 3.1 description of the whole HTTP API.
///
/// The contract partners script against. The file lives in the repository
/// (`Sources/ClearinghouseServer/Resources/openapi.json`), ships as a resource of this module,
/// and a test keeps its paths and methods equal to the router's.
public struct OpenAPIController: Sendable {
    /// The description's bytes, read once.
    public static let document: Data? = Bundle.module.url(forResource: "openapi", withExtension: "json")
        .flatMap { try? Data(contentsOf: $0) }

    public init() {}

    public var routes: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.get("openapi.json") { _, _ in
            guard let document = Self.document else {
                throw APIError(
                    .internalServerError, code: "openapi_missing",
                    message: "the OpenAPI description was not installed beside the binary; see Sources/ClearinghouseServer/Resources/openapi.json")
            }
            return Response(
                status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: document)))
        }
        return routes
    }
}
