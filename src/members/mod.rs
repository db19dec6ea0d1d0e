//! Members (党员) of a town: registration, reading (sensitive numbers masked), search and
//! filters, changes, and import of a whole roster.
//!
//! `routes` is the HTTP side, `workflow` the steps of each change in one transaction,
//! `domain` the pure rules (national ID and phone numbers, masking, name search),
//! `import` the reading and checking of a roster file, `repo` the SQL.

pub mod domain;
pub mod import;
pub mod repo;
mod routes;
pub mod workflow;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the module's routes under `/api/v1/towns/{town}/members`,
/// with paths relative to it (the scope is built in `startup::routes`).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(routes::create_member)
        .service(routes::import_members)
        .service(routes::list_members)
        .service(routes::get_member)
        .service(routes::update_member);
}
