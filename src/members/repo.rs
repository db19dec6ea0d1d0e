//! SQL for members. Functions take a connection so they run inside the caller's transaction.

use chrono::NaiveDate;
use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{MemberRow, MemberStatus, NameSearch, Standing, ValidMember, ValidPatch};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::http::paging::Keyset;

/// The filters of the member list, checked.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only members now in this branch.
    pub branch_id: Option<Uuid>,
    /// Only members living in this village (exact name).
    pub village: Option<String>,
    /// Only members with this status.
    pub status: Option<MemberStatus>,
    /// Reserve cadres only (or none).
    pub reserve_cadre: Option<bool>,
    /// Outstanding young members only (or none).
    pub outstanding_young: Option<bool>,
    /// Only members whose name contains this text.
    pub name: Option<NameSearch>,
    /// Holders of a valid floating member certificate only (or none).
    pub floating: Option<bool>,
    /// Members with an open transformation case only (or none).
    pub under_transformation: Option<bool>,
    /// Only probationary or only full members.
    pub standing: Option<Standing>,
}

/// Inserts a member in their first branch. The caller records the registration transfer
/// in the same transaction.
pub async fn insert(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
    m: &ValidMember,
) -> Result<MemberRow, ApiError> {
    Ok(sqlx::query_as!(
        MemberRow,
        r#"INSERT INTO members (town_id, id, name, national_id, phone, village, branch_id, joined_party_on,
                                reserve_cadre, outstanding_young)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           RETURNING id, town_id, name, national_id, phone, village, branch_id, status AS "status: MemberStatus",
                     joined_party_on, standing AS "standing: Standing", full_member_since,
                     reserve_cadre, outstanding_young, created_at, updated_at, version,
                     false AS "floating!", false AS "under_transformation!""#,
        town,
        id,
        m.name,
        m.national_id.as_str(),
        m.phone.as_ref().map(|p| p.as_str()),
        m.village,
        m.branch_id,
        m.joined_party_on,
        m.reserve_cadre,
        m.outstanding_young,
    )
    .fetch_one(conn)
    .await?)
}

/// One member of a town; `today` (in the town's zone) decides whether a certificate is
/// still valid.
pub async fn get(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
    today: NaiveDate,
) -> Result<Option<MemberRow>, ApiError> {
    Ok(sqlx::query_as!(
        MemberRow,
        r#"SELECT id, town_id, name, national_id, phone, village, branch_id, status AS "status: MemberStatus",
                  joined_party_on, standing AS "standing: Standing", full_member_since,
                     reserve_cadre, outstanding_young, created_at, updated_at, version,
                  EXISTS (SELECT 1 FROM certificates c WHERE c.town_id = members.town_id AND c.member_id = members.id
                          AND c.status = 'valid' AND c.valid_until >= $3) AS "floating!",
                  EXISTS (SELECT 1 FROM cases k WHERE k.town_id = members.town_id AND k.member_id = members.id
                          AND k.status <> 'concluded') AS "under_transformation!"
           FROM members WHERE town_id = $1 AND id = $2"#,
        town,
        id,
        today,
    )
    .fetch_optional(conn)
    .await?)
}

/// A page of a town's members matching `filter`, in id order, with one statement: "today"
/// (whether a certificate is still valid) is the town's date, read by the statement
/// itself. The name search uses the GIN index of name grams, then rechecks the
/// substring. Each `EXISTS` ends in `OFFSET 0`, which keeps PostgreSQL from turning it
/// into a hash of every open case (or valid certificate) of every town, built on each
/// call: the page probes an index per member instead, so its cost does not grow with
/// the rest of the database.
pub async fn list(
    conn: &mut PgConnection,
    town: Uuid,
    filter: &Filter,
    page: Keyset,
) -> Result<Vec<MemberRow>, ApiError> {
    let (grams, needle) = match &filter.name {
        Some(s) => (Some(s.grams.clone()), Some(s.needle.clone())),
        None => (None, None),
    };
    Ok(sqlx::query_as!(
        MemberRow,
        r#"WITH today AS (SELECT (now() AT TIME ZONE time_zone)::date AS d FROM towns WHERE id = $1)
           SELECT id, town_id, name, national_id, phone, village, branch_id, status AS "status: MemberStatus",
                  joined_party_on, standing AS "standing: Standing", full_member_since,
                     reserve_cadre, outstanding_young, created_at, updated_at, version,
                  EXISTS (SELECT 1 FROM certificates c WHERE c.town_id = members.town_id AND c.member_id = members.id
                          AND c.status = 'valid' AND c.valid_until >= (SELECT d FROM today) OFFSET 0) AS "floating!",
                  EXISTS (SELECT 1 FROM cases k WHERE k.town_id = members.town_id AND k.member_id = members.id
                          AND k.status <> 'concluded' OFFSET 0) AS "under_transformation!"
           FROM members
           WHERE town_id = $1 AND id > $2
             AND ($3::uuid IS NULL OR branch_id = $3)
             AND ($4::text IS NULL OR village = $4)
             AND ($5::text IS NULL OR status = $5)
             AND ($6::bool IS NULL OR reserve_cadre = $6)
             AND ($7::bool IS NULL OR outstanding_young = $7)
             AND ($8::text[] IS NULL OR name_grams @> $8)
             AND ($9::text IS NULL OR strpos(lower(name), $9) > 0)
             AND ($11::bool IS NULL OR $11 = EXISTS (
                     SELECT 1 FROM certificates c WHERE c.town_id = members.town_id AND c.member_id = members.id
                       AND c.status = 'valid' AND c.valid_until >= (SELECT d FROM today) OFFSET 0))
             AND ($12::bool IS NULL OR $12 = EXISTS (
                     SELECT 1 FROM cases k WHERE k.town_id = members.town_id AND k.member_id = members.id
                       AND k.status <> 'concluded' OFFSET 0))
             AND ($13::text IS NULL OR standing = $13)
           ORDER BY id LIMIT $10"#,
        town,
        page.after_or_nil(),
        filter.branch_id,
        filter.village,
        filter.status.map(MemberStatus::as_str),
        filter.reserve_cadre,
        filter.outstanding_young,
        grams.as_deref(),
        needle,
        page.fetch(),
        filter.floating,
        filter.under_transformation,
        filter.standing.map(Standing::as_str),
    )
    .fetch_all(conn)
    .await?)
}

/// Applies a checked change if the member is still at `version` (any, for `None`).
pub async fn update(
    conn: &mut PgConnection,
    town: Uuid,
    id: Uuid,
    version: Option<i64>,
    p: &ValidPatch,
    today: NaiveDate,
) -> Result<MemberRow, ApiError> {
    let updated = sqlx::query_as!(
        MemberRow,
        r#"UPDATE members SET
               name = COALESCE($4, name),
               phone = COALESCE($5, phone),
               village = COALESCE($6, village),
               joined_party_on = COALESCE($7, joined_party_on),
               reserve_cadre = COALESCE($8, reserve_cadre),
               outstanding_young = COALESCE($9, outstanding_young),
               version = version + 1,
               updated_at = now()
           WHERE town_id = $1 AND id = $2 AND ($3::bigint IS NULL OR version = $3)
           RETURNING id, town_id, name, national_id, phone, village, branch_id, status AS "status: MemberStatus",
                     joined_party_on, standing AS "standing: Standing", full_member_since,
                     reserve_cadre, outstanding_young, created_at, updated_at, version,
                     EXISTS (SELECT 1 FROM certificates c WHERE c.town_id = members.town_id AND c.member_id = members.id
                          AND c.status = 'valid' AND c.valid_until >= $10) AS "floating!",
                     EXISTS (SELECT 1 FROM cases k WHERE k.town_id = members.town_id AND k.member_id = members.id
                          AND k.status <> 'concluded') AS "under_transformation!""#,
        town,
        id,
        version,
        p.name,
        p.phone.as_ref().map(|p| p.as_str()),
        p.village,
        p.joined_party_on,
        p.reserve_cadre,
        p.outstanding_young,
        today,
    )
    .fetch_optional(&mut *conn)
    .await?;
    match updated {
        Some(m) => Ok(m),
        None if get(conn, town, id, today).await?.is_some() => Err(ApiError::PreconditionFailed),
        None => Err(ApiError::NotFound),
    }
}

/// What a roster import checks against: the town's branches (name, id), and the national
/// ID number and phone of every member registered in the town.
pub async fn roster_facts(
    conn: &mut PgConnection,
    town: Uuid,
) -> Result<(Vec<(String, Uuid)>, Vec<(String, Option<String>)>), ApiError> {
    let branches = sqlx::query!("SELECT id, name FROM branches WHERE town_id = $1", town)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|b| (b.name, b.id))
        .collect();
    let members = sqlx::query!(
        "SELECT national_id, phone FROM members WHERE town_id = $1",
        town
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|m| (m.national_id, m.phone))
    .collect();
    Ok((branches, members))
}

/// Writes every member, their registration transfers and their audit records with three
/// set-based statements, whatever the number of rows; the new ids, in the order of
/// `members`.
pub async fn insert_imported(
    conn: &mut PgConnection,
    caller: &Caller,
    town: Uuid,
    today: NaiveDate,
    members: &[ValidMember],
) -> Result<Vec<Uuid>, ApiError> {
    let ids: Vec<Uuid> = members.iter().map(|_| Uuid::now_v7()).collect();
    let transfer_ids: Vec<Uuid> = members.iter().map(|_| Uuid::now_v7()).collect();
    let names: Vec<String> = members.iter().map(|m| m.name.clone()).collect();
    let national_ids: Vec<String> = members
        .iter()
        .map(|m| m.national_id.as_str().to_owned())
        .collect();
    let phones: Vec<Option<String>> = members
        .iter()
        .map(|m| m.phone.as_ref().map(|p| p.as_str().to_owned()))
        .collect();
    let villages: Vec<Option<String>> = members.iter().map(|m| m.village.clone()).collect();
    let branches: Vec<Uuid> = members.iter().map(|m| m.branch_id).collect();
    let joined: Vec<Option<NaiveDate>> = members.iter().map(|m| m.joined_party_on).collect();
    let reserve: Vec<bool> = members.iter().map(|m| m.reserve_cadre).collect();
    let young: Vec<bool> = members.iter().map(|m| m.outstanding_young).collect();
    sqlx::query!(
        "INSERT INTO members (town_id, id, name, national_id, phone, village, branch_id, joined_party_on,
                              reserve_cadre, outstanding_young)
         SELECT $1, * FROM UNNEST($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::uuid[],
                                  $8::date[], $9::bool[], $10::bool[])",
        town,
        &ids,
        &names,
        &national_ids,
        &phones as &[Option<String>],
        &villages as &[Option<String>],
        &branches,
        &joined as &[Option<NaiveDate>],
        &reserve,
        &young,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO transfers (town_id, id, member_id, kind, to_branch_id, reason, decided_by, decided_on, status)
         SELECT $1, t.id, t.member_id, 'registration', t.branch_id, 'import', $5, $6, 'completed'
         FROM UNNEST($2::uuid[], $3::uuid[], $4::uuid[]) AS t(id, member_id, branch_id)",
        town,
        &transfer_ids,
        &ids,
        &branches,
        caller.sub,
        today,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO audit_log (town_id, actor_sub, actor_role, request_id, action, resource_type, resource_id, data)
         SELECT $1, $2, $3, $4, 'member.imported', 'member', t.member_id, jsonb_build_object('branch_id', t.branch_id)
         FROM UNNEST($5::uuid[], $6::uuid[]) AS t(member_id, branch_id)",
        town,
        caller.sub,
        caller.role.as_str(),
        caller.request_id.as_deref(),
        &ids,
        &branches,
    )
    .execute(&mut *conn)
    .await?;
    Ok(ids)
}
