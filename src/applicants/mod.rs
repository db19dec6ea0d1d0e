//! Member development (发展党员, article 13): the pipeline of 中国共产党发展党员工作细则
//! (2014) that a branch follows with the center's help, from a written application to
//! full membership. Staff record the steps; the committee decides candidacies, approvals,
//! extensions and conversions; a county system reads.
//!
//! The approval makes the member record (standing `probationary`), the conversion makes
//! it `full`: both are changes of the member on the feed and in the audit trail.
//!
//! `routes` is the HTTP side, `workflow` the steps of each change in one transaction,
//! `domain` the pure rules, `repo` the SQL.

pub mod domain;
pub mod repo;
mod routes;
pub mod workflow;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the module's routes under `/api/v1/towns/{town}/reports`,
/// with paths relative to it (the scope is built in `startup::routes`).
pub fn configure_reports(cfg: &mut ServiceConfig) {
    cfg.service(routes::development_report)
        .service(routes::development_overdue_report);
}

/// Registers the module's routes under `/api/v1/towns/{town}/applicants`,
/// with paths relative to it (the scope is built in `startup::routes`).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(routes::register_applicant)
        .service(routes::list_applicants)
        .service(routes::get_applicant)
        .service(routes::record_step);
}
