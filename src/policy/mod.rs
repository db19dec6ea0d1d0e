//! A town's policy: the numbers the rules leave open (DOMAIN.md "Policy"), versioned. A
//! change makes a new version; old versions stay, and every ledger entry and evaluation
//! names the version it used.

use utoipa_actix_web::service_config::ServiceConfig;

pub mod domain;
pub mod repo;
mod routes;
pub mod workflow;

pub use self::domain::{Policy, PolicyChange};
pub use self::repo::{create_initial, current, version};

/// Registers the module's routes under `/api/v1/towns/{town}/policy`,
/// with paths relative to it (the scope is built in `startup::routes`).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(routes::get_policy)
        .service(routes::list_versions)
        .service(routes::change_policy);
}
