import Foundation
import Hummingbird

/// JSON response bodies with sorted keys, so answers are byte-stable for scripts and tests.
enum JSONBody {
    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: try buffer(value)))
    }

    static func buffer(_ value: some Encodable) throws -> ByteBuffer {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // A trailing newline so an answer printed by curl does not run into the shell prompt.
        var bytes = try encoder.encode(value)
        bytes.append(UInt8(ascii: "\n"))
        return ByteBuffer(bytes: bytes)
    }
}
