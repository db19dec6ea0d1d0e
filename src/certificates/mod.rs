//! Floating party member activity certificates (流动党员活动证, article 12): issued by the
//! center to members of the town who go elsewhere for a while, reviewed yearly, and
//! returned or revoked. Staff and the committee manage them; a county system reads them.
//!
//! A member holds at most one valid certificate: the database refuses an overlapping
//! valid one (`certificates_one_valid`), so concurrent issues cannot both succeed.
//!
//! `routes` is the HTTP side, `workflow` the steps of each change in one transaction,
//! `domain` the pure rules, `repo` the SQL.

pub mod domain;
pub mod repo;
mod routes;
pub mod workflow;

pub use self::repo::holds_valid_certificate;
pub use self::routes::CertificateFilter;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the module's routes under `/api/v1/towns/{town}/certificates`,
/// with paths relative to it (the scope is built in `startup::routes`).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(routes::issue_certificate)
        .service(routes::list_certificates)
        .service(routes::get_certificate)
        .service(routes::review_certificate)
        .service(routes::return_certificate)
        .service(routes::revoke_certificate);
}
