//! A town's calendar: its holidays and the weekend days it works instead, which the
//! working-day rules (the objection period) count by.

pub mod domain;
pub mod repo;
mod routes;
pub mod workflow;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the module's routes under `/api/v1/towns/{town}/calendar`,
/// with paths relative to it (the scope is built in `startup::routes`).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(routes::get_year)
        .service(routes::set_day)
        .service(routes::clear_day);
}
