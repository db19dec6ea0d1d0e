//! SQL for the organizational life of the branches. Functions take a connection so they
//! run inside the caller's transaction.

use std::collections::HashSet;

use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{CheckedGroup, Office, Officer, PartyGroup};
use crate::branches::domain::BranchKind;
use crate::error::ApiError;
use crate::http::paging::Keyset;

/// Locks a branch's row for the rest of the transaction (changes to one branch's groups
/// and officers serialize here); its kind, or `None` when the town has no such branch.
pub async fn lock_branch(
    conn: &mut PgConnection,
    town: Uuid,
    branch: Uuid,
) -> Result<Option<BranchKind>, ApiError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT kind AS "kind: BranchKind" FROM branches WHERE town_id = $1 AND id = $2 FOR UPDATE"#,
        town,
        branch
    )
    .fetch_optional(conn)
    .await?)
}

/// The kind of a branch of the town, or `None` when there is no such branch.
pub async fn branch_kind(
    conn: &mut PgConnection,
    town: Uuid,
    branch: Uuid,
) -> Result<Option<BranchKind>, ApiError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT kind AS "kind: BranchKind" FROM branches WHERE town_id = $1 AND id = $2"#,
        town,
        branch
    )
    .fetch_optional(conn)
    .await?)
}

/// Which of `members` are active members of `branch`.
pub async fn active_in_branch(
    conn: &mut PgConnection,
    town: Uuid,
    branch: Uuid,
    members: &[Uuid],
) -> Result<HashSet<Uuid>, ApiError> {
    Ok(sqlx::query_scalar!(
        "SELECT id FROM members WHERE town_id = $1 AND branch_id = $2 AND status = 'active' AND id = ANY($3)",
        town,
        branch,
        members
    )
    .fetch_all(conn)
    .await?
    .into_iter()
    .collect())
}

/// Inserts a group (its members go in with [`replace_group_members`]).
pub async fn insert_group(
    conn: &mut PgConnection,
    town: Uuid,
    branch: Uuid,
    id: Uuid,
    g: &CheckedGroup,
    by: &str,
) -> Result<(), ApiError> {
    sqlx::query!(
        "INSERT INTO party_groups (town_id, id, branch_id, name, created_by) VALUES ($1, $2, $3, $4, $5)",
        town,
        id,
        branch,
        g.name,
        by,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Sets a group's members to `g.member_ids` (a member of another group is refused by
/// the database: `member_in_other_group`) and its leader.
pub async fn replace_group_members(
    conn: &mut PgConnection,
    town: Uuid,
    group: Uuid,
    g: &CheckedGroup,
) -> Result<(), ApiError> {
    sqlx::query!(
        "DELETE FROM party_group_members WHERE town_id = $1 AND group_id = $2 AND NOT (member_id = ANY($3))",
        town,
        group,
        &g.member_ids,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO party_group_members (town_id, group_id, member_id)
         SELECT $1, $2, u.member_id FROM UNNEST($3::uuid[]) AS u(member_id)
         ON CONFLICT (town_id, group_id, member_id) DO NOTHING",
        town,
        group,
        &g.member_ids,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE party_groups SET leader_id = $3 WHERE town_id = $1 AND id = $2",
        town,
        group,
        g.leader_id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Renames a group if it is still at `version` (any, for `None`) and counts the change;
/// `false` when it moved on.
pub async fn bump_group(
    conn: &mut PgConnection,
    town: Uuid,
    group: Uuid,
    version: Option<i64>,
    name: &str,
) -> Result<bool, ApiError> {
    Ok(sqlx::query!(
        "UPDATE party_groups SET name = $4, version = version + 1, updated_at = now()
         WHERE town_id = $1 AND id = $2 AND ($3::bigint IS NULL OR version = $3)",
        town,
        group,
        version,
        name,
    )
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// One group of a branch, with its members.
pub async fn get_group(
    conn: &mut PgConnection,
    town: Uuid,
    branch: Uuid,
    id: Uuid,
) -> Result<Option<PartyGroup>, ApiError> {
    Ok(sqlx::query_as!(
        PartyGroup,
        r#"SELECT g.id, g.branch_id, g.name, g.leader_id,
                  ARRAY(SELECT m.member_id FROM party_group_members m
                        WHERE m.town_id = g.town_id AND m.group_id = g.id ORDER BY m.member_id) AS "member_ids!",
                  g.created_by, g.created_at, g.updated_at, g.version
           FROM party_groups g WHERE g.town_id = $1 AND g.branch_id = $2 AND g.id = $3"#,
        town,
        branch,
        id
    )
    .fetch_optional(conn)
    .await?)
}

/// A page of a branch's groups, in id (creation) order, with their members.
pub async fn list_groups(
    conn: &mut PgConnection,
    town: Uuid,
    branch: Uuid,
    page: Keyset,
) -> Result<Vec<PartyGroup>, ApiError> {
    Ok(sqlx::query_as!(
        PartyGroup,
        r#"SELECT g.id, g.branch_id, g.name, g.leader_id,
                  ARRAY(SELECT m.member_id FROM party_group_members m
                        WHERE m.town_id = g.town_id AND m.group_id = g.id ORDER BY m.member_id) AS "member_ids!",
                  g.created_by, g.created_at, g.updated_at, g.version
           FROM party_groups g WHERE g.town_id = $1 AND g.branch_id = $2 AND g.id > $3
           ORDER BY g.id LIMIT $4"#,
        town,
        branch,
        page.after_or_nil(),
        page.fetch(),
    )
    .fetch_all(conn)
    .await?)
}

/// Inserts an officer's term.
pub async fn insert_officer(
    conn: &mut PgConnection,
    town: Uuid,
    o: &Officer,
) -> Result<(), ApiError> {
    sqlx::query!(
        "INSERT INTO branch_officers (town_id, id, branch_id, member_id, office, term_from, term_to, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        town,
        o.id,
        o.branch_id,
        o.member_id,
        o.office.as_str(),
        o.term_from,
        o.term_to,
        o.created_by,
        o.created_at,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A page of a branch's officers' terms in id (recording) order; with `on`, only the
/// terms that include that day.
pub async fn list_officers(
    conn: &mut PgConnection,
    town: Uuid,
    branch: Uuid,
    on: Option<chrono::NaiveDate>,
    page: Keyset,
) -> Result<Vec<Officer>, ApiError> {
    Ok(sqlx::query_as!(
        Officer,
        r#"SELECT id, branch_id, member_id, office AS "office: Office", term_from, term_to, created_by, created_at
           FROM branch_officers
           WHERE town_id = $1 AND branch_id = $2 AND id > $3
             AND ($4::date IS NULL OR $4 BETWEEN term_from AND term_to)
           ORDER BY id LIMIT $5"#,
        town,
        branch,
        page.after_or_nil(),
        on,
        page.fetch(),
    )
    .fetch_all(conn)
    .await?)
}

/// Every term of a branch that overlaps `from..=to`.
pub async fn overlapping_terms(
    conn: &mut PgConnection,
    town: Uuid,
    branch: Uuid,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Result<Vec<Officer>, ApiError> {
    Ok(sqlx::query_as!(
        Officer,
        r#"SELECT id, branch_id, member_id, office AS "office: Office", term_from, term_to, created_by, created_at
           FROM branch_officers
           WHERE town_id = $1 AND branch_id = $2 AND term_from <= $4 AND $3 <= term_to"#,
        town,
        branch,
        from,
        to,
    )
    .fetch_all(conn)
    .await?)
}
