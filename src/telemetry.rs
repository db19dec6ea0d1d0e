//! Logs, request ids, metrics, and the one middleware that ties them to every request.
//!
//! Log lines never carry personal data: the access log names the route *pattern*
//! (`/api/v1/towns/{town}`), not the path or query, and never the token's subject.

use std::sync::OnceLock;
use std::time::Instant;

use actix_web::HttpMessage;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing::Instrument;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::Settings;
use crate::error::{ApiError, Lang};
use crate::http::routes::KnownRoutes;

/// The header that carries the request id, in and out.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of one request: the client's `x-request-id` when it is sane, else a new UUID v7.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Installs the global log subscriber (JSON in production, text in development), to
/// stderr so that subcommands' stdout stays clean. Safe to call more than once.
pub fn init(settings: &Settings) {
    let filter = EnvFilter::try_new(&settings.log).unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    let result = if settings.json_logs() {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(std::io::stderr),
            )
            .try_init()
    } else {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    // Colour codes only for a person at a terminal, not into files and pipes.
                    .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                    .with_writer(std::io::stderr),
            )
            .try_init()
    };
    // Already installed (tests start many apps in one process): keep the first.
    let _ = result;
}

/// The process-wide Prometheus recorder (metrics has one global recorder per process).
pub fn metrics() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("http_request_duration_seconds".into()),
                &[
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ],
            )
            .expect("bucket list is not empty");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // If another recorder is installed already, our handle renders nothing but the
        // service still works; that only happens in unusual embeddings.
        let _ = metrics::set_global_recorder(recorder);
        metrics::describe_counter!(
            "http_requests_total",
            "HTTP requests answered, by method, route pattern and status."
        );
        metrics::describe_histogram!(
            "http_request_duration_seconds",
            metrics::Unit::Seconds,
            "Time from a request's arrival to its answer, by method and route pattern."
        );
        metrics::describe_gauge!(
            "db_pool_connections",
            "Database connections of the pool, open and idle."
        );
        handle
    })
}

fn request_id_of(req: &ServiceRequest) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 128
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned)
}

/// The middleware around every request: request id, span, access log, metrics, and the
/// language of error bodies. Any error response that is not problem+json yet (one made
/// by actix or a library) is turned into one here, so clients never see plain text.
pub async fn around_request(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let request_id = request_id_of(&req);
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let lang = Lang::negotiate(
        req.headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let method = req.method().to_string();
    let span = tracing::info_span!("request", %method, route = tracing::field::Empty, %request_id);
    // Handlers' and extractors' errors arrive here as responses already; an `Err` could
    // only come from a service that does not render its errors, and actix renders it.
    let res = next
        .call(req)
        .instrument(span.clone())
        .await?
        .map_into_boxed_body();
    let mut res = localize_error(res, lang);
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    // The documented pattern, from the route table (segment compares, no second regex
    // match of the path as `match_pattern` would do).
    let route = res
        .request()
        .app_data::<web::Data<KnownRoutes>>()
        .and_then(|known| known.pattern(res.request().path()))
        .unwrap_or("unmatched");
    let status = res.status().as_u16();
    let elapsed = started.elapsed();
    span.record("route", route);
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    // Probes and scrapes arrive every few seconds: they would drown the access log.
    let probe = matches!(route, "/healthz" | "/readyz" | "/metrics");
    span.in_scope(|| {
        if probe {
            tracing::debug!(status, latency_ms, "request");
        } else {
            tracing::info!(status, latency_ms, "request");
        }
    });
    let labels = [
        ("method", method),
        ("route", route.to_owned()),
        ("status", status.to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels[..2])
        .record(elapsed.as_secs_f64());
    Ok(res)
}

/// Renders an error response as problem+json in the client's language.
fn localize_error(res: ServiceResponse<BoxBody>, lang: Lang) -> ServiceResponse<BoxBody> {
    let status = res.status();
    if !status.is_client_error() && !status.is_server_error() {
        return res;
    }
    // A JSON answer (a problem, or a deliberate body such as /readyz's) stays as it is.
    let is_json = res.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        v.as_bytes().starts_with(b"application/") && v.as_bytes().ends_with(b"json")
    });
    let rendered = match res
        .response()
        .error()
        .and_then(|e| e.as_error::<ApiError>())
    {
        Some(api) if lang != Lang::Zh => Some(api.render(lang)),
        Some(_) => None,
        None if is_json => None,
        None => Some(status_problem(status).render(lang)),
    };
    match rendered {
        None => res,
        Some(new) => {
            let (req, old) = res.into_parts();
            let mut new = new;
            for (name, value) in old.headers() {
                if name == header::RETRY_AFTER || name == header::ALLOW {
                    new.headers_mut().insert(name.clone(), value.clone());
                }
            }
            ServiceResponse::new(req, new)
        }
    }
}

/// The problem for an error response made outside our handlers, by its status.
fn status_problem(status: StatusCode) -> ApiError {
    match status.as_u16() {
        401 => ApiError::Unauthorized(crate::error::AuthFailure::Invalid),
        403 => ApiError::Forbidden,
        404 => ApiError::NotFound,
        405 => ApiError::MethodNotAllowed,
        412 => ApiError::PreconditionFailed,
        413 => ApiError::PayloadTooLarge { limit: 0 },
        415 => ApiError::UnsupportedMediaType,
        428 => ApiError::PreconditionRequired,
        503 => ApiError::Unavailable,
        400..=499 => ApiError::bad_request(
            "bad_request",
            crate::msg!("请求有误。", "The request is not valid."),
        ),
        _ => ApiError::Internal(anyhow::anyhow!(
            "error response {status} from outside a handler"
        )),
    }
}
