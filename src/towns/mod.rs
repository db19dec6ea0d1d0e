//! Towns: the tenants. The admin creates them (each with its center branch); every role
//! reads the towns it covers.
//!
//! `routes` is the HTTP side, `workflow` the steps of each change in one transaction,
//! `domain` the pure rules (codes, names, time zones), `repo` the SQL, including the
//! town's today and zone that every other part reads.

pub mod domain;
pub mod repo;
mod routes;
pub mod workflow;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the towns themselves, directly under `/api/v1`.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(routes::create_town)
        .service(routes::list_towns)
        .service(routes::get_town)
        .service(routes::update_town);
}
