//! `/me`: what a party member sees of themselves through a `member` token: their record,
//! their transformation case with its ledger and tasks, and their objections to entries.

mod routes;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the module's routes under `/api/v1/me`,
/// with paths relative to it (the scope is built in `startup::routes`).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(routes::me)
        .service(routes::my_case)
        .service(routes::my_ledger)
        .service(routes::my_tasks)
        .service(routes::my_objections)
        .service(routes::my_objection)
        .service(routes::object);
}
