import HTTPTypes

/// The portal's two cookies: the session and the sign-in form's double-submit nonce.
///
/// Both are HttpOnly (no script reads them), SameSite=Strict (no other site's page sends them),
/// scoped to `/portal`, and Secure when the listener speaks TLS. The session cookie lives as long
/// as the session (`portal.session_minutes`); the nonce ten minutes, the time to type a key.
struct PortalCookies: Sendable {
    static let session = "clearinghouse_portal"
    static let signIn = "clearinghouse_portal_signin"
    static let path = "/portal"

    let secure: Bool

    func setSession(_ token: PortalSessionToken, maxAgeSeconds: Int) -> String {
        cookie(Self.session, value: token.text, maxAge: maxAgeSeconds)
    }

    func setSignInNonce(_ nonce: String) -> String { cookie(Self.signIn, value: nonce, maxAge: 600) }

    /// Tells the browser to forget a cookie (sign-out, a session that is no longer valid).
    func clear(_ name: String) -> String { cookie(name, value: "", maxAge: 0) }

    private func cookie(_ name: String, value: String, maxAge: Int) -> String {
        "\(name)=\(value); Path=\(Self.path); Max-Age=\(maxAge); HttpOnly; SameSite=Strict\(secure ? "; Secure" : "")"
    }

    /// The value of cookie `name` in a request's `Cookie` headers, or `nil` when there is none
    /// or more than one: a second cookie of the same name can only have been planted (by a
    /// sibling service on the host, with another path), and taking either would let it choose
    /// the session.
    static func value(_ name: String, in fields: HTTPFields) -> String? {
        var found: [String] = []
        for header in fields[values: .cookie] {
            for pair in header.split(separator: ";") {
                let trimmed = pair.drop(while: { $0 == " " })
                guard let equals = trimmed.firstIndex(of: "="), trimmed[..<equals] == name else { continue }
                found.append(String(trimmed[trimmed.index(after: equals)...]))
            }
        }
        return found.count == 1 ? found[0] : nil
    }
}
