//! One-on-one mentoring (结对教育, art. 18): each staff party member of the center branch
//! mentors one or two trainees (or members under transformation) at a time, and keeps a
//! log of their meetings.

pub mod domain;
pub mod repo;
mod routes;
pub mod workflow;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the module's routes under `/api/v1/towns/{town}/mentorships`,
/// with paths relative to it (the scope is built in `startup::routes`).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(routes::mentor_loads)
        .service(routes::create_mentorship)
        .service(routes::list_mentorships)
        .service(routes::get_mentorship)
        .service(routes::end_mentorship)
        .service(routes::add_log)
        .service(routes::list_logs);
}
