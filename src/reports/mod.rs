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

/// Registers the routes.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(routes::summary)
        .service(routes::score_history)
        .configure(exports::configure);
}
