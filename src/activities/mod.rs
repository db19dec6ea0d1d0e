//! Activities and attendance rolls (articles 14, 17, 22).
//!
//! Staff and the committee plan activities (meetings, party lectures, organizational
//! life, cultural activities, central work) with who must attend: the members under
//! transformation, trainees and anyone else named. The roll is sent once, as one batch,
//! and is complete: one line for every required member. Each absence of a member under
//! transformation costs one step (art. 22: -0.5), an excused leave only when the policy
//! says so; the lines and their ledger entries are written set-based, in the roll's
//! transaction, under the activity's row lock, so that concurrent rolls never score twice.
//! A recorded roll never changes: sending it again changes nothing, sending another one
//! is a 409, and wrong points are corrected by a committee reversal in the case's ledger.

//!
//! `routes` is the HTTP side, `workflow` the steps of each change in one transaction,
//! `domain` the pure rules, `repo` the SQL; the points go through the ledger
//! ([`crate::scores`]), which alone decides whether a line can cost them.

pub mod domain;
pub mod repo;
mod routes;
pub mod workflow;

pub use self::routes::ActivityQuery;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the module's routes under `/api/v1/towns/{town}/activities`,
/// with paths relative to it (the scope is built in `startup::routes`).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(routes::create_activity)
        .service(routes::list_activities)
        .service(routes::get_activity)
        .service(routes::record_roll);
}

/// Registers the module's routes under `/api/v1/me`,
/// with paths relative to it (the scope is built in `startup::routes`).
pub fn configure_me(cfg: &mut ServiceConfig) {
    cfg.service(routes::my_activities);
}
