//! SQL for certificates and their reviews. Functions take a connection so they run inside
//! the caller's transaction. Reads take the town's `today`, so that the status they
//! return is the one of that day (`expired` is never stored).

use chrono::NaiveDate;
use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{
    Certificate, CertificateReview, CertificateStatus, ValidCertificate, ValidReview,
};
use crate::error::ApiError;
use crate::http::paging::Keyset;

/// Whether `member` held a certificate of `town` that was in force on `on`: issued on
/// or before it, valid until it or later, and not returned or revoked by then. Holders
/// are away: they take part in organizational life but have no vote, so they cannot sit
/// on an evaluation panel.
pub async fn holds_valid_certificate(
    conn: &mut PgConnection,
    town: Uuid,
    member: Uuid,
    on: NaiveDate,
) -> Result<bool, ApiError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (
               SELECT 1 FROM certificates
               WHERE town_id = $1 AND member_id = $2
                 AND issued_on <= $3 AND valid_until >= $3
                 AND (status = 'valid'
                      OR (status = 'returned' AND returned_on > $3)
                      OR (status = 'revoked' AND revoked_on > $3))
           ) AS "held!""#,
        town,
        member,
        on
    )
    .fetch_one(conn)
    .await?)
}

/// The status of a member of `town`, locked against change until the transaction ends
/// (`None` when the town has no such member).
pub async fn lock_member_status(
    conn: &mut PgConnection,
    town: Uuid,
    member: Uuid,
) -> Result<Option<String>, ApiError> {
    Ok(sqlx::query_scalar!(
        "SELECT status FROM members WHERE town_id = $1 AND id = $2 FOR SHARE",
        town,
        member
    )
    .fetch_optional(conn)
    .await?)
}

/// Inserts a certificate, valid from `issued_on` to `valid_until`.
pub async fn insert(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
    cert: &ValidCertificate,
    issued_by: &str,
    today: NaiveDate,
) -> Result<Certificate, ApiError> {
    let row = sqlx::query_as!(
        Certificate,
        r#"INSERT INTO certificates (town_id, id, number, member_id, destination, purpose, issued_on,
                                     initial_valid_until, valid_until, issued_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)
           RETURNING id, town_id, number, member_id, destination, purpose, issued_on, initial_valid_until,
                     valid_until, status AS "status: CertificateStatus", returned_on, revoked_on,
                     revocation_reason, issued_by, closed_by, created_at, updated_at, version"#,
        town,
        id,
        cert.number,
        cert.member_id,
        cert.destination,
        cert.purpose,
        cert.issued_on,
        cert.valid_until,
        issued_by,
    )
    .fetch_one(conn)
    .await?;
    Ok(row.as_of(today))
}

/// One certificate of a town, its status as of `today`.
pub async fn get(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
    today: NaiveDate,
) -> Result<Option<Certificate>, ApiError> {
    let row = sqlx::query_as!(
        Certificate,
        r#"SELECT id, town_id, number, member_id, destination, purpose, issued_on, initial_valid_until,
                  valid_until, status AS "status: CertificateStatus", returned_on, revoked_on,
                  revocation_reason, issued_by, closed_by, created_at, updated_at, version
           FROM certificates WHERE town_id = $1 AND id = $2"#,
        town,
        id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|c| c.as_of(today)))
}

/// One certificate of a town, locked for a change until the transaction ends.
pub async fn get_for_update(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
    today: NaiveDate,
) -> Result<Option<Certificate>, ApiError> {
    let row = sqlx::query_as!(
        Certificate,
        r#"SELECT id, town_id, number, member_id, destination, purpose, issued_on, initial_valid_until,
                  valid_until, status AS "status: CertificateStatus", returned_on, revoked_on,
                  revocation_reason, issued_by, closed_by, created_at, updated_at, version
           FROM certificates WHERE town_id = $1 AND id = $2 FOR UPDATE"#,
        town,
        id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|c| c.as_of(today)))
}

/// A page of a town's certificates in id order, optionally only those with `status` as
/// of `today` (computed here, in SQL, so that paging stays exact) or of one member.
pub async fn list(
    conn: &mut PgConnection,
    town: Uuid,
    status: Option<CertificateStatus>,
    member: Option<Uuid>,
    page: Keyset,
    today: NaiveDate,
) -> Result<Vec<Certificate>, ApiError> {
    let rows = sqlx::query_as!(
        Certificate,
        r#"SELECT id, town_id, number, member_id, destination, purpose, issued_on, initial_valid_until,
                  valid_until, status AS "status: CertificateStatus", returned_on, revoked_on,
                  revocation_reason, issued_by, closed_by, created_at, updated_at, version
           FROM certificates
           WHERE town_id = $1 AND id > $2
             AND ($3::uuid IS NULL OR member_id = $3)
             AND ($4::text IS NULL
                  OR CASE WHEN status = 'valid' AND valid_until < $5 THEN 'expired' ELSE status END = $4)
           ORDER BY id LIMIT $6"#,
        town,
        page.after_or_nil(),
        member,
        status.map(CertificateStatus::as_str),
        today,
        page.fetch(),
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|c| c.as_of(today)).collect())
}

/// The reviews of a certificate, in the order of their dates.
pub async fn reviews(
    conn: &mut PgConnection,
    town: Uuid,
    certificate: Uuid,
) -> Result<Vec<CertificateReview>, ApiError> {
    Ok(sqlx::query_as!(
        CertificateReview,
        "SELECT id, certificate_id, reviewed_on, note, reviewer, previous_valid_until, valid_until, created_at
         FROM certificate_reviews WHERE town_id = $1 AND certificate_id = $2
         ORDER BY reviewed_on, id",
        town,
        certificate
    )
    .fetch_all(conn)
    .await?)
}

/// Records a review and applies its validity to the certificate (a new version, even
/// when the validity is kept: the certificate's answer lists its reviews).
pub async fn record_review(
    conn: &mut PgConnection,
    town: Uuid,
    certificate: Uuid,
    review: &ValidReview,
    reviewer: &str,
    today: NaiveDate,
) -> Result<(CertificateReview, Certificate), ApiError> {
    let recorded = sqlx::query_as!(
        CertificateReview,
        "INSERT INTO certificate_reviews (town_id, id, certificate_id, reviewed_on, note, reviewer,
                                          previous_valid_until, valid_until)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         RETURNING id, certificate_id, reviewed_on, note, reviewer, previous_valid_until, valid_until, created_at",
        town,
        Uuid::now_v7(),
        certificate,
        review.reviewed_on,
        review.note,
        reviewer,
        review.previous_valid_until,
        review.valid_until,
    )
    .fetch_one(&mut *conn)
    .await?;
    let cert = sqlx::query_as!(
        Certificate,
        r#"UPDATE certificates SET valid_until = $3, version = version + 1, updated_at = now()
           WHERE town_id = $1 AND id = $2
           RETURNING id, town_id, number, member_id, destination, purpose, issued_on, initial_valid_until,
                     valid_until, status AS "status: CertificateStatus", returned_on, revoked_on,
                     revocation_reason, issued_by, closed_by, created_at, updated_at, version"#,
        town,
        certificate,
        review.valid_until,
    )
    .fetch_one(conn)
    .await?;
    Ok((recorded, cert.as_of(today)))
}

/// How a certificate ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closing {
    /// Handed back on this day.
    Returned(NaiveDate),
    /// Revoked on this day, for this reason.
    Revoked(NaiveDate, String),
}

/// Closes a valid certificate (the caller has checked the state machine; the database
/// refuses to change a closed one anyway).
pub async fn close(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
    closing: &Closing,
    closed_by: &str,
    today: NaiveDate,
) -> Result<Certificate, ApiError> {
    let (status, returned_on, revoked_on, reason) = match closing {
        Closing::Returned(on) => (CertificateStatus::Returned, Some(*on), None, None),
        Closing::Revoked(on, reason) => (
            CertificateStatus::Revoked,
            None,
            Some(*on),
            Some(reason.as_str()),
        ),
    };
    let cert = sqlx::query_as!(
        Certificate,
        r#"UPDATE certificates
           SET status = $3, returned_on = $4, revoked_on = $5, revocation_reason = $6, closed_by = $7,
               version = version + 1, updated_at = now()
           WHERE town_id = $1 AND id = $2
           RETURNING id, town_id, number, member_id, destination, purpose, issued_on, initial_valid_until,
                     valid_until, status AS "status: CertificateStatus", returned_on, revoked_on,
                     revocation_reason, issued_by, closed_by, created_at, updated_at, version"#,
        town,
        id,
        status.as_str(),
        returned_on,
        revoked_on,
        reason,
        closed_by,
    )
    .fetch_one(conn)
    .await?;
    Ok(cert.as_of(today))
}
