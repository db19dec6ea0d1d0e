//! HTTP plumbing shared by every route: extractors, answers, paging, idempotent writes,
//! file formats of reports, the documented routes, and the health endpoints. Nothing here knows a domain rule.

pub mod extract;
pub mod formats;
pub mod health;
pub mod idempotency;
pub mod paging;
pub mod reply;
pub mod routes;
