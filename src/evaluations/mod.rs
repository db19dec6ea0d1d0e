//! Democratic evaluations (民主评议, articles 23-24).
//!
//! The committee schedules an evaluation for a case whose score reached the evaluation
//! threshold, with a date, a place and a fixed panel of evaluators; the evaluation records
//! the policy version in force, whose quorum, majority and failed-evaluation rule decide
//! it. Each evaluator votes once, `qualified` or `not_qualified`, by secret ballot: who
//! voted and how are stored apart (see the migration), nothing shows a single verdict,
//! and the tally is shown only once the committee has closed the evaluation. A pass
//! returns the member's relation to the original branch and concludes the case, in one
//! transaction; a fail leaves the case open for another evaluation later.
//!
//! Evaluators vote with a token of their own: a `staff` or `committee` token of the town
//! whose `sub` is their `subject` on the panel.
//!
//! `routes` is the HTTP side, `workflow` the steps of each change in one transaction
//! (scheduling, a vote, closing on the verdict, calling off), `domain` the pure rules
//! (the panel check, the outcome of a tally), `repo` the SQL.

pub mod domain;
pub mod repo;
mod routes;
pub mod workflow;

pub use self::routes::EvaluationQuery;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the module's routes under `/api/v1/towns/{town}/evaluations`,
/// with paths relative to it (the scope is built in `startup::routes`).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(routes::schedule)
        .service(routes::list_evaluations)
        .service(routes::get_evaluation)
        .service(routes::vote)
        .service(routes::close)
        .service(routes::cancel);
}
