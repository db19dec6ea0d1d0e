//! Training cohorts (articles 15-17): the year's 10-15 trainees, selected by the committee
//! from the town's outstanding young members and village reserve cadres, their placements
//! (party lectures, temporary posts, the town's central work) and the cohort's roster.

pub mod domain;
pub mod repo;
mod routes;
pub mod workflow;

pub use self::routes::roster_answer;
use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the module's routes under `/api/v1/me`,
/// with paths relative to it (the scope is built in `startup::routes`).
pub fn configure_me(cfg: &mut ServiceConfig) {
    cfg.service(routes::my_training);
}

/// Registers the module's routes under `/api/v1/towns/{town}/cohorts`,
/// with paths relative to it (the scope is built in `startup::routes`).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(routes::create_cohort)
        .service(routes::list_cohorts)
        .service(routes::get_cohort)
        .service(routes::add_trainee)
        .service(routes::list_trainees)
        .service(routes::remove_trainee)
        .service(routes::confirm_cohort)
        .service(routes::close_cohort)
        .service(routes::add_placement)
        .service(routes::list_placements)
        .service(routes::get_roster);
}
