//! Democratic evaluations (民主评议, articles 23-24).
//!
//! The committee schedules an evaluation for a case whose score reached the evaluation
//! threshold, with a date, a place and a fixed panel of evaluators; the evaluation records
//! the policy version in force, whose quorum, majority and failed-evaluation rule decide
//! it. Each evaluator votes once, `qualified` or `not_qualified`, by secret ballot: who
//! voted and how are stored apart (see the migration), nothing shows a single verdict,
//! and the tally is shown only once the committee has closed the evaluation. A pass
//! returns the member's relation to the original branch and concludes the case, in one
//! transaction; a fail leaves the case open for another evaluation later.
//!
//! Evaluators vote with a token of their own: a `staff` or `committee` token of the town
//! whose `sub` is their `subject` on the panel.

pub mod domain;
pub mod repo;

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use self::domain::{
    Cancellation, Evaluation, EvaluationStatus, EvaluationSummary, NewEvaluation, NewVote, Outcome,
    QuorumNotMet, VoteReceipt,
};
use crate::audit::{self, Change};
use crate::auth::{Auth, roles};
use crate::cases::domain::Conclusion;
use crate::error::ApiError;
use crate::http::extract::{IdempotencyKey, IfMatch, Json, etag};
use crate::http::idempotency::{self, Answer, Claim};
use crate::http::paging::{Page, PageParams};
use crate::http::reply;
use crate::msg;
use crate::scores::domain::EntryKind;
use crate::scores::{self, NewEntry};
use crate::transfers::domain::{NewTransferRecord, RecordKind};

/// Registers the evaluation routes.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(schedule)
        .service(list_evaluations)
        .service(get_evaluation)
        .service(vote)
        .service(close)
        .service(cancel);
}

fn already_voted() -> ApiError {
    crate::error::constraints::ALREADY_VOTED.into()
}

fn evaluation_closed() -> ApiError {
    crate::error::constraints::EVALUATION_CLOSED.into()
}

fn quorum_not_met(q: QuorumNotMet) -> ApiError {
    ApiError::conflict(
        "quorum_not_met",
        msg!(
            (
                "已投 {} 票，不足法定的 {} 票，暂不能结束评议。",
                q.cast,
                q.quorum
            ),
            (
                "{} vote(s) cast, fewer than the quorum of {}: the evaluation cannot be closed yet.",
                q.cast,
                q.quorum
            )
        ),
    )
}

/// An evaluation with its panel.
async fn load(conn: &mut PgConnection, town: Uuid, id: Uuid) -> Result<Evaluation, ApiError> {
    let row = repo::get(conn, town, id).await?.ok_or(ApiError::NotFound)?;
    let panel = repo::panel(conn, town, id).await?;
    Ok(row.with_panel(panel))
}

/// Schedule a democratic evaluation (art. 23-24).
///
/// For a case whose score reached the evaluation threshold (status `evaluation_due`),
/// which becomes `under_evaluation`. The panel is fixed here: evaluators by kind, each
/// with the `subject` of the token they will vote with, and their member record when
/// they are a member of the town. The member under evaluation cannot sit on the panel
/// (422 `member_under_evaluation`), nor can a member holding a valid floating certificate
/// on the day of the meeting (422 `evaluator_floating`: a floating member has no vote),
/// nor an inactive one (`member_not_active`); the panel must be at least the quorum
/// (`below_quorum`). The evaluation records the current policy version, whose quorum,
/// majority and failed-evaluation rule decide it. Roles: `committee`.
#[utoipa::path(
    tag = "evaluations",
    params(("town" = Uuid, Path, description = "The town's id.")),
    request_body = NewEvaluation,
    responses(
        (status = 201, description = "The evaluation, open.", body = Evaluation,
         headers(("ETag" = String, description = "The evaluation's version"), ("Location" = String, description = "The evaluation's URL"))),
        (status = 409, description = "`case_not_due`: the case's score has not reached the evaluation threshold, or an evaluation is under way; `evaluation_open`.",
         body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["committee"])),
)]
#[post("/towns/{town}/evaluations")]
async fn schedule(
    auth: Auth<{ roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    key: IdempotencyKey,
    body: Json<NewEvaluation>,
) -> Result<HttpResponse, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    let mut tx = db.begin().await?;
    let claim = idempotency::claim(&mut tx, &auth, &key, req.path(), &*body).await?;
    if let Claim::Replay(res) = claim {
        return Ok(res);
    }
    let case = crate::cases::repo::get(&mut tx, town, body.case_id)
        .await?
        .ok_or_else(|| {
            ApiError::invalid(
                "case_id",
                "unknown_case",
                msg!("本镇没有该转化档案。", "This town has no such case."),
            )
        })?;
    let policy = crate::policy::current(&mut tx, town).await?;
    let tz = crate::towns::repo::zone(&mut tx, town).await?;
    let held_on = body.held_at.with_timezone(&tz).date_naive();
    let facts = if body.panel.len() <= domain::PANEL_MAX {
        let mut named: Vec<Uuid> = body.panel.iter().filter_map(|e| e.member_id).collect();
        named.sort();
        named.dedup();
        repo::member_facts(&mut tx, town, &named, held_on).await?
    } else {
        Default::default()
    };
    let valid = domain::check(
        &body,
        case.member_id,
        policy.evaluation_quorum,
        case.evaluation_due_at,
        Utc::now(),
        &facts,
    )?;
    crate::cases::repo::start_evaluation(&mut tx, town, case.id).await?;
    let row = repo::insert(
        &mut tx,
        town,
        &repo::NewRow {
            id: Uuid::now_v7(),
            case_id: case.id,
            member_id: case.member_id,
            held_at: body.held_at,
            held_on,
            place: &valid.place,
            policy_version: policy.version,
            quorum: policy.evaluation_quorum,
            majority_percent: policy.evaluation_majority_percent,
            scheduled_by: &auth.sub,
        },
    )
    .await?;
    repo::insert_panel(&mut tx, town, row.id, &valid.panel).await?;
    let kinds: Vec<&str> = valid.panel.iter().map(|e| e.kind.as_str()).collect();
    audit::record(
        &mut tx,
        &auth,
        Change {
            town_id: town,
            action: "evaluation.scheduled",
            resource_type: "evaluation",
            resource_id: row.id,
            data: json!({
                "case_id": case.id, "member_id": case.member_id, "held_at": row.held_at, "held_on": row.held_on,
                "panel_size": valid.panel.len(), "panel_kinds": kinds, "policy_version": row.policy_version,
                "quorum": row.quorum, "majority_percent": row.majority_percent,
            }),
        },
    )
    .await?;
    audit::record(
        &mut tx,
        &auth,
        Change {
            town_id: town,
            action: "case.evaluation_scheduled",
            resource_type: "case",
            resource_id: case.id,
            data: json!({ "evaluation_id": row.id, "status": "under_evaluation" }),
        },
    )
    .await?;
    let panel = repo::panel(&mut tx, town, row.id).await?;
    let evaluation = row.with_panel(panel);
    let location = format!("/api/v1/towns/{town}/evaluations/{}", evaluation.id);
    let answer = Answer::created(&evaluation, etag(evaluation.version), location)?;
    let res = claim.finish(&mut tx, answer).await?;
    tx.commit().await?;
    Ok(res)
}

/// Filters of the evaluation list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EvaluationQuery {
    /// Only this case's evaluations.
    pub case_id: Option<Uuid>,
    /// Only evaluations with this status.
    #[param(inline)]
    pub status: Option<EvaluationStatus>,
}

/// List a town's evaluations, in the order they were scheduled.
///
/// Without their panels; the tally only for closed ones. Roles: `staff`, `committee`,
/// `county`.
#[utoipa::path(
    tag = "evaluations",
    params(("town" = Uuid, Path, description = "The town's id."), EvaluationQuery, PageParams),
    responses((status = 200, description = "A page of evaluations.", body = Page<EvaluationSummary>)),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/towns/{town}/evaluations")]
async fn list_evaluations(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<Uuid>,
    query: web::Query<EvaluationQuery>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<EvaluationSummary>>, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    let keyset = page.keyset()?;
    let mut conn = db.acquire().await?;
    let filter = repo::Filter {
        case_id: query.case_id,
        status: query.status,
    };
    let rows = repo::list(&mut conn, town, filter, keyset).await?;
    Ok(web::Json(Page::from_rows(rows, keyset, |e| e.id)))
}

/// Read an evaluation.
///
/// Its panel shows who has voted, never how; the tally appears once it is closed.
/// Roles: `staff`, `committee`, `county`.
#[utoipa::path(
    tag = "evaluations",
    params(("town" = Uuid, Path, description = "The town's id."), ("evaluation" = Uuid, Path, description = "The evaluation's id.")),
    responses((status = 200, description = "The evaluation.", body = Evaluation,
               headers(("ETag" = String, description = "The evaluation's version")))),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/towns/{town}/evaluations/{evaluation}")]
async fn get_evaluation(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut conn = db.acquire().await?;
    let evaluation = load(&mut conn, town, id).await?;
    Ok(reply::with_etag(&evaluation, evaluation.version))
}

/// Vote in an evaluation, as an evaluator.
///
/// The evaluator votes with their own token: a `staff` or `committee` token of the town
/// whose `sub` is their `subject` on the panel; anyone else gets 403 `not_on_panel`. One
/// vote each (409 `already_voted`, also when two arrive at once); none once the
/// evaluation is closed (409 `evaluation_closed`). The ballot is secret: who voted is
/// recorded apart from the verdict, which nothing ever shows on its own. For the same
/// reason this request takes no `Idempotency-Key` (a stored fingerprint of the request
/// would tie the verdict to the voter): a retry of a vote that was recorded answers 409
/// `already_voted`, which confirms it counted. Roles: `staff`, `committee` (panel members).
#[utoipa::path(
    tag = "evaluations",
    params(("town" = Uuid, Path, description = "The town's id."), ("evaluation" = Uuid, Path, description = "The evaluation's id.")),
    request_body = NewVote,
    responses(
        (status = 200, description = "The vote counted: a receipt, without the verdict.", body = VoteReceipt),
        (status = 403, description = "`not_on_panel`: the token's subject is not on the panel (or `forbidden`: another role).",
         body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`already_voted` or `evaluation_closed`.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["staff", "committee"])),
)]
#[post("/towns/{town}/evaluations/{evaluation}/votes")]
async fn vote(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    body: Json<NewVote>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut tx = db.begin().await?;
    // The evaluation's lock serializes its votes and its closing: a second vote of the
    // same voter waits here and then finds the first.
    let evaluation = repo::lock(&mut tx, town, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if !repo::on_panel(&mut tx, town, id, &auth.sub).await? {
        return Err(ApiError::Refused {
            code: "not_on_panel",
            detail: msg!(
                "您不是本次民主评议的评议人，不能投票。",
                "You are not on this evaluation's panel and cannot vote."
            ),
        });
    }
    if evaluation.status != EvaluationStatus::Open {
        return Err(evaluation_closed());
    }
    if repo::has_voted(&mut tx, town, id, &auth.sub).await? {
        return Err(already_voted());
    }
    let cast = repo::cast(&mut tx, town, id, &auth.sub, body.verdict).await?;
    audit::record(
        &mut tx,
        &auth,
        Change {
            town_id: town,
            action: "evaluation.vote_cast",
            resource_type: "evaluation",
            resource_id: id,
            // Who voted is the record's actor; how is never recorded here.
            data: json!({ "votes_cast": cast.votes_cast, "version": cast.version }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(VoteReceipt {
        evaluation_id: id,
        voted_at: cast.voted_at,
        votes_cast: cast.votes_cast,
    }))
}

/// Close an evaluation and act on its verdict.
///
/// Needs `If-Match` with the evaluation's ETag (each vote moves it on, so the committee
/// closes what it last read). Fewer votes than the quorum recorded at scheduling: 409
/// `quorum_not_met`, and nothing changes. Otherwise the ballots are counted: more than the
/// recorded majority share of `qualified` votes is a pass, which moves the member's
/// relation back to the case's original branch (a `return` transfer) and concludes the
/// case (`returned`), in one transaction; anything else is a fail, which leaves the case
/// open (`evaluation_due` again, or `active` with the score back at the base when the
/// policy version of the evaluation restarts the score after a failed evaluation, written
/// as a correction entry). The tally is shown from now on; the evaluation is final
/// (409 `evaluation_closed`). Roles: `committee`.
#[utoipa::path(
    tag = "evaluations",
    params(("town" = Uuid, Path, description = "The town's id."), ("evaluation" = Uuid, Path, description = "The evaluation's id.")),
    responses(
        (status = 200, description = "The closed evaluation, with its tally.", body = Evaluation,
         headers(("ETag" = String, description = "The evaluation's new version"))),
        (status = 409, description = "`quorum_not_met`, `evaluation_closed`, `case_concluded` (the case ended otherwise meanwhile), or for a pass `member_not_active` / `open_transfer_exists` (the return transfer cannot be made).",
         body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["committee"])),
)]
#[post("/towns/{town}/evaluations/{evaluation}/close")]
async fn close(
    auth: Auth<{ roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut tx = db.begin().await?;
    let evaluation = repo::lock(&mut tx, town, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if evaluation.status != EvaluationStatus::Open {
        return Err(evaluation_closed());
    }
    if_match.check(evaluation.version)?;
    let tally = repo::count(&mut tx, town, id).await?;
    let outcome = domain::outcome(tally, evaluation.quorum, evaluation.majority_percent)
        .map_err(quorum_not_met)?;
    repo::seal(&mut tx, town, id).await?;
    let locked = scores::lock_case(&mut tx, town, evaluation.case_id).await?;
    if locked.state.concluded {
        return Err(scores::refusal_error(scores::domain::Refusal::Concluded));
    }
    let case = crate::cases::repo::get(&mut tx, town, evaluation.case_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let today = crate::towns::repo::today(&mut tx, town).await?;
    let mut return_transfer_id = None;
    let mut reset_entry_id = None;
    let case_change = match outcome {
        Outcome::Passed => {
            let transfer = crate::transfers::repo::record(
                &mut tx,
                &auth,
                NewTransferRecord {
                    town_id: town,
                    member_id: case.member_id,
                    kind: RecordKind::Return,
                    to_branch_id: case.original_branch_id,
                    reason: domain::RETURN_REASON.to_owned(),
                    decided_on: today,
                },
            )
            .await?;
            crate::cases::repo::conclude(
                &mut tx,
                &auth,
                town,
                case.id,
                Conclusion::Returned,
                today,
            )
            .await?;
            return_transfer_id = Some(transfer.id);
            Change {
                town_id: town,
                action: "case.concluded",
                resource_type: "case",
                resource_id: case.id,
                data: json!({ "conclusion": Conclusion::Returned, "evaluation_id": id,
                              "transfer_id": transfer.id, "concluded_on": today }),
            }
        }
        Outcome::Failed => {
            let policy = crate::policy::version(&mut tx, town, evaluation.policy_version).await?;
            let restart = policy.failed_evaluation_resets_score;
            // The correction first, then the status: the database checks every change of
            // the case row against the ledger at commit, each with the score it had then.
            if let Some(delta) = restart
                .then(|| domain::reset_delta(case.base_score, locked.state.score))
                .flatten()
            {
                let written = scores::write_entry(
                    &mut tx,
                    &auth,
                    town,
                    NewEntry {
                        case_id: case.id,
                        kind: EntryKind::Correction,
                        points: delta,
                        source: None,
                        reverses: None,
                        reason: Some(domain::RESET_REASON.to_owned()),
                    },
                )
                .await?;
                reset_entry_id = Some(written.entry.id);
            }
            crate::cases::repo::end_evaluation(&mut tx, town, case.id, restart).await?;
            Change {
                town_id: town,
                action: "case.evaluation_failed",
                resource_type: "case",
                resource_id: case.id,
                data: json!({ "evaluation_id": id, "score_restarted": restart, "reset_entry_id": reset_entry_id }),
            }
        }
    };
    let row = repo::close(
        &mut tx,
        town,
        id,
        &repo::Closing {
            status: outcome.status(),
            tally,
            by: &auth.sub,
            return_transfer_id,
            reset_entry_id,
        },
    )
    .await?;
    audit::record(
        &mut tx,
        &auth,
        Change {
            town_id: town,
            action: "evaluation.closed",
            resource_type: "evaluation",
            resource_id: id,
            data: json!({
                "case_id": case.id, "status": row.status, "votes_cast": row.votes_cast,
                "qualified": tally.qualified, "not_qualified": tally.not_qualified,
                "policy_version": row.policy_version, "quorum": row.quorum, "majority_percent": row.majority_percent,
                "return_transfer_id": return_transfer_id, "reset_entry_id": reset_entry_id,
            }),
        },
    )
    .await?;
    audit::record(&mut tx, &auth, case_change).await?;
    let panel = repo::panel(&mut tx, town, id).await?;
    let closed = row.with_panel(panel);
    tx.commit().await?;
    Ok(reply::with_etag(&closed, closed.version))
}

/// Call an evaluation off.
///
/// For an open evaluation that cannot be held or closed (the panel cannot meet, the
/// quorum will not be reached): with a `reason`, it becomes `cancelled`, final; the
/// ballots cast are destroyed uncounted (no tally ever exists; who voted stays on record);
/// its case is due for an evaluation again (`evaluation_due`), so the committee can
/// schedule another with a new panel. Only before the quorum is reached: with it, the
/// evaluation must be closed (409 `quorum_met`). Needs `If-Match` with the evaluation's
/// ETag. A closed or cancelled evaluation: 409 `evaluation_closed`. Roles: `committee`.
#[utoipa::path(
    tag = "evaluations",
    params(("town" = Uuid, Path, description = "The town's id."), ("evaluation" = Uuid, Path, description = "The evaluation's id.")),
    request_body = Cancellation,
    responses(
        (status = 200, description = "The cancelled evaluation.", body = Evaluation,
         headers(("ETag" = String, description = "The evaluation's new version"))),
        (status = 409, description = "`evaluation_closed`: it is closed or cancelled already; `quorum_met`: it has its quorum, close it instead.",
         body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["committee"])),
)]
#[post("/towns/{town}/evaluations/{evaluation}/cancel")]
async fn cancel(
    auth: Auth<{ roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    body: Json<Cancellation>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let reason = body.validate()?;
    let mut tx = db.begin().await?;
    let evaluation = repo::lock(&mut tx, town, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if evaluation.status != EvaluationStatus::Open {
        return Err(evaluation_closed());
    }
    if_match.check(evaluation.version)?;
    if evaluation.votes_cast >= evaluation.quorum {
        return Err(ApiError::conflict(
            "quorum_met",
            msg!(
                (
                    "已投 {} 票，达到法定的 {} 票：请结束评议，不能取消。",
                    evaluation.votes_cast,
                    evaluation.quorum
                ),
                (
                    "{} vote(s) cast, the quorum of {} is met: close the evaluation instead of cancelling it.",
                    evaluation.votes_cast,
                    evaluation.quorum
                )
            ),
        ));
    }
    // The ballots cast so far are destroyed uncounted: kept, a few of them could be read
    // against the record of who voted.
    repo::discard_ballots(&mut tx, town, id).await?;
    // The case as closing takes it: under its lock. A case that ended otherwise meanwhile
    // is left as it is.
    scores::lock_case(&mut tx, town, evaluation.case_id).await?;
    crate::cases::repo::end_evaluation(&mut tx, town, evaluation.case_id, false).await?;
    let row = repo::cancel(&mut tx, town, id, &auth.sub, &reason).await?;
    audit::record(
        &mut tx,
        &auth,
        Change {
            town_id: town,
            action: "evaluation.cancelled",
            resource_type: "evaluation",
            resource_id: id,
            data: json!({ "case_id": row.case_id, "status": row.status, "votes_cast": row.votes_cast }),
        },
    )
    .await?;
    audit::record(
        &mut tx,
        &auth,
        Change {
            town_id: town,
            action: "case.evaluation_cancelled",
            resource_type: "case",
            resource_id: row.case_id,
            data: json!({ "evaluation_id": id }),
        },
    )
    .await?;
    let panel = repo::panel(&mut tx, town, id).await?;
    let cancelled = row.with_panel(panel);
    tx.commit().await?;
    Ok(reply::with_etag(&cancelled, cancelled.version))
}
