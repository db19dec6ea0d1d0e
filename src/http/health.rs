//! Liveness, readiness and metrics, for orchestrators and Prometheus. No token needed:
//! they reveal nothing about any town. `/metrics` belongs on an internal network:
//! `PARTY_CENTER_METRICS_BIND` serves it on an address of its own ([`MetricsAddress`]).

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
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

/// Liveness: the process answers · 存活检查
///
/// It does not touch the database.
///
/// 进程能应答即可，不访问数据库。
#[utoipa::path(
    operation_id = "check_liveness",
    tag = "operations",
    responses((status = 200, description = "The process is alive.", body = Health)),
)]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    health(actix_web::http::StatusCode::OK, "ok")
}

/// Readiness: whether this instance takes traffic · 就绪检查
///
/// The database answers within 2 s and every migration is applied; 503 while stopping, so
/// a load balancer takes the instance out first.
///
/// 数据库在 2 秒内应答且所有迁移均已执行；停机过程中答 503，使负载均衡先将本实例摘除。
#[utoipa::path(
    operation_id = "check_readiness",
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

/// Prometheus metrics · Prometheus 监控指标
///
/// Requests by route and status, a latency histogram, pool gauges, the process's CPU,
/// memory and file descriptors, and the build.
///
/// 按路由和状态统计的请求数、延迟直方图、连接池指标、进程的 CPU、内存和文件描述符，以及构建信息。
#[utoipa::path(
    operation_id = "get_metrics",
    tag = "operations",
    responses((status = 200, description = "Metrics in the Prometheus text format, each family with HELP and TYPE. With `PARTY_CENTER_METRICS_BIND` set, served only on that address.", body = String, content_type = "text/plain; version=0.0.4")),
)]
#[get("/metrics")]
pub async fn prometheus_metrics(db: web::Data<PgPool>) -> HttpResponse {
    ::metrics::gauge!("db_pool_connections", "state" => "open").set(f64::from(db.size()));
    ::metrics::gauge!("db_pool_connections", "state" => "idle").set(db.num_idle() as f64);
    let handle = crate::telemetry::metrics();
    handle.run_upkeep();
    let mut text = handle.render();
    text.push_str(&process_metrics());
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(text)
}

/// The process's own figures in the names Prometheus's client libraries use, read from
/// `/proc/self` at each scrape, and the build-info gauge.
fn process_metrics() -> String {
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, help: &str, value: Option<f64>| {
        if let Some(v) = value {
            let _ = write!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}\n"
            );
        }
    };
    let stat = std::fs::read_to_string("/proc/self/stat").ok();
    // The fields after the command name (which may hold spaces, in parentheses).
    let fields: Vec<&str> = stat
        .as_deref()
        .and_then(|s| s.rsplit_once(") "))
        .map(|(_, rest)| rest.split(' ').collect())
        .unwrap_or_default();
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let field = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    // utime and stime are fields 14 and 15 of stat(5), 12 and 13 after the name.
    let cpu = field(11).zip(field(12)).map(|(u, s)| (u + s) / ticks);
    family(
        "process_cpu_seconds_total",
        "counter",
        "Total user and system CPU time spent in seconds.",
        cpu,
    );
    let rss = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
                .map(|kib| kib * 1024.0)
        });
    family(
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory size in bytes.",
        rss,
    );
    let fds = std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|d| d.count() as f64);
    family(
        "process_open_fds",
        "gauge",
        "Number of open file descriptors.",
        fds,
    );
    let started = field(19).zip(boot_time()).map(|(t, boot)| boot + t / ticks);
    family(
        "process_start_time_seconds",
        "gauge",
        "Start time of the process since unix epoch in seconds.",
        started,
    );
    let _ = write!(
        out,
        "# HELP party_center_build_info The version of party-center running (always 1).\n\
         # TYPE party_center_build_info gauge\n\
         party_center_build_info{{version=\"{}\"}} 1\n",
        env!("CARGO_PKG_VERSION")
    );
    out
}

/// When the machine booted, in seconds since the epoch (`btime` of `/proc/stat`).
fn boot_time() -> Option<f64> {
    std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()
}

/// The internal address `/metrics` is served on, when it has one of its own.
#[derive(Debug, Clone, Copy)]
pub struct MetricsAddress(pub SocketAddr);

/// Middleware: with a [`MetricsAddress`], the internal address answers `/metrics` and
/// nothing else, and the public one everything but `/metrics` (404 for what is not
/// served where it was asked).
pub async fn metrics_apart(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if let Some(Some(MetricsAddress(internal))) = req
        .app_data::<web::Data<Option<MetricsAddress>>>()
        .map(|d| *d.get_ref())
    {
        let on_internal = req.app_config().local_addr() == internal;
        if on_internal != (req.path() == "/metrics") {
            let (req, _) = req.into_parts();
            return Ok(ServiceResponse::new(
                req,
                HttpResponse::from_error(crate::error::ApiError::NotFound),
            ));
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}
