//! The cohort workflows that take a trainee in and arrange their training, each over the
//! caller's transaction, callable without HTTP.

use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{self, NewPlacement, NewTrainee, Placement, Trainee};
use super::repo;
use crate::audit::{self, Change};
use crate::auth::Caller;
use crate::error::{ApiError, FieldError};
use crate::msg;

fn unknown_member() -> ApiError {
    ApiError::Validation(vec![FieldError::new(
        "member_id",
        "unknown_member",
        msg!("本镇没有该党员。", "This town has no such member."),
    )])
}

/// Adds a member to a cohort still selecting its trainees (art. 16): an active member who
/// is an outstanding young member or a reserve cadre, while there is room. Under the
/// cohort's lock, so two additions cannot both take its last place.
pub async fn add_trainee(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    cohort: Uuid,
    new: &NewTrainee,
) -> Result<Trainee, ApiError> {
    let cohort = repo::lock(tx, town, cohort).await?;
    domain::check_selecting(cohort.status)?;
    let facts = repo::member_facts(tx, town, new.member_id)
        .await?
        .ok_or_else(unknown_member)?;
    let eligible =
        domain::check_eligible(facts.active, facts.outstanding_young, facts.reserve_cadre)?;
    domain::check_room(cohort.trainee_count, cohort.max_size)?;
    let trainee = repo::insert_trainee(tx, &cohort, new.member_id, eligible, &by.sub).await?;
    let data = json!({ "member_id": trainee.member_id, "eligible_as": eligible,
                       "trainee_count": cohort.trainee_count + 1 });
    let change = Change {
        town_id: town,
        action: "cohort.trainee_added",
        resource_type: "cohort",
        resource_id: cohort.id,
        data,
    };
    audit::record(tx, by, change).await?;
    Ok(trainee)
}

/// Records a placement of a trainee (art. 15), starting in the cohort's year; not once
/// the cohort is closed (checked under its lock, so a placement cannot slip in while it
/// closes). Overlaps are refused by the database.
pub async fn add_placement(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    cohort: Uuid,
    member: Uuid,
    new: &NewPlacement,
) -> Result<Placement, ApiError> {
    let cohort = repo::get(tx, town, cohort)
        .await?
        .ok_or(ApiError::NotFound)?;
    repo::trainee(tx, town, cohort.id, member)
        .await?
        .ok_or(ApiError::NotFound)?;
    let valid = new.validate(cohort.year)?;
    let cohort = repo::lock(tx, town, cohort.id).await?;
    if cohort.status == domain::CohortStatus::Closed {
        return Err(domain::closed());
    }
    let placement =
        repo::insert_placement(tx, town, Uuid::now_v7(), cohort.id, member, &valid, &by.sub)
            .await?;
    let data = json!({ "cohort_id": cohort.id, "member_id": member, "kind": placement.kind,
                       "starts_on": placement.starts_on, "ends_on": placement.ends_on });
    let change = Change {
        town_id: town,
        action: "placement.created",
        resource_type: "placement",
        resource_id: placement.id,
        data,
    };
    audit::record(tx, by, change).await?;
    Ok(placement)
}
