//! Each change to a certificate, step by step in the caller's transaction: the rules in
//! order, the SQL through `repo`, the audit record. No HTTP here.

use chrono::NaiveDate;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{
    self, Action, Certificate, CertificateDetail, NewCertificate, NewReview, ReturnCertificate,
    RevokeCertificate,
};
use super::repo::{self, Closing};
use crate::audit::{self, Change as Audited};
use crate::auth::Caller;
use crate::error::{ApiError, FieldError};
use crate::http::extract::IfMatch;
use crate::msg;

/// How a certificate is closed, with the request that says so.
#[derive(Debug, Clone, Copy)]
pub enum Change<'a> {
    /// The holder handed it back.
    Return(&'a ReturnCertificate),
    /// The center withdrew it.
    Revoke(&'a RevokeCertificate),
}

/// Issues a certificate to an active member of the town.
pub async fn issue(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    new: &NewCertificate,
) -> Result<CertificateDetail, ApiError> {
    let today = crate::towns::repo::today(tx, town).await?;
    let valid = new.validate(today)?;
    match repo::lock_member_status(tx, town, valid.member_id)
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
    let cert = repo::insert(tx, town, Uuid::now_v7(), &valid, &by.sub, today).await?;
    let data = json!({
        "member_id": cert.member_id,
        "issued_on": cert.issued_on,
        "valid_until": cert.valid_until,
        "status": cert.status,
    });
    audit::record(tx, by, audited(town, "certificate.issued", cert.id, data)).await?;
    Ok(CertificateDetail {
        certificate: cert,
        reviews: Vec::new(),
    })
}

/// A certificate with its reviews, as of today in the town's zone.
pub async fn read(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
) -> Result<CertificateDetail, ApiError> {
    let today = crate::towns::repo::today(conn, town).await?;
    let cert = repo::get(conn, town, id, today)
        .await?
        .ok_or(ApiError::NotFound)?;
    with_reviews(conn, town, cert).await
}

/// Records a yearly review, which may extend the certificate.
pub async fn review(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    id: Uuid,
    if_match: IfMatch,
    new: &NewReview,
) -> Result<CertificateDetail, ApiError> {
    let today = crate::towns::repo::today(tx, town).await?;
    let cert = lock_for(tx, town, id, if_match, Action::Review, today).await?;
    let review = new.validate(cert.issued_on, cert.valid_until, today)?;
    let (recorded, cert) = repo::record_review(tx, town, id, &review, &by.sub, today).await?;
    let data = json!({
        "review_id": recorded.id,
        "reviewed_on": recorded.reviewed_on,
        "previous_valid_until": recorded.previous_valid_until,
        "valid_until": recorded.valid_until,
        "version": cert.version,
    });
    audit::record(tx, by, audited(town, "certificate.reviewed", id, data)).await?;
    with_reviews(tx, town, cert).await
}

/// Returns or revokes a certificate; either makes it final.
pub async fn close(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    id: Uuid,
    if_match: IfMatch,
    change: Change<'_>,
) -> Result<CertificateDetail, ApiError> {
    let today = crate::towns::repo::today(tx, town).await?;
    let action = match change {
        Change::Return(_) => Action::Return,
        Change::Revoke(_) => Action::Revoke,
    };
    let cert = lock_for(tx, town, id, if_match, action, today).await?;
    let how = match change {
        Change::Return(r) => Closing::Returned(r.validate(cert.issued_on, today)?),
        Change::Revoke(r) => Closing::Revoked(today, r.validate()?),
    };
    let cert = repo::close(tx, town, id, &how, &by.sub, today).await?;
    let (name, on) = match &how {
        Closing::Returned(on) => ("certificate.returned", on),
        Closing::Revoked(on, _) => ("certificate.revoked", on),
    };
    let data = json!({ "status": cert.status, "on": on, "version": cert.version });
    audit::record(tx, by, audited(town, name, id, data)).await?;
    with_reviews(tx, town, cert).await
}

/// Locks the certificate for a change and checks `If-Match` (412) and the state
/// machine (409).
async fn lock_for(
    tx: &mut PgConnection,
    town: Uuid,
    id: Uuid,
    if_match: IfMatch,
    action: Action,
    today: NaiveDate,
) -> Result<Certificate, ApiError> {
    let cert = repo::get_for_update(tx, town, id, today)
        .await?
        .ok_or(ApiError::NotFound)?;
    if_match.check(cert.version)?;
    domain::check_action(cert.status, action)?;
    Ok(cert)
}

async fn with_reviews(
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

fn audited(town: Uuid, action: &'static str, id: Uuid, data: serde_json::Value) -> Audited {
    Audited {
        town_id: town,
        action,
        resource_type: "certificate",
        resource_id: id,
        data,
    }
}
