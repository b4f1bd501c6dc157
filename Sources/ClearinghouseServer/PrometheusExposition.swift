import Hummingbird
import Logging
import Metrics
import NIOCore
import Prometheus

/// The daemon's metrics backend: swift-metrics into a Prometheus registry, exposed on a listener
/// of its own (`metrics.host`, `metrics.port`) so that partners on the API port cannot read the
/// consortium's activity.
///
/// Every metric is counts, durations or gauges labelled by bounded values only (route
/// templates, methods, statuses, batch kinds and outcomes, limit kinds): never a key, token,
/// person key, partner id or free text.
public enum PrometheusExposition {
    /// Hummingbird's metric names (OpenTelemetry style, with dots) as Prometheus names.
    static let names = [
        "hb.requests": "clearinghouse_http_requests_total",
        "hb.request.errors": "clearinghouse_http_request_errors_total",
        "http.server.request.duration": "clearinghouse_http_request_duration_seconds",
        "http.server.active_requests": "clearinghouse_http_requests_in_flight",
    ]
    static let labels = [
        "http.route": "route", "http.request.method": "method", "http.response.status_code": "status", "error.type": "status",
    ]

    /// A factory whose names and labels are valid Prometheus identifiers.
    public static func factory(_ registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.nameAndLabelSanitizer = { name, dimensions in
            (identifier(names[name] ?? name), dimensions.map { (identifier(labels[$0.0] ?? $0.0), $0.1) })
        }
        return factory
    }

    /// Bootstraps swift-metrics with a new registry (once per process, as swift-metrics allows)
    /// and returns it for the listener.
    public static func bootstrap() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(factory(registry))
        return registry
    }

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`, as the exposition format requires.
    static func identifier(_ name: String) -> String {
        var result = String(name.unicodeScalars.map { scalar -> Character in
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", "_": Character(scalar)
            default: "_"
            }
        })
        if result.first?.isNumber ?? true { result = "_" + result }
        return result
    }

    /// The listener: `GET /metrics` in the text exposition format, nothing else. `onBound` runs
    /// once it accepts connections.
    static func listener(
        _ registry: PrometheusCollectorRegistry, host: String, port: Int, logger: Logger,
        onBound: @escaping @Sendable () -> Void
    ) -> some ApplicationProtocol {
        let router = Router()
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        return Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "clearinghouse-metrics"),
            onServerRunning: { channel in
                logger.notice("metrics listening", metadata: ["metrics.address": "\(host):\(channel.localAddress?.port ?? port)"])
                onBound()
            },
            logger: logger)
    }
}
