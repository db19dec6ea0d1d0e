//! The organizational life of the town's branches (articles 10, 12, 13; issue 14).
//!
//! The center helps every branch hold its organizational life (三会一课 and the rest,
//! by 中国共产党支部工作条例（试行）, 2018). A branch has party groups (党小组) with their
//! members, and officers with terms (its secretary and committee). Its meetings are of
//! the regulated kinds; who is expected is fixed when one is planned (the branch's or the
//! group's active members, plus inflowing and floating members named, art. 12); the roll
//! is recorded once, by the same rules as an activity's roll, and at a center-branch
//! meeting each absence of a member under transformation costs points through the one
//! path that scores rolls ([`crate::activities::workflow::score_absences`], art. 22);
//! the minutes are versions, a correction never overwriting what was recorded.
//!
//! How often each kind must be held is town policy (versioned, [`crate::policy`]); the
//! compliance view measures the meetings held against it per branch and period, also as
//! a CSV/XLSX report for the county.
//!
//! `routes` is the HTTP side, `workflow` the steps of each change in one transaction,
//! `domain` the pure rules, `repo` the SQL.

pub mod domain;
pub mod repo;
mod routes;
pub mod workflow;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the module's routes under `/api/v1/towns/{town}/branches`,
/// with paths relative to it (the scope is built in `startup::routes`).
pub fn configure_branches(cfg: &mut ServiceConfig) {
    cfg.service(routes::create_group)
        .service(routes::list_groups)
        .service(routes::get_group)
        .service(routes::update_group)
        .service(routes::record_officer)
        .service(routes::list_officers)
        .service(routes::branch_compliance);
}

/// Registers the module's routes under `/api/v1/towns/{town}/members`,
/// with paths relative to it (the scope is built in `startup::routes`).
pub fn configure_members(cfg: &mut ServiceConfig) {
    cfg.service(routes::member_meetings);
}

/// Registers the module's routes under `/api/v1/me`,
/// with paths relative to it (the scope is built in `startup::routes`).
pub fn configure_me(cfg: &mut ServiceConfig) {
    cfg.service(routes::my_meetings);
}

/// Registers the module's routes under `/api/v1/towns/{town}/meetings`,
/// with paths relative to it (the scope is built in `startup::routes`).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(routes::create_meeting)
        .service(routes::list_meetings)
        .service(routes::get_meeting)
        .service(routes::record_roll)
        .service(routes::record_minutes)
        .service(routes::list_minutes);
}

/// Registers the module's routes under `/api/v1/towns/{town}/meeting-compliance`,
/// with paths relative to it (the scope is built in `startup::routes`).
pub fn configure_meeting_compliance(cfg: &mut ServiceConfig) {
    cfg.service(routes::town_compliance);
}

/// Registers the module's routes under `/api/v1/towns/{town}/reports`,
/// with paths relative to it (the scope is built in `startup::routes`).
pub fn configure_reports(cfg: &mut ServiceConfig) {
    cfg.service(routes::compliance_report);
}
