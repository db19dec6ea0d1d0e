//! The service desk register (articles 3-14): whoever comes, member of this town or not,
//! whatever their jurisdiction, is registered truthfully and handled. Staff and the
//! committee register and move entries along; a county system reads them. Counselling
//! entries are confidential: only their author and the committee see them.
//!
//! `routes` is the HTTP side, `workflow` the steps of each change in one transaction,
//! `domain` the pure rules (the fields of a visit, the handling's state machine, who sees
//! what), `repo` the SQL.

pub mod domain;
pub mod repo;
mod routes;
pub mod workflow;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the module's routes under `/api/v1/towns/{town}/desk-entries`,
/// with paths relative to it (the scope is built in `startup::routes`).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(routes::register_visit)
        .service(routes::list_entries)
        .service(routes::get_entry)
        .service(routes::change_status);
}
