//! SQL for materials and loans. Functions take a connection so they run inside the
//! caller's transaction.

use chrono::NaiveDate;
use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{Loan, Material, MaterialKind, ValidLoan, ValidMaterial};
use crate::error::ApiError;
use crate::http::paging::Keyset;

/// Inserts a material.
pub async fn insert(
    conn: &mut PgConnection,
    town: Uuid,
    m: &ValidMaterial,
    by: &str,
) -> Result<Material, ApiError> {
    Ok(sqlx::query_as!(
        Material,
        r#"INSERT INTO materials (town_id, id, title, kind, copies, note, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           RETURNING id, town_id, title, kind AS "kind: MaterialKind", copies,
                     0::bigint AS "on_loan!", copies::bigint AS "available!", note,
                     created_by, created_at, updated_at, version"#,
        town,
        Uuid::now_v7(),
        m.title,
        m.kind.as_str(),
        m.copies,
        m.note,
        by,
    )
    .fetch_one(conn)
    .await?)
}

/// One material with what is on loan; `lock` holds its row until the transaction ends,
/// so that loans and changes of the holding count the same copies.
pub async fn get(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<Option<Material>, ApiError> {
    if lock {
        let found = sqlx::query_scalar!(
            "SELECT id FROM materials WHERE town_id = $1 AND id = $2 FOR UPDATE",
            town,
            id
        )
        .fetch_optional(&mut *conn)
        .await?;
        if found.is_none() {
            return Ok(None);
        }
    }
    Ok(sqlx::query_as!(
        Material,
        r#"SELECT m.id, m.town_id, m.title, m.kind AS "kind: MaterialKind", m.copies,
                  l.on_loan AS "on_loan!", m.copies - l.on_loan AS "available!", m.note,
                  m.created_by, m.created_at, m.updated_at, m.version
           FROM materials m,
                LATERAL (SELECT coalesce(sum(copies), 0)::bigint AS on_loan FROM material_loans x
                         WHERE x.town_id = m.town_id AND x.material_id = m.id AND x.returned_on IS NULL) l
           WHERE m.town_id = $1 AND m.id = $2"#,
        town,
        id
    )
    .fetch_optional(conn)
    .await?)
}

/// A page of the catalogue in id order, optionally of one kind or with a title containing `q`.
pub async fn list(
    conn: &mut PgConnection,
    town: Uuid,
    kind: Option<MaterialKind>,
    q: Option<&str>,
    page: Keyset,
) -> Result<Vec<Material>, ApiError> {
    Ok(sqlx::query_as!(
        Material,
        r#"SELECT m.id, m.town_id, m.title, m.kind AS "kind: MaterialKind", m.copies,
                  l.on_loan AS "on_loan!", m.copies - l.on_loan AS "available!", m.note,
                  m.created_by, m.created_at, m.updated_at, m.version
           FROM materials m,
                LATERAL (SELECT coalesce(sum(copies), 0)::bigint AS on_loan FROM material_loans x
                         WHERE x.town_id = m.town_id AND x.material_id = m.id AND x.returned_on IS NULL) l
           WHERE m.town_id = $1 AND m.id > $2
             AND ($3::text IS NULL OR m.kind = $3)
             AND ($4::text IS NULL OR strpos(m.title, $4) > 0)
           ORDER BY m.id LIMIT $5"#,
        town,
        page.after_or_nil(),
        kind.map(MaterialKind::as_str),
        q,
        page.fetch(),
    )
    .fetch_all(conn)
    .await?)
}

/// Writes a material's fields, one version more (the caller holds its lock).
pub async fn update(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
    m: &ValidMaterial,
) -> Result<(), ApiError> {
    sqlx::query!(
        "UPDATE materials SET title = $3, kind = $4, copies = $5, note = $6,
                version = version + 1, updated_at = now()
         WHERE town_id = $1 AND id = $2",
        town,
        id,
        m.title,
        m.kind.as_str(),
        m.copies,
        m.note,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether `branch` is a branch of `town`.
pub async fn branch_exists(
    conn: &mut PgConnection,
    town: Uuid,
    branch: Uuid,
) -> Result<bool, ApiError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM branches WHERE town_id = $1 AND id = $2) AS "e!""#,
        town,
        branch
    )
    .fetch_one(conn)
    .await?)
}

/// Inserts a loan of a material.
pub async fn insert_loan(
    conn: &mut PgConnection,
    town: Uuid,
    material: Uuid,
    l: &ValidLoan,
    by: &str,
) -> Result<Uuid, ApiError> {
    Ok(sqlx::query_scalar!(
        "INSERT INTO material_loans (town_id, id, material_id, branch_id, borrower, copies, lent_on, due_on, lent_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         RETURNING id",
        town,
        Uuid::now_v7(),
        material,
        l.branch_id,
        l.borrower,
        l.copies,
        l.lent_on,
        l.due_on,
        by,
    )
    .fetch_one(conn)
    .await?)
}

/// One loan, with its material's title; `lock` holds its row until the transaction ends.
pub async fn get_loan(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<Option<Loan>, ApiError> {
    if lock {
        let found = sqlx::query_scalar!(
            "SELECT id FROM material_loans WHERE town_id = $1 AND id = $2 FOR UPDATE",
            town,
            id
        )
        .fetch_optional(&mut *conn)
        .await?;
        if found.is_none() {
            return Ok(None);
        }
    }
    Ok(sqlx::query_as!(
        Loan,
        r#"SELECT l.id, l.town_id, l.material_id, m.title, l.branch_id, l.borrower, l.copies, l.lent_on,
                  l.due_on, l.returned_on, false AS "overdue!", l.lent_by, l.returned_by, l.created_at,
                  l.updated_at, l.version
           FROM material_loans l JOIN materials m ON m.town_id = l.town_id AND m.id = l.material_id
           WHERE l.town_id = $1 AND l.id = $2"#,
        town,
        id
    )
    .fetch_optional(conn)
    .await?)
}

/// The filters of the loan list.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoanFilter {
    /// Only loans of this material.
    pub material_id: Option<Uuid>,
    /// Only loans to this branch.
    pub branch_id: Option<Uuid>,
    /// Only loans not returned (`true`) or returned (`false`).
    pub open: Option<bool>,
    /// Only loans overdue on `today`.
    pub overdue: bool,
}

/// A page of a town's loans in id order; overdue as of `today`.
pub async fn list_loans(
    conn: &mut PgConnection,
    town: Uuid,
    f: LoanFilter,
    today: NaiveDate,
    page: Keyset,
) -> Result<Vec<Loan>, ApiError> {
    Ok(sqlx::query_as!(
        Loan,
        r#"SELECT l.id, l.town_id, l.material_id, m.title, l.branch_id, l.borrower, l.copies, l.lent_on,
                  l.due_on, l.returned_on, false AS "overdue!", l.lent_by, l.returned_by, l.created_at,
                  l.updated_at, l.version
           FROM material_loans l JOIN materials m ON m.town_id = l.town_id AND m.id = l.material_id
           WHERE l.town_id = $1 AND l.id > $2
             AND ($3::uuid IS NULL OR l.material_id = $3)
             AND ($4::uuid IS NULL OR l.branch_id = $4)
             AND ($5::boolean IS NULL OR (l.returned_on IS NULL) = $5)
             AND (NOT $6 OR (l.returned_on IS NULL AND l.due_on < $7))
           ORDER BY l.id LIMIT $8"#,
        town,
        page.after_or_nil(),
        f.material_id,
        f.branch_id,
        f.open,
        f.overdue,
        today,
        page.fetch(),
    )
    .fetch_all(conn)
    .await?)
}

/// Records a loan's return, one version more (the caller holds its lock).
pub async fn return_loan(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
    on: NaiveDate,
    by: &str,
) -> Result<(), ApiError> {
    sqlx::query!(
        "UPDATE material_loans SET returned_on = $3, returned_by = $4, version = version + 1, updated_at = now()
         WHERE town_id = $1 AND id = $2",
        town,
        id,
        on,
        by,
    )
    .execute(conn)
    .await?;
    Ok(())
}
