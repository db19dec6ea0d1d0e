//! Branches (支部) of a town. The committee and the admin manage them; every role reads
//! the branches of the towns it covers. The center branch comes with the town.
//!
//! `routes` is the HTTP side, `workflow` the steps of each change in one transaction,
//! `domain` the pure rules (names, kinds, the center branch's permanence), `repo` the SQL.

pub mod domain;
pub mod repo;
mod routes;
pub mod workflow;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the module's routes under `/api/v1/towns/{town}/branches`,
/// with paths relative to it (the scope is built in `startup::routes`).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(routes::create_branch)
        .service(routes::list_branches)
        .service(routes::get_branch)
        .service(routes::update_branch);
}
