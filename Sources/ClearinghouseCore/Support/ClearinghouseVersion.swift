/// The version of this build, as `clearinghouse --version`, `/healthz`, `/readyz` and the OpenAPI
/// description give it, so an operator can tell which daemons of a deployment run which build.
public enum ClearinghouseVersion {
    public static let current = "1.2.0"
}
