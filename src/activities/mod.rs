//! Activities and attendance rolls (articles 14, 17, 22).
//!
//! Staff and the committee plan activities (meetings, party lectures, organizational
//! life, cultural activities, central work) with who must attend: the members under
//! transformation, trainees and anyone else named. The roll is sent once, as one batch,
//! and is complete: one line for every required member. Each absence of a member under
//! transformation costs one step (art. 22: -0.5), an excused leave only when the policy
//! says so; the lines and their ledger entries are written set-based, in the roll's
//! transaction, under the activity's row lock, so that concurrent rolls never score twice.
//! A recorded roll never changes: sending it again changes nothing, sending another one
//! is a 409, and wrong points are corrected by a committee reversal in the case's ledger.

pub mod domain;
pub mod repo;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;
use sqlx::PgPool;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use self::domain::{
    ActivityDetail, ActivityKind, AttendanceStatus, MyActivity, NewActivity, NewRoll, RequiredAs,
    Roll, Unscored,
};
use crate::audit::{self, Change};
use crate::auth::{Auth, Scope, roles};
use crate::error::ApiError;
use crate::http::extract::{IdempotencyKey, Json, etag};
use crate::http::idempotency::{self, Answer, Claim};
use crate::http::paging::{Page, PageParams};
use crate::http::reply;
use crate::msg;
use crate::scores::domain::{EntryKind, standard_delta};
use crate::scores::{self, NewEntry, SourceType};

/// Registers the activity routes and `/me/activities`.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_activity)
        .service(list_activities)
        .service(get_activity)
        .service(record_roll)
        .service(my_activities);
}

/// Filters of the activity list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActivityQuery {
    /// Only activities of this kind.
    #[param(inline)]
    pub kind: Option<ActivityKind>,
    /// Only activities starting on or after this day (`YYYY-MM-DD`, the town's time
    /// zone; years 2000 to 2099).
    pub from: Option<NaiveDate>,
    /// Only activities starting on or before this day (`YYYY-MM-DD`, the town's time
    /// zone; years 2000 to 2099).
    pub to: Option<NaiveDate>,
}

/// Plan an activity and who must attend it.
///
/// Who must attend is fixed now: every member with an open case
/// (`all_under_transformation`) or those listed in `transformation_member_ids` (each must
/// have an open case: `no_open_case`), the `trainee_member_ids`, and the
/// `other_member_ids`. A member with an open case is required as `transformation` (with
/// that case) whichever list names them, since an absence costs points to anyone under
/// transformation. Each member is named once (`duplicate`); each must be a member of the
/// town (`unknown_member`) still in its organization (`member_not_active`). Roles:
/// `staff`, `committee`.
#[utoipa::path(
    tag = "activities",
    params(("town" = Uuid, Path, description = "The town's id.")),
    request_body = NewActivity,
    responses(
        (status = 201, description = "The activity and who must attend.", body = ActivityDetail,
         headers(("ETag" = String, description = "The activity's version"), ("Location" = String, description = "The activity's URL"))),
    ),
    security(("bearer" = ["staff", "committee"])),
)]
#[post("/towns/{town}/activities")]
async fn create_activity(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    key: IdempotencyKey,
    body: Json<NewActivity>,
) -> Result<HttpResponse, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    let checked = body.validate()?;
    let mut tx = db.begin().await?;
    let claim = idempotency::claim(&mut tx, &auth, &key, req.path(), &*body).await?;
    if let Claim::Replay(res) = claim {
        return Ok(res);
    }
    let named: Vec<Uuid> = checked.named.iter().map(|n| n.member_id).collect();
    let facts = repo::member_facts(&mut tx, town, &named).await?;
    let open = if checked.all_under_transformation {
        repo::open_cases(&mut tx, town).await?
    } else {
        Vec::new()
    };
    let attendees = domain::plan_attendees(&checked, &facts, &open)?;
    let id = Uuid::now_v7();
    repo::insert(&mut tx, town, id, &checked, &auth.sub).await?;
    repo::insert_attendees(&mut tx, town, id, &attendees).await?;
    let count = |as_: RequiredAs| attendees.iter().filter(|a| a.required_as == as_).count();
    audit::record(
        &mut tx,
        &auth,
        Change {
            town_id: town,
            action: "activity.created",
            resource_type: "activity",
            resource_id: id,
            data: json!({
                "kind": checked.kind, "starts_at": checked.starts_at,
                "required": {
                    "transformation": count(RequiredAs::Transformation),
                    "trainee": count(RequiredAs::Trainee),
                    "other": count(RequiredAs::Other),
                },
            }),
        },
    )
    .await?;
    let activity = repo::get(&mut tx, town, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("activity {id} not found after its insert"))?;
    let version = activity.version;
    let detail = ActivityDetail {
        activity,
        attendees,
        roll: None,
    };
    let location = format!("/api/v1/towns/{town}/activities/{id}");
    let answer = Answer::created(&detail, etag(version), location)?;
    let res = claim.finish(&mut tx, answer).await?;
    tx.commit().await?;
    Ok(res)
}

/// List a town's activities.
///
/// In creation order; filters by kind and by the day they start (in the town's time
/// zone). Roles: `staff`, `committee`, `county`.
#[utoipa::path(
    tag = "activities",
    params(("town" = Uuid, Path, description = "The town's id."), ActivityQuery, PageParams),
    responses((status = 200, description = "A page of activities.", body = Page<domain::Activity>)),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/towns/{town}/activities")]
async fn list_activities(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<Uuid>,
    query: web::Query<ActivityQuery>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<domain::Activity>>, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    domain::check_day_filter("from", query.from)?;
    domain::check_day_filter("to", query.to)?;
    let keyset = page.keyset()?;
    let mut conn = db.acquire().await?;
    let rows = repo::list(&mut conn, town, query.kind, query.from, query.to, keyset).await?;
    Ok(web::Json(Page::from_rows(rows, keyset, |a| a.id)))
}

/// Read an activity, who must attend it, and its roll once recorded.
///
/// Roles: `staff`, `committee`, `county`.
#[utoipa::path(
    tag = "activities",
    params(("town" = Uuid, Path, description = "The town's id."), ("activity" = Uuid, Path, description = "The activity's id.")),
    responses((status = 200, description = "The activity.", body = ActivityDetail,
               headers(("ETag" = String, description = "The activity's version")))),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/towns/{town}/activities/{activity}")]
async fn get_activity(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut conn = db.acquire().await?;
    let activity = repo::get(&mut conn, town, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let attendees = repo::attendees(&mut conn, town, id).await?;
    let roll = repo::roll(&mut conn, town, id).await?;
    let version = activity.version;
    let detail = ActivityDetail {
        activity,
        attendees,
        roll,
    };
    Ok(reply::with_etag(&detail, version))
}

/// Record an activity's attendance roll, once, as one batch.
///
/// The roll is complete: one line for every member who had to attend (each missing one
/// is listed in `errors` as `missing`, field `items`), each once (`duplicate`), no one
/// else (`not_required`, naming `items[i].member_id`). An excused leave has an
/// `excuse_reason` and an `approved_by` (`required`), and no other line has them
/// (`only_when_excused`). The activity must have started (409 `activity_not_started`).
///
/// Each absence of a member required as under transformation writes one ledger entry to
/// the case named when the activity was planned: `absence`, one step down (-0.5 under
/// the rules as written), its source the attendance record; an excused leave does too
/// when the policy's `excused_leave_costs` is on. A line that would cost points but
/// cannot is recorded without them, saying why in `unscored`: the case has been
/// concluded since the activity was planned (the member is no longer under
/// transformation), or the policy freezes the score once an evaluation is due. Scores
/// crossing below the low threshold open one committee matter per case, in the same
/// transaction.
///
/// A roll is recorded once and sending it again changes nothing: with the same key the
/// first answer comes back (`idempotent-replayed: true`), with another key a 200 with the
/// recorded roll (line for line the same: statuses, reasons, approvers); a different roll is a 409
/// `roll_recorded` (wrong points are corrected by a committee reversal). Needs an
/// `Idempotency-Key` (without one: 400 `idempotency_key_required`). Roles: `staff`,
/// `committee`.
#[utoipa::path(
    tag = "activities",
    params(
        ("town" = Uuid, Path, description = "The town's id."),
        ("activity" = Uuid, Path, description = "The activity's id."),
        ("Idempotency-Key" = String, Header, description = "Required: a retry with the same key and body returns the first answer and writes nothing. 1 to 255 visible ASCII characters.",
         pattern = "^[!-~]+$", min_length = 1, max_length = 255),
    ),
    request_body = NewRoll,
    responses(
        (status = 201, description = "The roll was recorded, with the ledger entries it wrote.", body = Roll,
         headers(("Location" = String, description = "The activity's URL"))),
        (status = 200, description = "The same roll was recorded already: nothing changed.", body = Roll),
        (status = 409, description = "`roll_recorded` (another roll was recorded), `activity_not_started`.",
         body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["staff", "committee"])),
)]
#[put("/towns/{town}/activities/{activity}/attendance")]
async fn record_roll(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
    key: IdempotencyKey,
    body: Json<NewRoll>,
) -> Result<HttpResponse, ApiError> {
    let (town, activity) = path.into_inner();
    let town = auth.town(&db, town).await?;
    key.required()?;
    let mut tx = db.begin().await?;
    let claim = idempotency::claim(&mut tx, &auth, &key, req.path(), &*body).await?;
    if let Claim::Replay(res) = claim {
        return Ok(res);
    }
    // The activity's lock first: a concurrent roll of the same activity waits here, then
    // finds this one recorded.
    let starts_at = repo::lock(&mut tx, town, activity)
        .await?
        .ok_or(ApiError::NotFound)?;
    let required = repo::attendees(&mut tx, town, activity).await?;
    let checked = domain::check_roll(&body.items, &required)?;
    if let Some(recorded) = repo::roll(&mut tx, town, activity).await? {
        domain::compare_roll(&recorded.items, &checked)?;
        let answer = roll_answer(&recorded, StatusCode::OK, None)?;
        let res = claim.finish(&mut tx, answer).await?;
        tx.commit().await?;
        return Ok(res);
    }
    if starts_at > chrono::Utc::now() {
        return Err(ApiError::conflict(
            "activity_not_started",
            msg!(
                "活动尚未开始，不能记录考勤。",
                "The activity has not started yet: its roll cannot be recorded."
            ),
        ));
    }

    let policy = crate::policy::current(&mut tx, town).await?;
    let rules = policy.rules();
    let delta = standard_delta(EntryKind::Absence, &rules)
        .ok_or_else(|| anyhow::anyhow!("an absence has no standard delta"))?;
    let ids: Vec<Uuid> = checked.iter().map(|_| Uuid::now_v7()).collect();
    let costly: Vec<bool> = checked
        .iter()
        .map(|i| domain::absence_costs(i, policy.excused_leave_costs))
        .collect();
    let mut case_ids: Vec<Uuid> = checked
        .iter()
        .zip(&costly)
        .filter(|(_, c)| **c)
        .filter_map(|(i, _)| i.case_id)
        .collect();
    case_ids.sort();
    let states = repo::lock_cases(&mut tx, town, &case_ids).await?;
    let mut unscored: Vec<Option<Unscored>> = Vec::with_capacity(checked.len());
    let mut entries = Vec::new();
    for ((item, id), costs) in checked.iter().zip(&ids).zip(&costly) {
        let verdict = match (costs, item.case_id) {
            (true, Some(case)) => {
                let state = states
                    .get(&case)
                    .copied()
                    .ok_or_else(|| anyhow::anyhow!("case {case} of an attendee not found"))?;
                Some((case, domain::scorable(state, delta, &rules)))
            }
            _ => None,
        };
        match verdict {
            Some((case, Ok(()))) => {
                entries.push(NewEntry {
                    case_id: case,
                    kind: EntryKind::Absence,
                    points: delta,
                    source: Some((SourceType::Attendance, *id)),
                    reverses: None,
                    reason: None,
                });
                unscored.push(None);
            }
            Some((_, Err(why))) => unscored.push(Some(why)),
            None => unscored.push(None),
        }
    }
    repo::insert_records(&mut tx, &auth, town, activity, &ids, &checked, &unscored).await?;
    let written = scores::write_entries(&mut tx, &auth, town, entries).await?;
    let version = repo::mark_recorded(&mut tx, town, activity, &auth.sub).await?;
    let tally = |s: AttendanceStatus| checked.iter().filter(|i| i.status == s).count();
    audit::record(
        &mut tx,
        &auth,
        Change {
            town_id: town,
            action: "attendance.recorded",
            resource_type: "activity",
            resource_id: activity,
            data: json!({
                "version": version,
                "present": tally(AttendanceStatus::Present),
                "absent": tally(AttendanceStatus::Absent),
                "excused": tally(AttendanceStatus::Excused),
                "scored": written.len(),
                "unscored": unscored.iter().filter(|u| u.is_some()).count(),
                "policy_version": policy.version,
            }),
        },
    )
    .await?;
    let roll = repo::roll(&mut tx, town, activity)
        .await?
        .ok_or_else(|| anyhow::anyhow!("roll of {activity} not found after its insert"))?;
    let location = format!("/api/v1/towns/{town}/activities/{activity}");
    let answer = roll_answer(&roll, StatusCode::CREATED, Some(location))?;
    let res = claim.finish(&mut tx, answer).await?;
    tx.commit().await?;
    Ok(res)
}

fn roll_answer(
    roll: &Roll,
    status: StatusCode,
    location: Option<String>,
) -> Result<Answer, ApiError> {
    Ok(Answer {
        status,
        body: serde_json::to_value(roll).map_err(anyhow::Error::from)?,
        etag: None,
        location,
    })
}

/// The activities you had to attend, with your line of each roll.
///
/// In creation order; `status` is `null` until the roll is recorded, `points` what the
/// line cost you. Roles: `member`.
#[utoipa::path(
    tag = "me",
    params(PageParams),
    responses((status = 200, description = "A page of your activities.", body = Page<MyActivity>)),
    security(("bearer" = ["member"])),
)]
#[get("/me/activities")]
async fn my_activities(
    auth: Auth<{ roles::MEMBER }>,
    db: web::Data<PgPool>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<MyActivity>>, ApiError> {
    let Scope::Member { town, member_id } = auth.scope else {
        return Err(ApiError::Forbidden);
    };
    let keyset = page.keyset()?;
    let mut conn = db.acquire().await?;
    let rows = repo::of_member(&mut conn, town, member_id, keyset).await?;
    Ok(web::Json(Page::from_rows(rows, keyset, |a| a.id)))
}
