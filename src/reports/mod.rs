//! Read-outs for county systems and committee screens: a town's summary, and a case's
//! score over time (as data, or as an SVG chart with the two thresholds drawn).

use utoipa_actix_web::service_config::ServiceConfig;

pub mod chart;
pub mod domain;
pub mod exports;
pub mod repo;
mod routes;
pub mod workflow;

pub use self::domain::{ChartFormat, ChartQuery, ScoreHistory, ScorePoint, TownSummary};

/// Registers the module's routes under `/api/v1/towns/{town}/cases`,
/// with paths relative to it (the scope is built in `startup::routes`).
pub fn configure_cases(cfg: &mut ServiceConfig) {
    cfg.service(routes::score_history);
}

/// Registers the module's routes under `/api/v1/towns/{town}/reports`,
/// with paths relative to it (the scope is built in `startup::routes`).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.configure(exports::configure);
}

/// Registers the module's routes under `/api/v1/towns/{town}/summary`,
/// with paths relative to it (the scope is built in `startup::routes`).
pub fn configure_summary(cfg: &mut ServiceConfig) {
    cfg.service(routes::summary);
}
