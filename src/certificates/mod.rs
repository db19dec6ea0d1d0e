//! Floating party member activity certificates (流动党员活动证, article 12): issued by the
//! center to members of the town who go elsewhere for a while, reviewed yearly, and
//! returned or revoked. Staff and the committee manage them; a county system reads them.
//!
//! A member holds at most one valid certificate: the database refuses an overlapping
//! valid one (`certificates_one_valid`), so concurrent issues cannot both succeed.

pub mod domain;
pub mod repo;

pub use self::repo::holds_valid_certificate;

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use self::domain::{
    Action, Certificate, CertificateDetail, CertificateStatus, NewCertificate, NewReview,
    ReturnCertificate, RevokeCertificate,
};
use self::repo::Closing;
use crate::audit::{self, Change};
use crate::auth::{Auth, Caller, roles};
use crate::error::{ApiError, FieldError};
use crate::http::extract::{IdempotencyKey, IfMatch, Json, etag};
use crate::http::idempotency::{self, Answer, Claim};
use crate::http::paging::{Page, PageParams};
use crate::http::reply;
use crate::msg;

/// Registers the certificate routes.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(issue_certificate)
        .service(list_certificates)
        .service(get_certificate)
        .service(review_certificate)
        .service(return_certificate)
        .service(revoke_certificate);
}

/// Client errors for this part's named constraints.
pub fn constraint_error(constraint: &str) -> Option<ApiError> {
    let e = match constraint {
        "certificates_number_key" => ApiError::conflict(
            "certificate_number_taken",
            msg!(
                "本镇已有该编号的流动党员活动证。",
                "This town has a certificate with this number already."
            ),
        ),
        "certificates_one_valid" => member_has_valid_certificate(),
        "certificates_final" => ApiError::conflict(
            "certificate_not_valid",
            msg!(
                "该流动党员活动证已收回或撤销，不能再更改。",
                "This certificate was returned or revoked and is final."
            ),
        ),
        _ => return None,
    };
    Some(e)
}

fn member_has_valid_certificate() -> ApiError {
    ApiError::conflict(
        "member_has_valid_certificate",
        msg!(
            "该党员已持有有效期重叠的流动党员活动证；须待其过期、收回或撤销后才能再发。",
            "This member holds a certificate valid over these dates: a new one can be issued once it has expired, been returned or been revoked."
        ),
    )
}

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

async fn detail(
    conn: &mut PgConnection,
    town: Uuid,
    certificate: Certificate,
) -> Result<CertificateDetail, ApiError> {
    let reviews = repo::reviews(conn, town, certificate.id).await?;
    Ok(CertificateDetail {
        certificate,
        reviews,
    })
}

/// Locks the certificate for a change and checks `If-Match` (412) and the state
/// machine (409).
async fn lock_for(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
    if_match: IfMatch,
    action: Action,
    today: NaiveDate,
) -> Result<Certificate, ApiError> {
    let cert = repo::get_for_update(conn, town, id, today)
        .await?
        .ok_or(ApiError::NotFound)?;
    if_match.check(cert.version)?;
    domain::check_action(cert.status, action)?;
    Ok(cert)
}

/// Issue a certificate.
///
/// The holder must be an active member of this town without another certificate valid
/// over the same dates: once the old one has expired, been returned or been revoked, a
/// new one can be issued. `issued_on` is not in the future (in the town's zone);
/// `valid_until` is after it and at most one year after it. Roles: `staff`, `committee`.
#[utoipa::path(
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
#[post("/towns/{town}/certificates")]
async fn issue_certificate(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    key: IdempotencyKey,
    body: Json<NewCertificate>,
) -> Result<HttpResponse, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    let mut tx = db.begin().await?;
    let claim = idempotency::claim(&mut tx, &auth, &key, req.path(), &*body).await?;
    if let Claim::Replay(res) = claim {
        return Ok(res);
    }
    let today = crate::towns::repo::today(&mut tx, town).await?;
    let valid = body.validate(today)?;
    match repo::lock_member_status(&mut tx, town, valid.member_id)
        .await?
        .as_deref()
    {
        None => {
            return Err(ApiError::Validation(vec![FieldError::new(
                "member_id",
                "unknown_member",
                msg!("本镇没有该党员。", "This town has no member with this id."),
            )]));
        }
        Some("active") => {}
        Some(_) => {
            return Err(ApiError::conflict(
                "member_not_active",
                msg!(
                    "只能向本镇在册（正常）党员发放流动党员活动证。",
                    "Certificates are issued to active members of the town only."
                ),
            ));
        }
    }
    let cert = repo::insert(&mut tx, town, Uuid::now_v7(), &valid, &auth.sub, today).await?;
    audit::record(
        &mut tx,
        &auth,
        Change {
            town_id: town,
            action: "certificate.issued",
            resource_type: "certificate",
            resource_id: cert.id,
            data: json!({
                "member_id": cert.member_id,
                "issued_on": cert.issued_on,
                "valid_until": cert.valid_until,
                "status": cert.status,
            }),
        },
    )
    .await?;
    let version = cert.version;
    let detail = CertificateDetail {
        certificate: cert,
        reviews: Vec::new(),
    };
    let answer = Answer::created(
        &detail,
        etag(version),
        location(town, detail.certificate.id),
    )?;
    let res = claim.finish(&mut tx, answer).await?;
    tx.commit().await?;
    Ok(res)
}

/// List a town's certificates.
///
/// Filters by status as of today in the town's zone (`expired` are valid certificates
/// whose `valid_until` has passed) and by member. Roles: `staff`, `committee`, `county`.
#[utoipa::path(
    tag = "certificates",
    params(("town" = Uuid, Path, description = "The town's id."), CertificateFilter, PageParams),
    responses((status = 200, description = "A page of certificates, without their reviews.", body = Page<Certificate>)),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/towns/{town}/certificates")]
async fn list_certificates(
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

/// Read a certificate, with its reviews.
///
/// Roles: `staff`, `committee`, `county`.
#[utoipa::path(
    tag = "certificates",
    params(("town" = Uuid, Path, description = "The town's id."), ("certificate" = Uuid, Path, description = "The certificate's id.")),
    responses((status = 200, description = "The certificate and its reviews.", body = CertificateDetail,
               headers(("ETag" = String, description = "The certificate's version")))),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/towns/{town}/certificates/{certificate}")]
async fn get_certificate(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut conn = db.acquire().await?;
    let today = crate::towns::repo::today(&mut conn, town).await?;
    let cert = repo::get(&mut conn, town, id, today)
        .await?
        .ok_or(ApiError::NotFound)?;
    let version = cert.version;
    let detail = detail(&mut conn, town, cert).await?;
    Ok(reply::with_etag(&detail, version))
}

/// Record a yearly review of a certificate.
///
/// The review is kept for good (append-only). With `valid_until` it extends the
/// certificate, to at most one year after `reviewed_on`. Only a certificate in force
/// (`valid`, not expired) is reviewed. Needs `If-Match` with the certificate's ETag.
/// Roles: `staff`, `committee`.
#[utoipa::path(
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
#[post("/towns/{town}/certificates/{certificate}/reviews")]
async fn review_certificate(
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
    let mut tx = db.begin().await?;
    let claim = idempotency::claim(&mut tx, &auth, &key, req.path(), &*body).await?;
    if let Claim::Replay(res) = claim {
        return Ok(res);
    }
    let today = crate::towns::repo::today(&mut tx, town).await?;
    let cert = lock_for(&mut tx, town, id, if_match, Action::Review, today).await?;
    let review = body.validate(cert.issued_on, cert.valid_until, today)?;
    let (recorded, cert) =
        repo::record_review(&mut tx, town, id, &review, &auth.sub, today).await?;
    audit::record(
        &mut tx,
        &auth,
        Change {
            town_id: town,
            action: "certificate.reviewed",
            resource_type: "certificate",
            resource_id: id,
            data: json!({
                "review_id": recorded.id,
                "reviewed_on": recorded.reviewed_on,
                "previous_valid_until": recorded.previous_valid_until,
                "valid_until": recorded.valid_until,
                "version": cert.version,
            }),
        },
    )
    .await?;
    let version = cert.version;
    let detail = detail(&mut tx, town, cert).await?;
    let answer = Answer::created(&detail, etag(version), location(town, id))?;
    let res = claim.finish(&mut tx, answer).await?;
    tx.commit().await?;
    Ok(res)
}

/// Return a certificate.
///
/// The holder hands it back on `returned_on`; the certificate is then final. A valid or
/// an expired certificate can be returned. Needs `If-Match` with the certificate's ETag.
/// Roles: `staff`, `committee`.
#[utoipa::path(
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
#[post("/towns/{town}/certificates/{certificate}/return")]
async fn return_certificate(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    body: Json<ReturnCertificate>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    close(
        &db,
        &auth,
        town,
        id,
        if_match,
        Action::Return,
        |cert, today| Ok(Closing::Returned(body.validate(cert.issued_on, today)?)),
    )
    .await
}

/// Revoke a certificate.
///
/// The center withdraws it today (in the town's zone), with a reason; the certificate is
/// then final. A valid or an expired certificate can be revoked. Needs `If-Match` with
/// the certificate's ETag. Roles: `staff`, `committee`.
#[utoipa::path(
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
#[post("/towns/{town}/certificates/{certificate}/revoke")]
async fn revoke_certificate(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    body: Json<RevokeCertificate>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    close(
        &db,
        &auth,
        town,
        id,
        if_match,
        Action::Revoke,
        |_, today| Ok(Closing::Revoked(today, body.validate()?)),
    )
    .await
}

/// Closes a certificate the way `closing` says (given the locked certificate and the
/// town's today), in one transaction with its audit record.
async fn close(
    db: &PgPool,
    caller: &Caller,
    town: Uuid,
    id: Uuid,
    if_match: IfMatch,
    action: Action,
    closing: impl FnOnce(&Certificate, NaiveDate) -> Result<Closing, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let mut tx = db.begin().await?;
    let today = crate::towns::repo::today(&mut tx, town).await?;
    let cert = lock_for(&mut tx, town, id, if_match, action, today).await?;
    let how = closing(&cert, today)?;
    let cert = repo::close(&mut tx, town, id, &how, &caller.sub, today).await?;
    let (name, on) = match &how {
        Closing::Returned(on) => ("certificate.returned", on),
        Closing::Revoked(on, _) => ("certificate.revoked", on),
    };
    audit::record(
        &mut tx,
        caller,
        Change {
            town_id: town,
            action: name,
            resource_type: "certificate",
            resource_id: id,
            data: json!({ "status": cert.status, "on": on, "version": cert.version }),
        },
    )
    .await?;
    let version = cert.version;
    let detail = detail(&mut tx, town, cert).await?;
    tx.commit().await?;
    Ok(reply::with_etag(&detail, version))
}
