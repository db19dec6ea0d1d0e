//! The mentorship workflows that pair a mentor with a mentee and keep the talks' log,
//! each over the caller's transaction, callable without HTTP.

use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{self, Mentorship, MentorshipLog, NewLog, NewMentorship};
use super::repo;
use crate::audit::{self, Change};
use crate::auth::Caller;
use crate::error::ApiError;

/// Pairs a center staff member with a trainee of this year's cohort or a member under
/// transformation (art. 18), within the policy's mentor limit (held by the database,
/// also under concurrency).
pub async fn create(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    new: &NewMentorship,
) -> Result<Mentorship, ApiError> {
    let today = crate::towns::repo::today(tx, town).await?;
    let (subject, started_on) = domain::check_new(new, today)?;
    if !repo::is_center_staff(tx, town, new.mentor_id).await? {
        return Err(domain::not_in_center());
    }
    let year = chrono::Datelike::year(&today);
    let (basis, cohort_id, case_id) = repo::mentee_basis(tx, town, new.mentee_id, year)
        .await?
        .ok_or_else(domain::not_a_mentee)?;
    let policy = crate::policy::current(tx, town).await?;
    let row = repo::NewRow {
        mentor_id: new.mentor_id,
        mentor_subject: &subject,
        mentee_id: new.mentee_id,
        basis,
        cohort_id,
        case_id,
        policy_version: policy.version,
        mentor_limit: policy.mentor_limit,
        started_on,
    };
    let m = repo::insert(tx, town, Uuid::now_v7(), &row, &by.sub).await?;
    let data = json!({ "mentor_id": m.mentor_id, "mentee_id": m.mentee_id, "basis": m.basis,
                       "cohort_id": m.cohort_id, "case_id": m.case_id, "started_on": m.started_on,
                       "mentor_limit": m.mentor_limit, "policy_version": m.policy_version });
    let change = Change {
        town_id: town,
        action: "mentorship.created",
        resource_type: "mentorship",
        resource_id: m.id,
        data,
    };
    audit::record(tx, by, change).await?;
    Ok(m)
}

/// Adds an entry to a mentorship's log: only the mentor (by token subject), from its
/// start, not in the future, and not once it has ended (checked under its lock, so an
/// entry cannot slip in while it ends).
pub async fn add_log(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    id: Uuid,
    new: &NewLog,
) -> Result<MentorshipLog, ApiError> {
    let m = repo::get(tx, town, id).await?.ok_or(ApiError::NotFound)?;
    if m.mentor_subject != by.sub {
        return Err(ApiError::Forbidden);
    }
    let today = crate::towns::repo::today(tx, town).await?;
    let log = domain::check_log(new, m.started_on, today)?;
    let m = repo::lock(tx, town, id).await?;
    if m.ended_on.is_some() {
        return Err(domain::ended());
    }
    let entry = repo::insert_log(tx, town, Uuid::now_v7(), m.id, &log, &by.sub).await?;
    let data = json!({ "log_id": entry.id, "met_on": entry.met_on });
    let change = Change {
        town_id: town,
        action: "mentorship.logged",
        resource_type: "mentorship",
        resource_id: m.id,
        data,
    };
    audit::record(tx, by, change).await?;
    Ok(entry)
}
