import HTTPTypes
import Hummingbird
import Prometheus

/// `GET /health/live`, `/health/ready`, `/health/startup` and `GET /metrics` (Prometheus text format).
struct OperationsController: Sendable {
    let readiness: Readiness
    let metrics: PrometheusCollectorRegistry

    func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.get("/health/live") { _, _ in Self.status(ok: true) }
        router.get("/health/ready") { _, _ in Self.status(ok: readiness.isReady) }
        router.get("/health/startup") { _, _ in Self.status(ok: readiness.isReady) }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.emitToBuffer()))
            )
        }
    }

    private static func status(ok: Bool) -> Response {
        Response(
            status: ok ? .ok : .serviceUnavailable,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: ok ? #"{"status":"ok"}"# : #"{"status":"unavailable"}"#))
        )
    }
}
