import ClearinghouseCore
import Foundation
import Hummingbird

/// Reads and checks the headers of a write request, answering 415 or 400 with what to send.
enum RequestHeaders {
    static let ndjsonTypes: Set<String> = ["application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines"]

    static func bodyFormat(_ contentType: String?) throws -> BodyFormat {
        guard let contentType else {
            throw unsupported("Content-Type is missing; send application/x-ndjson (one JSON object per line) or text/csv")
        }
        let parts = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        let media = parts.first ?? ""
        for parameter in parts.dropFirst() where parameter.hasPrefix("charset=") {
            let charset = parameter.dropFirst("charset=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            guard charset == "utf-8" || charset == "us-ascii" else {
                throw unsupported("charset \(charset) is not supported; send UTF-8")
            }
        }
        if ndjsonTypes.contains(media) { return .ndjson }
        if media == "text/csv" { return .csv }
        throw unsupported("Content-Type \(media.prefix(64)) is not supported; send application/x-ndjson or text/csv")
    }

    static func isGzip(_ contentEncoding: String?) throws -> Bool {
        guard let contentEncoding else { return false }
        switch contentEncoding.trimmingCharacters(in: .whitespaces).lowercased() {
        case "", "identity": return false
        case "gzip", "x-gzip": return true
        default:
            throw unsupported("Content-Encoding \(contentEncoding.prefix(32)) is not supported; send gzip or no encoding")
        }
    }

    /// An Idempotency-Key is 1 to 255 printable ASCII characters.
    static func idempotencyKey(_ value: String?) throws -> String? {
        guard let value else { return nil }
        guard (1...255).contains(value.utf8.count), value.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7e }) else {
            throw APIError(
                .badRequest, code: "bad_idempotency_key",
                message: "Idempotency-Key must be 1 to 255 printable ASCII characters, such as a UUID or a digest of the chunk")
        }
        return value
    }

    private static func unsupported(_ message: String) -> APIError {
        APIError(.unsupportedMediaType, code: "unsupported_media_type", message: message)
    }
}

