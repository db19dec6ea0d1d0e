//! The audit trail's endpoint: HTTP in, a page of the trail, HTTP out.

use actix_web::{get, web};
use sqlx::PgPool;
use uuid::Uuid;

use super::{AuditEntry, AuditQuery, repo};
use crate::auth::{Auth, roles};
use crate::error::ApiError;
use crate::http::paging::{Page, PageParams};

/// Read the audit trail · 查看审计记录
///
/// Every write of the town, newest first: who, with which role, when, by which request,
/// what. Roles: `committee`.
///
/// 本镇的每一次写操作，最新的在前：谁、以什么角色、何时、通过哪个请求、做了什么。
/// 角色：`committee`。
#[utoipa::path(
    operation_id = "list_audit_entries",
    tag = "audit",
    params(("town" = Uuid, Path, description = "The town's id."), AuditQuery, PageParams),
    responses((status = 200, description = "A page of the trail, newest first.", body = Page<AuditEntry>)),
    security(("bearer" = ["committee"])),
)]
#[get("")]
pub(super) async fn list_audit(
    auth: Auth<{ roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    path: web::Path<Uuid>,
    query: web::Query<AuditQuery>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<AuditEntry>>, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    crate::http::extract::check_query_lengths(&[
        ("resource_type", query.resource_type.as_deref(), 50),
        ("actor", query.actor.as_deref(), 200),
    ])?;
    let keyset = page.keyset::<i64>()?;
    let rows = repo::page(&db, town, &query, &keyset).await?;
    Ok(web::Json(Page::from_rows(rows, keyset, |e| e.id)))
}
