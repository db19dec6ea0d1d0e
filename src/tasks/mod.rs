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

/// Registers the task and objection routes.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(routes::assign_task)
        .service(routes::list_case_tasks)
        .service(routes::get_task)
        .service(routes::record_outcome)
        .service(routes::list_objections)
        .service(routes::get_objection)
        .service(routes::decide_objection);
}
