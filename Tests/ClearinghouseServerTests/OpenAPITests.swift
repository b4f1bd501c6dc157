import ClearinghouseServer
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite("OpenAPI contract")
struct OpenAPITests {
    static let specPath = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/ClearinghouseServer/Resources/openapi.json").path

    @Test("the description lists exactly the router's paths and methods, and is served at /openapi.json")
    func specMatchesRoutes() async throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.specPath))
        let spec = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(spec["openapi"] as? String == "3.1.0")
        let paths = try #require(spec["paths"] as? [String: [String: Any]])
        let documented = Set(paths.flatMap { path, operations in operations.keys.map { "\($0.uppercased()) \(path)" } })
        try await TestDaemon.run { client, daemon in
            let router = buildRouter(daemon.runtime)
            let routed = Set(router.routes.map { route -> String in
                let path = "\(route.path)".split(separator: "/").map { part in
                    part.hasPrefix(":") ? "{\(part.dropFirst())}" : String(part)
                }.joined(separator: "/")
                return "\(route.method) /\(path)"
            })
            #expect(routed == documented, "routes without a description: \(routed.subtracting(documented)); described but not routed: \(documented.subtracting(routed))")

            let served = try await client.execute(uri: "/openapi.json", method: .get)
            #expect(served.status == .ok)
            #expect(Data(buffer: served.body) == data)
        }
        // Every operation names the least key role it needs; the writes of the API need an upload key.
        for (path, operations) in paths {
            for (method, operation) in operations {
                let role = (operation as? [String: Any])?["x-clearinghouse-role"] as? String
                let portalPages = ["/portal/overview", "/portal/heatmap", "/portal/surprises", "/portal/exports"]
                let expected =
                    path.hasPrefix("/v1/") ? (method == "post" ? "upload" : "read") : portalPages.contains(path) ? "read" : "none"
                #expect(role == expected, "\(method.uppercased()) \(path): x-clearinghouse-role \(role ?? "missing"), expected \(expected)")
            }
        }
        // Every $ref points at a schema that exists.
        let text = String(decoding: data, as: UTF8.self)
        let schemas = try #require((spec["components"] as? [String: Any])?["schemas"] as? [String: Any])
        for match in text.matches(of: /"#\/components\/schemas\/([A-Za-z]+)"/) {
            #expect(schemas[String(match.1)] != nil, "missing schema \(match.1)")
        }
    }

    @Test("a known path with another method is 405 with Allow; an unknown path is 404, both in the error shape")
    func unroutedRequests() async throws {
        try await TestDaemon.run { client, daemon in
            let key = daemon.keys["acme"]!
            for (method, path, allow) in [
                (HTTPRequest.Method.get, "/v1/signals", "POST"), (.delete, "/v1/releases/latest/affinities", "GET"),
                (.put, "/healthz", "GET"), (HTTPRequest.Method(rawValue: "TRACE")!, "/v1/consents", "POST"),
            ] {
                let response = try await client.execute(uri: path, method: method, headers: [.authorization: "Bearer \(key)"])
                #expect(response.status == .methodNotAllowed, "\(method) \(path)")
                #expect(response.headers[.allow] == allow && response.errorCode == "method_not_allowed")
            }
            let missing = try await client.execute(uri: "/v2/nothing", method: .get)
            #expect(missing.status == .notFound && missing.errorCode == "not_found")
            // Routed requests are untouched.
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
        }
    }
}
