//! Liveness, readiness and metrics, for orchestrators and Prometheus. No token needed:
//! they reveal nothing about any town (expose `/metrics` on an internal network only).

use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use sqlx::PgPool;
use utoipa::ToSchema;

/// The service's lifecycle, shared by the handlers and the shutdown sequence.
#[derive(Debug, Default)]
pub struct Lifecycle {
    stopping: AtomicBool,
}

impl Lifecycle {
    /// Marks the service as stopping: `/readyz` answers 503 from now on.
    pub fn begin_shutdown(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// Whether shutdown has begun.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }
}

/// A health answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or why not.
    #[schema(example = "ok")]
    pub status: String,
}

fn health(code: actix_web::http::StatusCode, status: &str) -> HttpResponse {
    HttpResponse::build(code)
        .insert_header(("cache-control", "no-store"))
        .json(Health {
            status: status.to_owned(),
        })
}

/// Liveness: the process answers. It does not touch the database.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "The process is alive.", body = Health)),
)]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    health(actix_web::http::StatusCode::OK, "ok")
}

/// Readiness: the database answers within 2 s and every migration is applied; 503 while
/// stopping, so a load balancer takes the instance out first.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, description = "Ready for traffic.", body = Health),
        (status = 503, description = "Not ready: `stopping`, or `database_unavailable` (unreachable or migrations missing).", body = Health),
    ),
)]
#[get("/readyz")]
pub async fn readyz(db: web::Data<PgPool>, lifecycle: web::Data<Lifecycle>) -> HttpResponse {
    use actix_web::http::StatusCode;
    if lifecycle.is_stopping() {
        return health(StatusCode::SERVICE_UNAVAILABLE, "stopping");
    }
    if !crate::db::ready(&db).await {
        return health(StatusCode::SERVICE_UNAVAILABLE, "database_unavailable");
    }
    health(StatusCode::OK, "ok")
}

/// Prometheus metrics: requests by route and status, a latency histogram, pool gauges.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "Metrics in the Prometheus text format.", body = String, content_type = "text/plain; version=0.0.4")),
)]
#[get("/metrics")]
pub async fn prometheus_metrics(db: web::Data<PgPool>) -> HttpResponse {
    ::metrics::gauge!("db_pool_connections", "state" => "open").set(f64::from(db.size()));
    ::metrics::gauge!("db_pool_connections", "state" => "idle").set(db.num_idle() as f64);
    let handle = crate::telemetry::metrics();
    handle.run_upkeep();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(handle.render())
}
