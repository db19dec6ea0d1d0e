//! The HTTP application: routes, middleware, shared state, the server and its shutdown.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use sqlx::PgPool;
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::{AppExt, scope};
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::auth::{DevKey, KeyStore};
use crate::config::ServeSettings;
use crate::db::{Database, Reads};
use crate::http::extract::{BodyLimit, path_error, query_error};
use crate::http::health::{Lifecycle, MetricsAddress, metrics_apart};
use crate::http::routes::{KnownRoutes, check_query, unrouted};

/// Every documented route. The OpenAPI document is generated from exactly this.
///
/// The routes form a tree of scopes, one per resource, so that a request is matched by a
/// few comparisons of a static prefix and a handful of patterns, not by trying each of the
/// 130 patterns in turn (that was a quarter of the CPU a GET cost). Each module registers
/// its handlers with paths relative to its scope; where two modules share a resource's
/// scope (a case's tasks live under `/cases`), the other module's function is named after
/// the scope. The scopes' patterns are written here only; utoipa-actix-web joins them into
/// the documented paths.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(crate::http::health::healthz)
        .service(crate::http::health::readyz)
        .service(crate::http::health::prometheus_metrics)
        .service(
            scope("/api/v1")
                // `/towns` and `/towns/{town}` themselves, before the town's scope (which
                // would otherwise take `/towns/{town}` and find nothing in it).
                .configure(crate::towns::configure)
                .service(
                    scope("/me")
                        .configure(crate::me::configure)
                        .configure(crate::activities::configure_me)
                        .configure(crate::meetings::configure_me)
                        .configure(crate::cohorts::configure_me),
                )
                .service(town_routes()),
        );
}

/// Everything under `/api/v1/towns/{town}`, one scope per resource.
fn town_routes() -> utoipa_actix_web::scope::Scope<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    use crate::*;
    let under = |path: &'static str, parts: &[fn(&mut ServiceConfig)]| {
        parts.iter().fold(scope(path), |s, part| s.configure(part))
    };
    scope("/towns/{town}")
        .service(under(
            "/branches",
            &[branches::configure, meetings::configure_branches],
        ))
        .service(under(
            "/members",
            &[
                members::configure,
                transfers::configure_members,
                meetings::configure_members,
            ],
        ))
        .service(under("/transfers", &[transfers::configure]))
        .service(under("/certificates", &[certificates::configure]))
        .service(under("/desk-entries", &[desk::configure]))
        .service(under("/policy", &[policy::configure]))
        .service(under(
            "/cases",
            &[
                cases::configure,
                tasks::configure_cases,
                reports::configure_cases,
            ],
        ))
        .service(under("/tasks", &[tasks::configure]))
        .service(under("/objections", &[tasks::configure_objections]))
        .service(under("/activities", &[activities::configure]))
        .service(under("/meetings", &[meetings::configure]))
        .service(under(
            "/meeting-compliance",
            &[meetings::configure_meeting_compliance],
        ))
        .service(under(
            "/reports",
            &[
                meetings::configure_reports,
                reports::configure,
                applicants::configure_reports,
            ],
        ))
        .service(under("/evaluations", &[evaluations::configure]))
        .service(under("/cohorts", &[cohorts::configure]))
        .service(under("/mentorships", &[mentorships::configure]))
        .service(under("/audit", &[audit::configure]))
        .service(under("/events", &[events::configure]))
        .service(under("/summary", &[reports::configure_summary]))
        .service(under("/calendar", &[calendar::configure]))
        .service(under("/applicants", &[applicants::configure]))
        .service(under("/materials", &[materials::configure]))
        .service(under(
            "/material-loans",
            &[materials::configure_material_loans],
        ))
}

/// What every worker shares.
#[derive(Clone)]
pub struct State {
    /// The database pool.
    pub pool: PgPool,
    /// Token verification keys.
    pub keys: web::Data<KeyStore>,
    /// Shutdown state.
    pub lifecycle: web::Data<Lifecycle>,
    /// The largest request body.
    pub body_limit: usize,
    /// The OpenAPI document, built and serialized once: each worker serves these bytes
    /// rather than holding a copy of the document (a copy is several MiB).
    pub openapi_json: web::Data<OpenApiJson>,
    /// The documented routes and their query parameters, built once from the document.
    pub known_routes: web::Data<KnownRoutes>,
    /// Wakes long-polling readers of the change feed.
    pub events: web::Data<crate::events::EventBus>,
    /// Reports being made at once (each holds a connection while its client reads).
    pub exports: web::Data<crate::http::formats::ExportSlots>,
    /// Where reports read from (standbys, then the primary).
    pub reads: web::Data<Reads>,
    /// The internal address of `/metrics`, when it is served apart.
    pub metrics: Option<MetricsAddress>,
}

/// The application for one worker.
pub fn app(
    state: State,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<actix_web::body::BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let (app, _) = App::new()
        .into_utoipa_app()
        .configure(routes)
        .split_for_parts();
    app.app_data(web::Data::new(state.pool.clone()))
        .app_data(state.keys.clone())
        .app_data(state.lifecycle.clone())
        .app_data(state.events.clone())
        .app_data(state.exports.clone())
        .app_data(state.reads.clone())
        .app_data(web::Data::new(BodyLimit(state.body_limit)))
        .app_data(web::PathConfig::default().error_handler(path_error))
        .app_data(web::QueryConfig::default().error_handler(query_error))
        .app_data(web::PayloadConfig::default().limit(state.body_limit))
        .app_data(state.openapi_json.clone())
        .route("/api-docs/openapi.json", web::get().to(serve_openapi))
        .service(
            SwaggerUi::new("/docs/{_:.*}").config(
                // The token survives a reload; no call to an outside validator (the
                // town's network may not reach it, and the document is checked in CI).
                Config::new(["/api-docs/openapi.json"])
                    .persist_authorization(true)
                    .validator_url("none")
                    .try_it_out_enabled(true)
                    .display_operation_id(true),
            ),
        )
        .service(web::redirect("/docs", "/docs/"))
        .app_data(state.known_routes.clone())
        .default_service(web::to(unrouted))
        .app_data(web::Data::new(state.metrics))
        .wrap(from_fn(crate::http::reply::not_modified))
        .wrap(from_fn(check_query))
        .wrap(from_fn(metrics_apart))
        .wrap(from_fn(crate::telemetry::around_request))
}

/// What the process does now and then to keep its memory flat, however long it runs.
///
/// - The latency histogram's samples: the Prometheus recorder keeps every sample until
///   its upkeep folds them into the buckets, which otherwise happens only when
///   `/metrics` is scraped. A service nobody scrapes grew by about 8 bytes a request
///   (2-3 MiB a minute under `bench/compare`'s ledger page load).
/// - The allocator's free pages (glibc's `malloc_trim`): glibc gives memory back only
///   from the top of its heaps, so what was freed below stays resident. Each worker
///   registering its routes through utoipa-actix-web builds (and drops) the document's
///   operations, megabytes in small pieces; a burst of large responses leaves its
///   buffers behind. Resident memory at rest: 51 -> 30 MiB.
///
/// Each takes well under a millisecond at this process's size.
async fn housekeeping_every(period: Duration) {
    let mut tick =
        tokio::time::interval_at(tokio::time::Instant::now() + Duration::from_secs(2), period);
    loop {
        tick.tick().await;
        crate::telemetry::metrics().run_upkeep();
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: malloc_trim only releases memory the allocator holds free; it is
        // thread-safe.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}

/// The OpenAPI document as served, serialized once.
pub struct OpenApiJson(actix_web::web::Bytes);

async fn serve_openapi(doc: web::Data<OpenApiJson>) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("application/json")
        .body(doc.0.clone())
}

/// A built server, listening, not yet awaited.
pub struct Application {
    port: u16,
    server: Server,
    lifecycle: web::Data<Lifecycle>,
    shutdown_delay: Duration,
}

impl Application {
    /// Binds the listener and builds the server on an existing pool.
    pub fn build(
        pool: PgPool,
        keys: KeyStore,
        listener: TcpListener,
        serve: &ServeSettings,
    ) -> anyhow::Result<Application> {
        Self::build_reading_from(Reads::primary_only(pool), keys, listener, serve)
    }

    /// Binds the listener and builds the server on the primary's pool, with reports read
    /// from `reads` (standbys, then the primary).
    pub fn build_reading_from(
        reads: Reads,
        keys: KeyStore,
        listener: TcpListener,
        serve: &ServeSettings,
    ) -> anyhow::Result<Application> {
        let pool = reads.primary().clone();
        let port = listener.local_addr()?.port();
        let metrics_listener = serve
            .metrics_bind
            .map(|addr| {
                TcpListener::bind(addr)
                    .with_context(|| format!("cannot listen on {addr} for /metrics"))
            })
            .transpose()?;
        let metrics = metrics_listener
            .as_ref()
            .map(|l| l.local_addr().map(MetricsAddress))
            .transpose()?;
        let lifecycle = web::Data::new(Lifecycle::default());
        let events = crate::events::EventBus::new();
        events.listen(pool.clone());
        // A quarter of the pool at most goes to reports, so a few large exports to slow
        // clients cannot starve every other request of a connection.
        let exports = crate::http::formats::ExportSlots::new(
            pool.options().get_max_connections() as usize / 4,
        );
        let (openapi_json, known_routes) = {
            let doc = crate::openapi::document();
            let json = serde_json::to_vec(&doc).context("serializing the OpenAPI document")?;
            (json, KnownRoutes::from_openapi(&doc))
        };
        let state = State {
            pool,
            keys: web::Data::new(keys),
            lifecycle: lifecycle.clone(),
            body_limit: serve.body_limit,
            openapi_json: web::Data::new(OpenApiJson(openapi_json.into())),
            known_routes: web::Data::new(known_routes),
            events: web::Data::new(events),
            exports: web::Data::new(exports),
            reads: web::Data::new(reads),
            metrics,
        };
        // Touch the recorder so /metrics works from the first request.
        let _ = crate::telemetry::metrics();
        let mut server = HttpServer::new(move || app(state.clone()))
            .listen(listener)
            .context("cannot listen")?
            .shutdown_timeout(serve.shutdown_timeout.as_secs())
            // A client that closes its side of the connection is gone: stop working for it
            // (a report being made for it stops, its connection goes back to the pool).
            .h1_allow_half_closed(false)
            .disable_signals();
        if let Some(l) = metrics_listener {
            server = server.listen(l).context("cannot listen for /metrics")?;
        }
        if let Some(workers) = serve.workers {
            server = server.workers(workers);
        }
        Ok(Application {
            port,
            server: server.run(),
            lifecycle,
            shutdown_delay: serve.shutdown_delay,
        })
    }

    /// The port the server listens on (useful when bound to port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle that stops the server.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Runs until SIGINT or SIGTERM, then: `/readyz` turns 503, new connections stop
    /// after the configured delay, in-flight requests are answered, and it returns.
    pub async fn run_until_signalled(self) -> anyhow::Result<()> {
        let handle = self.server.handle();
        let lifecycle = self.lifecycle.clone();
        let delay = self.shutdown_delay;
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutdown requested: draining");
            lifecycle.begin_shutdown();
            tokio::time::sleep(delay).await;
            handle.stop(true).await;
        });
        self.server.await.context("the HTTP server failed")
    }

    /// Runs until stopped through [`Application::handle`] (tests).
    pub async fn run(self) -> std::io::Result<()> {
        self.server.await
    }
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

/// `party-center serve`: open the database, migrate, serve until a signal, stop.
pub async fn serve(
    settings: &crate::config::Settings,
    serve: &ServeSettings,
) -> anyhow::Result<()> {
    let db = Database::open(settings).await?;
    if serve.migrate {
        crate::db::migrate(&db.pool).await?;
    }
    // Only once the database is there: a server that cannot start leaves no key behind.
    let keys = KeyStore::from_settings(settings, DevKey::Create)?;
    let purge = tokio::spawn(purge_idempotency_keys(db.pool.clone()));
    let housekeeping = tokio::spawn(housekeeping_every(Duration::from_secs(5)));
    let listener = TcpListener::bind(serve.bind)
        .with_context(|| format!("cannot listen on {}", serve.bind))?;
    let app = Application::build_reading_from(db.reads(), keys, listener, serve)?;
    tracing::info!(
        address = %serve.bind,
        embedded_database = db.embedded.is_some(),
        read_only_servers = db.standbys.len(),
        "party-center is serving; API docs at /docs/"
    );
    let result = app.run_until_signalled().await;
    purge.abort();
    housekeeping.abort();
    db.stop().await?;
    tracing::info!("stopped");
    result
}

/// Idempotency records are kept 24 hours; removed hourly.
async fn purge_idempotency_keys(pool: PgPool) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        match crate::http::idempotency::purge_expired(&pool, Duration::from_secs(24 * 3600)).await {
            Ok(n) if n > 0 => tracing::info!(removed = n, "purged expired idempotency keys"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "purging idempotency keys failed"),
        }
    }
}
