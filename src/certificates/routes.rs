//! The certificate endpoints: HTTP in, a workflow call, HTTP out.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use sqlx::PgPool;
use utoipa::IntoParams;
use uuid::Uuid;

use super::domain::{
    Certificate, CertificateDetail, CertificateStatus, NewCertificate, NewReview,
    ReturnCertificate, RevokeCertificate,
};
use super::repo;
use super::workflow::{self, Change};
use crate::auth::{Auth, roles};
use crate::error::ApiError;
use crate::http::extract::{IdempotencyKey, IfMatch, Json, etag};
use crate::http::idempotency::{Answer, idempotent};
use crate::http::paging::{Page, PageParams};
use crate::http::reply;

/// Filters of the certificate list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CertificateFilter {
    /// Only certificates with this status today (in the town's zone): `expired` are the
    /// valid ones whose `valid_until` has passed, and `valid` excludes them.
    pub status: Option<CertificateStatus>,
    /// Only the certificates of this member.
    pub member_id: Option<Uuid>,
}

fn location(town: Uuid, id: Uuid) -> String {
    format!("/api/v1/towns/{town}/certificates/{id}")
}

/// The 201 of a change that answers with the certificate and its reviews.
fn created(town: Uuid, detail: &CertificateDetail) -> Result<Answer, ApiError> {
    let c = &detail.certificate;
    Answer::created(detail, etag(c.version), location(town, c.id))
}

/// Issue a certificate · 发放流动党员活动证
///
/// The holder must be an active member of this town without another certificate valid
/// over the same dates: once the old one has expired, been returned or been revoked, a
/// new one can be issued. `issued_on` is not in the future (in the town's zone);
/// `valid_until` is after it and at most one year after it. Roles: `staff`, `committee`.
///
/// 持证人须是本镇正常在册的党员，且在同一期间没有另一本有效的活动证：原证过期、交回或收回后，才能发放新证。
/// `issued_on` 不能晚于今天（本镇时区）；
/// `valid_until` 须在其后，且最多为其后一年。
/// 角色：`staff`、`committee`。
#[utoipa::path(
    operation_id = "issue_certificate",
    tag = "certificates",
    params(("town" = Uuid, Path, description = "The town's id.")),
    request_body = NewCertificate,
    responses(
        (status = 201, description = "The certificate was issued.", body = CertificateDetail,
         headers(("ETag" = String, description = "The certificate's version"), ("Location" = String, description = "The certificate's URL"))),
        (status = 409, description = "`certificate_number_taken`: the town has a certificate with this number; `member_has_valid_certificate`: the member holds a certificate valid over these dates; `member_not_active`: the member is not an active member of the town.", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `issued_on` in the future (`in_future`) or before 1921-07-01 (`too_early`), `valid_until` not after `issued_on` (`not_after_issued_on`) or more than a year after it (`over_one_year`), `member_id` not a member of the town (`unknown_member`), or a text blank, too long or with control characters; `idempotency_key_reused`.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["staff", "committee"])),
)]
#[post("")]
pub(super) async fn issue_certificate(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    key: IdempotencyKey,
    body: Json<NewCertificate>,
) -> Result<HttpResponse, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    idempotent(&db, &auth, &key, &req, &*body, async |tx| {
        created(town, &workflow::issue(tx, &auth, town, &body).await?)
    })
    .await
}

/// List a town's certificates · 列出本镇的流动党员活动证
///
/// Filters by status as of today in the town's zone (`expired` are valid certificates
/// whose `valid_until` has passed) and by member. Roles: `staff`, `committee`, `county`.
///
/// 可按状态（以本镇时区的今天为准；
/// `expired` 指 `valid_until` 已过的有效证）和党员筛选。
/// 角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "list_certificates",
    tag = "certificates",
    params(("town" = Uuid, Path, description = "The town's id."), CertificateFilter, PageParams),
    responses((status = 200, description = "A page of certificates, without their reviews.", body = Page<Certificate>)),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("")]
pub(super) async fn list_certificates(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<Uuid>,
    filter: web::Query<CertificateFilter>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<Certificate>>, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    let keyset = page.keyset()?;
    let mut conn = db.acquire().await?;
    let today = crate::towns::repo::today(&mut conn, town).await?;
    let rows = repo::list(
        &mut conn,
        town,
        filter.status,
        filter.member_id,
        keyset,
        today,
    )
    .await?;
    Ok(web::Json(Page::from_rows(rows, keyset, |c| c.id)))
}

/// Read a certificate, with its reviews · 查看活动证及其年度审核记录
///
/// Roles: `staff`, `committee`, `county`.
///
/// 角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "get_certificate",
    tag = "certificates",
    params(("town" = Uuid, Path, description = "The town's id."), ("certificate" = Uuid, Path, description = "The certificate's id.")),
    responses((status = 200, description = "The certificate and its reviews.", body = CertificateDetail,
               headers(("ETag" = String, description = "The certificate's version")))),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/{certificate}")]
pub(super) async fn get_certificate(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut conn = db.acquire().await?;
    let detail = workflow::read(&mut conn, town, id).await?;
    Ok(reply::with_etag(&detail, detail.certificate.version))
}

/// Record a yearly review of a certificate · 记录活动证的年度审核
///
/// The review is kept for good (append-only). With `valid_until` it extends the
/// certificate, to at most one year after `reviewed_on`. Only a certificate in force
/// (`valid`, not expired) is reviewed. Needs `If-Match` with the certificate's ETag.
/// Roles: `staff`, `committee`.
///
/// 审核记录永久保存（只增不改）。
/// 带 `valid_until` 时延长活动证，最多延至 `reviewed_on` 之后一年。
/// 只能审核在有效期内的活动证（`valid`，未过期）。
/// 需带 `If-Match`（该证的 ETag）。角色：`staff`、`committee`。
#[utoipa::path(
    operation_id = "review_certificate",
    tag = "certificates",
    params(
        ("town" = Uuid, Path, description = "The town's id."),
        ("certificate" = Uuid, Path, description = "The certificate's id."),
    ),
    request_body = NewReview,
    responses(
        (status = 201, description = "The review was recorded; the answer is the certificate with its reviews.", body = CertificateDetail,
         headers(("ETag" = String, description = "The certificate's new version"), ("Location" = String, description = "The certificate's URL"))),
        (status = 409, description = "`certificate_not_valid`: the certificate is expired, returned or revoked.", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `reviewed_on` in the future (`in_future`) or before the issue date (`before_issued_on`), `valid_until` not after the current one (`not_an_extension`) or more than a year after `reviewed_on` (`over_one_year`), `note` blank, too long or with control characters; `idempotency_key_reused`.", body = crate::error::Problem, content_type = "application/problem+json"),
                (status = 428, description = "`precondition_required`: `If-Match` is missing.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["staff", "committee"])),
)]
#[post("/{certificate}/reviews")]
pub(super) async fn review_certificate(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
    key: IdempotencyKey,
    if_match: IfMatch,
    body: Json<NewReview>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    idempotent(&db, &auth, &key, &req, &*body, async |tx| {
        created(
            town,
            &workflow::review(tx, &auth, town, id, if_match, &body).await?,
        )
    })
    .await
}

/// Return a certificate · 交回活动证
///
/// The holder hands it back on `returned_on`; the certificate is then final. A valid or
/// an expired certificate can be returned. Needs `If-Match` with the certificate's ETag.
/// Roles: `staff`, `committee`.
///
/// 持证人于 `returned_on` 交回，此后该证即为定论。有效或已过期的活动证均可交回。
/// 需带 `If-Match`（该证的 ETag）。角色：`staff`、`committee`。
#[utoipa::path(
    operation_id = "return_certificate",
    tag = "certificates",
    params(
        ("town" = Uuid, Path, description = "The town's id."),
        ("certificate" = Uuid, Path, description = "The certificate's id."),
    ),
    request_body = ReturnCertificate,
    responses(
        (status = 200, description = "The returned certificate, with its reviews.", body = CertificateDetail,
         headers(("ETag" = String, description = "The certificate's new version"))),
        (status = 409, description = "`certificate_not_valid`: the certificate was returned or revoked already.", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `returned_on` in the future (`in_future`) or before the issue date (`before_issued_on`).", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 428, description = "`precondition_required`: `If-Match` is missing.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["staff", "committee"])),
)]
#[post("/{certificate}/return")]
pub(super) async fn return_certificate(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    body: Json<ReturnCertificate>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let change = Change::Return(&body);
    let mut tx = db.begin().await?;
    let detail = workflow::close(&mut tx, &auth, town, id, if_match, change).await?;
    tx.commit().await?;
    Ok(reply::with_etag(&detail, detail.certificate.version))
}

/// Revoke a certificate · 收回活动证
///
/// The center withdraws it today (in the town's zone), with a reason; the certificate is
/// then final. A valid or an expired certificate can be revoked. Needs `If-Match` with
/// the certificate's ETag. Roles: `staff`, `committee`.
///
/// 中心于今天（本镇时区）收回，须写明理由；此后该证即为定论。有效或已过期的活动证均可收回。
/// 需带 `If-Match`（该证的 ETag）。角色：`staff`、`committee`。
#[utoipa::path(
    operation_id = "revoke_certificate",
    tag = "certificates",
    params(
        ("town" = Uuid, Path, description = "The town's id."),
        ("certificate" = Uuid, Path, description = "The certificate's id."),
    ),
    request_body = RevokeCertificate,
    responses(
        (status = 200, description = "The revoked certificate, with its reviews.", body = CertificateDetail,
         headers(("ETag" = String, description = "The certificate's new version"))),
        (status = 409, description = "`certificate_not_valid`: the certificate was returned or revoked already.", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `reason` blank, too long or with control characters.", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 428, description = "`precondition_required`: `If-Match` is missing.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["staff", "committee"])),
)]
#[post("/{certificate}/revoke")]
pub(super) async fn revoke_certificate(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    body: Json<RevokeCertificate>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let change = Change::Revoke(&body);
    let mut tx = db.begin().await?;
    let detail = workflow::close(&mut tx, &auth, town, id, if_match, change).await?;
    tx.commit().await?;
    Ok(reply::with_etag(&detail, detail.certificate.version))
}
