//! Tasks of transformation cases (art. 21) and members' objections to ledger entries.
//!
//! Staff and the committee assign tasks to a case; a task's outcome is recorded once and
//! writes its ledger entry (+/- one step) in the same transaction. A wrong outcome is fixed
//! by a committee reversal in the ledger, never by editing the task. A member may object to
//! an entry of their own case within the policy's period (through `/me`); the committee
//! upholds the objection (a reversal entry) or rejects it.

//!
//! `routes` is the HTTP side, `workflow` the steps of each change in one transaction,
//! `domain` the pure rules, `repo` the SQL; the points go through the ledger
//! ([`crate::scores`]).

pub mod domain;
pub mod repo;
mod routes;
pub mod workflow;

pub use self::routes::ObjectionQuery;
pub use self::workflow::{lodge_objection, tasks_of_case};

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the module's routes under `/api/v1/towns/{town}/cases`,
/// with paths relative to it (the scope is built in `startup::routes`).
pub fn configure_cases(cfg: &mut ServiceConfig) {
    cfg.service(routes::assign_task)
        .service(routes::list_case_tasks);
}

/// Registers the module's routes under `/api/v1/towns/{town}/tasks`,
/// with paths relative to it (the scope is built in `startup::routes`).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(routes::get_task)
        .service(routes::record_outcome);
}

/// Registers the module's routes under `/api/v1/towns/{town}/objections`,
/// with paths relative to it (the scope is built in `startup::routes`).
pub fn configure_objections(cfg: &mut ServiceConfig) {
    cfg.service(routes::list_objections)
        .service(routes::get_objection)
        .service(routes::decide_objection);
}
