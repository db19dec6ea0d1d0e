//! (being written)

use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::ApiError;

/// Registers the routes.
pub fn configure(_cfg: &mut ServiceConfig) {}

/// Client errors for this part's named constraints.
pub fn constraint_error(_constraint: &str) -> Option<ApiError> {
    None
}
