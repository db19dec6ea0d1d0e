//! Organizational relation transfers (组织关系接转, articles 3 and 12): every move of a
//! member's relation is a transfer record, and a member's branch only ever changes by
//! one (the database moves the member when a transfer completes or a letter's receipt
//! comes back).
//!
//! * `internal` (staff, committee): between two branches of the town; completes at once.
//! * `outflow` (committee): out of the town by an introduction letter (介绍信). The member
//!   stays in their branch, and the sending side stays responsible, until the receipt
//!   (回执): then the member is `transferred_out`.
//! * inflow (committee): someone arriving with a letter. Their member record is created
//!   `incoming` (no branch) with the inflow; on the receipt they join `to_branch_id` and
//!   become `active`.
//! * A letter is `issued` until it is `received`, `rejected` (by the other side) or
//!   `revoked` (by the committee), each final. A rejected or revoked inflow leaves the
//!   newcomer's record `incoming` (a later inflow with the same national ID reuses it); a
//!   returning former member's record goes back to `transferred_out`.
//! * Overdue is not stored: an `issued` letter past its `valid_until` in the town's today.
//!
//! `registration`, `intake` and `return` are written by member registration and
//! transformation cases, through [`repo::record`].
//!
//! `routes` is the HTTP side, `workflow` the steps of each change in one transaction,
//! `domain` the pure rules (the fields each kind takes, the letter's states), `repo` the
//! SQL.

pub mod domain;
pub mod repo;
mod routes;
pub mod workflow;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the module's routes under `/api/v1/towns/{town}/members`,
/// with paths relative to it (the scope is built in `startup::routes`).
pub fn configure_members(cfg: &mut ServiceConfig) {
    cfg.service(routes::list_member_transfers)
        .service(routes::create_transfer);
}

/// Registers the module's routes under `/api/v1/towns/{town}/transfers`,
/// with paths relative to it (the scope is built in `startup::routes`).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(routes::list_transfers)
        .service(routes::create_inflow)
        .service(routes::get_transfer)
        .service(routes::receive_letter)
        .service(routes::reject_letter)
        .service(routes::revoke_letter);
}
