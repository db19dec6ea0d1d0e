//! Materials (article 10): the catalogue of party reports, books and materials the
//! center keeps, and their loans to the town's branches. A loan takes at most the copies
//! on the shelf; loans past their due day and not returned are listed as overdue. Staff
//! and the committee keep them; a county system reads.
//!
//! `routes` is the HTTP side, `workflow` the steps of each change in one transaction,
//! `domain` the pure rules, `repo` the SQL.

pub mod domain;
pub mod repo;
mod routes;
pub mod workflow;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the module's routes under `/api/v1/towns/{town}/materials`,
/// with paths relative to it (the scope is built in `startup::routes`).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(routes::add_material)
        .service(routes::list_materials)
        .service(routes::get_material)
        .service(routes::update_material)
        .service(routes::lend_material);
}

/// Registers the module's routes under `/api/v1/towns/{town}/material-loans`,
/// with paths relative to it (the scope is built in `startup::routes`).
pub fn configure_material_loans(cfg: &mut ServiceConfig) {
    cfg.service(routes::list_loans)
        .service(routes::get_loan)
        .service(routes::return_loan);
}
