//! `/me`: what a party member sees of themselves through a `member` token.

use actix_web::{HttpResponse, get, web};
use sqlx::PgPool;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::{Auth, Scope, roles};
use crate::error::ApiError;
use crate::members::domain::{Disclosure, Member};
use crate::reply;

/// Registers the `/me` routes.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(me);
}

/// Your own member record.
///
/// The record of the member the token names (`member_id` in `town`), numbers masked.
/// Roles: `member`.
#[utoipa::path(
    tag = "me",
    responses(
        (status = 200, description = "Your record.", body = Member,
         headers(("ETag" = String, description = "The record's version"))),
        (status = 404, description = "`not_found`: the token names no member record of its town.",
         body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["member"])),
)]
#[get("/me")]
async fn me(
    auth: Auth<{ roles::MEMBER }>,
    db: web::Data<PgPool>,
) -> Result<HttpResponse, ApiError> {
    let Scope::Member { town, member_id } = auth.scope else {
        return Err(ApiError::Forbidden);
    };
    let mut conn = db.acquire().await?;
    let today = crate::towns::repo::today(&mut conn, town).await?;
    let row = crate::members::repo::get(&mut conn, town, member_id, today)
        .await?
        .ok_or(ApiError::NotFound)?;
    let member = row.view(Disclosure::Masked);
    Ok(reply::with_etag(&member, member.version))
}
