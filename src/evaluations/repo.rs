//! SQL for evaluations, their panels, voters and ballots. Functions take a connection so
//! they run inside the caller's transaction.
//!
//! Who voted and how are written by different statements into different tables: nothing
//! here ever reads a ballot together with a voter, and ballots are only ever counted.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{
    Evaluation, EvaluationStatus, EvaluationSummary, Evaluator, EvaluatorKind, MemberFacts, Tally,
    ValidEvaluator, Verdict,
};
use crate::error::ApiError;
use crate::http::paging::Keyset;

/// An evaluation's own row.
#[derive(Debug, Clone)]
pub struct Row {
    /// The evaluation's id, assigned when it is scheduled.
    pub id: Uuid,
    /// The town it belongs to.
    pub town_id: Uuid,
    /// The case evaluated.
    pub case_id: Uuid,
    /// Member under evaluation.
    pub member_id: Uuid,
    /// When the panel meets.
    pub held_at: DateTime<Utc>,
    /// That day in the town.
    pub held_on: NaiveDate,
    /// Where the panel meets.
    pub place: String,
    /// The policy version in force when it was scheduled; its rules decide it.
    pub policy_version: i32,
    /// The fewest votes it can be closed with, from that policy version.
    pub quorum: i32,
    /// A pass needs more than this percentage of the votes cast, from that policy version.
    pub majority_percent: i32,
    /// Where it stands.
    pub status: EvaluationStatus,
    /// How many evaluators have voted.
    pub votes_cast: i32,
    /// Tally, once closed.
    pub qualified_votes: Option<i32>,
    /// Tally, once closed.
    pub not_qualified_votes: Option<i32>,
    /// The return transfer of a pass.
    pub return_transfer_id: Option<Uuid>,
    /// The reset entry of a fail.
    pub reset_entry_id: Option<Uuid>,
    /// Who scheduled it.
    pub scheduled_by: String,
    /// Who closed it.
    pub closed_by: Option<String>,
    /// When it was closed or cancelled.
    pub closed_at: Option<DateTime<Utc>>,
    /// Why it was cancelled.
    pub cancel_reason: Option<String>,
    /// When it was scheduled.
    pub created_at: DateTime<Utc>,
    /// When it last changed (a vote changes it too).
    pub updated_at: DateTime<Utc>,
    /// The row's version, moved on by each change and each vote.
    pub version: i64,
}

fn tally_of(qualified: Option<i32>, not_qualified: Option<i32>) -> Option<Tally> {
    Some(Tally {
        qualified: qualified?,
        not_qualified: not_qualified?,
    })
}

impl Row {
    /// The evaluation as shown, with its panel.
    pub fn with_panel(self, panel: Vec<Evaluator>) -> Evaluation {
        Evaluation {
            id: self.id,
            town_id: self.town_id,
            case_id: self.case_id,
            member_id: self.member_id,
            held_at: self.held_at,
            held_on: self.held_on,
            place: self.place,
            policy_version: self.policy_version,
            quorum: self.quorum,
            majority_percent: self.majority_percent,
            status: self.status,
            votes_cast: self.votes_cast,
            tally: tally_of(self.qualified_votes, self.not_qualified_votes),
            panel,
            return_transfer_id: self.return_transfer_id,
            reset_entry_id: self.reset_entry_id,
            scheduled_by: self.scheduled_by,
            closed_by: self.closed_by,
            closed_at: self.closed_at,
            cancel_reason: self.cancel_reason,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        }
    }
}

/// The fields of a new evaluation.
#[derive(Debug, Clone)]
pub struct NewRow<'a> {
    /// The new evaluation's id.
    pub id: Uuid,
    /// The case evaluated, due for an evaluation.
    pub case_id: Uuid,
    /// Member under evaluation.
    pub member_id: Uuid,
    /// When the panel meets.
    pub held_at: DateTime<Utc>,
    /// That day in the town.
    pub held_on: NaiveDate,
    /// Where the panel meets, trimmed.
    pub place: &'a str,
    /// The policy version in force now, which will decide it.
    pub policy_version: i32,
    /// That policy version's quorum.
    pub quorum: i32,
    /// That policy version's majority: a pass needs more than this percentage of votes cast.
    pub majority_percent: i32,
    /// The `sub` of the committee member scheduling it.
    pub scheduled_by: &'a str,
}

/// Inserts an open evaluation.
pub async fn insert(conn: &mut PgConnection, town: Uuid, e: &NewRow<'_>) -> Result<Row, ApiError> {
    Ok(sqlx::query_as!(
        Row,
        r#"INSERT INTO evaluations (town_id, id, case_id, member_id, held_at, held_on, place, policy_version,
                                    quorum, majority_percent, scheduled_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           RETURNING id, town_id, case_id, member_id, held_at, held_on, place, policy_version, quorum,
                     majority_percent, status AS "status: EvaluationStatus", votes_cast, qualified_votes,
                     not_qualified_votes, return_transfer_id, reset_entry_id, scheduled_by, closed_by, closed_at, cancel_reason,
                     created_at, updated_at, version"#,
        town,
        e.id,
        e.case_id,
        e.member_id,
        e.held_at,
        e.held_on,
        e.place,
        e.policy_version,
        e.quorum,
        e.majority_percent,
        e.scheduled_by,
    )
    .fetch_one(conn)
    .await?)
}

/// Inserts the panel of a new evaluation, in order, with one statement.
pub async fn insert_panel(
    conn: &mut PgConnection,
    town: Uuid,
    evaluation: Uuid,
    panel: &[ValidEvaluator],
) -> Result<(), ApiError> {
    let subjects: Vec<String> = panel.iter().map(|e| e.subject.clone()).collect();
    let kinds: Vec<String> = panel.iter().map(|e| e.kind.as_str().to_owned()).collect();
    let names: Vec<String> = panel.iter().map(|e| e.name.clone()).collect();
    let members: Vec<Option<Uuid>> = panel.iter().map(|e| e.member_id).collect();
    sqlx::query!(
        "INSERT INTO evaluation_panel (town_id, evaluation_id, subject, position, kind, name, member_id)
         SELECT $1, $2, p.subject, p.n, p.kind, p.name, p.member_id
         FROM UNNEST($3::text[], $4::text[], $5::text[], $6::uuid[])
              WITH ORDINALITY AS p(subject, kind, name, member_id, n)",
        town,
        evaluation,
        &subjects,
        &kinds,
        &names,
        &members as &[Option<Uuid>],
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// One evaluation of a town.
pub async fn get(conn: &mut PgConnection, town: Uuid, id: Uuid) -> Result<Option<Row>, ApiError> {
    Ok(sqlx::query_as!(
        Row,
        r#"SELECT id, town_id, case_id, member_id, held_at, held_on, place, policy_version, quorum,
                  majority_percent, status AS "status: EvaluationStatus", votes_cast, qualified_votes,
                  not_qualified_votes, return_transfer_id, reset_entry_id, scheduled_by, closed_by, closed_at, cancel_reason,
                  created_at, updated_at, version
           FROM evaluations WHERE town_id = $1 AND id = $2"#,
        town,
        id
    )
    .fetch_optional(conn)
    .await?)
}

/// One evaluation of a town, locked until the transaction ends: votes and closing
/// serialize on it, so no vote can land after the count.
pub async fn lock(conn: &mut PgConnection, town: Uuid, id: Uuid) -> Result<Option<Row>, ApiError> {
    Ok(sqlx::query_as!(
        Row,
        r#"SELECT id, town_id, case_id, member_id, held_at, held_on, place, policy_version, quorum,
                  majority_percent, status AS "status: EvaluationStatus", votes_cast, qualified_votes,
                  not_qualified_votes, return_transfer_id, reset_entry_id, scheduled_by, closed_by, closed_at, cancel_reason,
                  created_at, updated_at, version
           FROM evaluations WHERE town_id = $1 AND id = $2 FOR UPDATE"#,
        town,
        id
    )
    .fetch_optional(conn)
    .await?)
}

/// An evaluation's panel, in order, with who has voted (never how).
pub async fn panel(
    conn: &mut PgConnection,
    town: Uuid,
    evaluation: Uuid,
) -> Result<Vec<Evaluator>, ApiError> {
    Ok(sqlx::query_as!(
        Evaluator,
        r#"SELECT p.kind AS "kind: EvaluatorKind", p.subject, p.name, p.member_id,
                  EXISTS (SELECT 1 FROM evaluation_voters v
                          WHERE v.town_id = p.town_id AND v.evaluation_id = p.evaluation_id
                            AND v.subject = p.subject) AS "has_voted!"
           FROM evaluation_panel p
           WHERE p.town_id = $1 AND p.evaluation_id = $2
           ORDER BY p.position"#,
        town,
        evaluation
    )
    .fetch_all(conn)
    .await?)
}

/// The filters of the evaluation list.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter {
    /// Only this case's.
    pub case_id: Option<Uuid>,
    /// Only with this status.
    pub status: Option<EvaluationStatus>,
}

/// A page of a town's evaluations, in id (scheduling) order.
pub async fn list(
    conn: &mut PgConnection,
    town: Uuid,
    filter: Filter,
    page: Keyset,
) -> Result<Vec<EvaluationSummary>, ApiError> {
    let rows = sqlx::query!(
        r#"SELECT e.id, e.case_id, e.member_id, e.held_at, e.held_on, e.place, e.policy_version,
                  e.status AS "status: EvaluationStatus", e.votes_cast, e.qualified_votes, e.not_qualified_votes,
                  e.closed_at, e.version,
                  (SELECT count(*) FROM evaluation_panel p
                   WHERE p.town_id = e.town_id AND p.evaluation_id = e.id)::int AS "panel_size!"
           FROM evaluations e
           WHERE e.town_id = $1 AND e.id > $2
             AND ($3::uuid IS NULL OR e.case_id = $3) AND ($4::text IS NULL OR e.status = $4)
           ORDER BY e.id LIMIT $5"#,
        town,
        page.after_or_nil(),
        filter.case_id,
        filter.status.map(EvaluationStatus::as_str),
        page.fetch(),
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| EvaluationSummary {
            id: r.id,
            case_id: r.case_id,
            member_id: r.member_id,
            held_at: r.held_at,
            held_on: r.held_on,
            place: r.place,
            policy_version: r.policy_version,
            status: r.status,
            panel_size: r.panel_size,
            votes_cast: r.votes_cast,
            tally: tally_of(r.qualified_votes, r.not_qualified_votes),
            closed_at: r.closed_at,
            version: r.version,
        })
        .collect())
}

/// What the panel check needs to know of the members named on a panel, on the day of
/// the evaluation; members of other towns (or none) are simply absent.
pub async fn member_facts(
    conn: &mut PgConnection,
    town: Uuid,
    members: &[Uuid],
    on: NaiveDate,
) -> Result<HashMap<Uuid, MemberFacts>, ApiError> {
    let rows = sqlx::query!(
        "SELECT id, status FROM members WHERE town_id = $1 AND id = ANY($2)",
        town,
        members,
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut facts = HashMap::with_capacity(rows.len());
    for r in rows {
        let floating =
            crate::certificates::repo::holds_valid_certificate(conn, town, r.id, on).await?;
        facts.insert(
            r.id,
            MemberFacts {
                active: r.status == "active",
                floating,
            },
        );
    }
    Ok(facts)
}

/// Whether `subject` sits on the evaluation's panel.
pub async fn on_panel(
    conn: &mut PgConnection,
    town: Uuid,
    evaluation: Uuid,
    subject: &str,
) -> Result<bool, ApiError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM evaluation_panel
                          WHERE town_id = $1 AND evaluation_id = $2 AND subject = $3) AS "on!""#,
        town,
        evaluation,
        subject
    )
    .fetch_one(conn)
    .await?)
}

/// Whether `subject` has voted in the evaluation.
pub async fn has_voted(
    conn: &mut PgConnection,
    town: Uuid,
    evaluation: Uuid,
    subject: &str,
) -> Result<bool, ApiError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM evaluation_voters
                          WHERE town_id = $1 AND evaluation_id = $2 AND subject = $3) AS "voted!""#,
        town,
        evaluation,
        subject
    )
    .fetch_one(conn)
    .await?)
}

/// What recording a vote answers.
#[derive(Debug, Clone, Copy)]
pub struct Cast {
    /// When the voter voted.
    pub voted_at: DateTime<Utc>,
    /// Votes cast now.
    pub votes_cast: i32,
    /// The evaluation's new version.
    pub version: i64,
}

/// Records a vote of an evaluation locked by [`lock`]: that `subject` voted (once: the
/// voters' key), the verdict as a ballot of its own, and the count. Three statements, so
/// that no row holds both who and how.
pub async fn cast(
    conn: &mut PgConnection,
    town: Uuid,
    evaluation: Uuid,
    subject: &str,
    verdict: Verdict,
) -> Result<Cast, ApiError> {
    let voted_at = sqlx::query_scalar!(
        "INSERT INTO evaluation_voters (town_id, evaluation_id, subject) VALUES ($1, $2, $3)
         RETURNING voted_at",
        town,
        evaluation,
        subject
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO evaluation_ballots (town_id, evaluation_id, verdict) VALUES ($1, $2, $3)",
        town,
        evaluation,
        verdict.as_str()
    )
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query!(
        "UPDATE evaluations SET votes_cast = votes_cast + 1, updated_at = now(), version = version + 1
         WHERE town_id = $1 AND id = $2
         RETURNING votes_cast, version",
        town,
        evaluation
    )
    .fetch_one(conn)
    .await?;
    Ok(Cast {
        voted_at,
        votes_cast: row.votes_cast,
        version: row.version,
    })
}

/// The count of an evaluation's ballots.
pub async fn count(
    conn: &mut PgConnection,
    town: Uuid,
    evaluation: Uuid,
) -> Result<Tally, ApiError> {
    let row = sqlx::query!(
        r#"SELECT count(*) FILTER (WHERE verdict = 'qualified')::int AS "qualified!",
                  count(*) FILTER (WHERE verdict = 'not_qualified')::int AS "not_qualified!"
           FROM evaluation_ballots WHERE town_id = $1 AND evaluation_id = $2"#,
        town,
        evaluation
    )
    .fetch_one(conn)
    .await?;
    Ok(Tally {
        qualified: row.qualified,
        not_qualified: row.not_qualified,
    })
}

/// Seals the ballots of an evaluation that is being closed: the same verdicts, written
/// again by the closing transaction under new random ids and in random order, so that
/// neither their physical order nor their transaction ids match the voting transactions
/// any more. Returns how many there are.
pub async fn seal(conn: &mut PgConnection, town: Uuid, evaluation: Uuid) -> Result<u64, ApiError> {
    Ok(sqlx::query!(
        "WITH old AS (
             DELETE FROM evaluation_ballots WHERE town_id = $1 AND evaluation_id = $2 RETURNING verdict
         )
         INSERT INTO evaluation_ballots (town_id, evaluation_id, verdict)
         SELECT $1, $2, verdict FROM old ORDER BY random()",
        town,
        evaluation
    )
    .execute(conn)
    .await?
    .rows_affected())
}

/// How an evaluation is closed.
#[derive(Debug, Clone)]
pub struct Closing<'a> {
    /// Passed or failed.
    pub status: EvaluationStatus,
    /// The count of the sealed ballots.
    pub tally: Tally,
    /// Who closed it.
    pub by: &'a str,
    /// The transfer back, for a pass.
    pub return_transfer_id: Option<Uuid>,
    /// The score's reset, for a fail that restarts it.
    pub reset_entry_id: Option<Uuid>,
}

/// Closes an open evaluation (locked by [`lock`]) with its tally.
pub async fn close(
    conn: &mut PgConnection,
    town: Uuid,
    evaluation: Uuid,
    c: &Closing<'_>,
) -> Result<Row, ApiError> {
    Ok(sqlx::query_as!(
        Row,
        r#"UPDATE evaluations
           SET status = $3, qualified_votes = $4, not_qualified_votes = $5, closed_by = $6, closed_at = now(),
               return_transfer_id = $7, reset_entry_id = $8, updated_at = now(), version = version + 1
           WHERE town_id = $1 AND id = $2 AND status = 'open'
           RETURNING id, town_id, case_id, member_id, held_at, held_on, place, policy_version, quorum,
                     majority_percent, status AS "status: EvaluationStatus", votes_cast, qualified_votes,
                     not_qualified_votes, return_transfer_id, reset_entry_id, scheduled_by, closed_by, closed_at, cancel_reason,
                     created_at, updated_at, version"#,
        town,
        evaluation,
        c.status.as_str(),
        c.tally.qualified,
        c.tally.not_qualified,
        c.by,
        c.return_transfer_id,
        c.reset_entry_id,
    )
    .fetch_one(conn)
    .await?)
}

/// Destroys the ballots of an evaluation being cancelled (locked by [`lock`]), uncounted.
pub async fn discard_ballots(
    conn: &mut PgConnection,
    town: Uuid,
    evaluation: Uuid,
) -> Result<u64, ApiError> {
    Ok(sqlx::query!(
        "DELETE FROM evaluation_ballots WHERE town_id = $1 AND evaluation_id = $2",
        town,
        evaluation
    )
    .execute(conn)
    .await?
    .rows_affected())
}

/// Cancels an open evaluation (locked by [`lock`]): no tally, a reason.
pub async fn cancel(
    conn: &mut PgConnection,
    town: Uuid,
    evaluation: Uuid,
    by: &str,
    reason: &str,
) -> Result<Row, ApiError> {
    Ok(sqlx::query_as!(
        Row,
        r#"UPDATE evaluations
           SET status = 'cancelled', cancel_reason = $4, closed_by = $3, closed_at = now(),
               updated_at = now(), version = version + 1
           WHERE town_id = $1 AND id = $2 AND status = 'open'
           RETURNING id, town_id, case_id, member_id, held_at, held_on, place, policy_version, quorum,
                     majority_percent, status AS "status: EvaluationStatus", votes_cast, qualified_votes,
                     not_qualified_votes, return_transfer_id, reset_entry_id, scheduled_by, closed_by, closed_at, cancel_reason,
                     created_at, updated_at, version"#,
        town,
        evaluation,
        by,
        reason,
    )
    .fetch_one(conn)
    .await?)
}
