//! The ledger: the only code that writes points (articles 21-23).
//!
//! [`Ledger::lock`] reads the town's current scoring rules and locks the cases a
//! transaction will write to, in one statement; [`Ledger::write`] takes a batch of
//! entries, applies the scoring rules in the order given and answers, for each entry,
//! whether it was written (with the thresholds it crossed) or refused and why. The
//! entries, the cases' new states, the committee matters and the audit records are written
//! inside the caller's transaction, so an entry and its consequences commit together or
//! not at all. The ledger is append-only: a wrong entry
//! is undone by a reversal, never edited.
//!
//! `domain` holds the pure rules, `points` the exact amounts, `repo` the SQL and
//! `workflow` the writing of a batch. The ledger has no endpoints of its own: a case's
//! ledger is read under `/cases`.

pub mod domain;
pub mod points;
pub mod repo;
pub mod workflow;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use self::domain::{CaseState, CaseStatus, Effect, EntryKind, Refusal};
use self::points::HalfPoints;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::msg;

pub use self::repo::{entry, ledger_page};
pub use self::workflow::{Ledger, end_evaluation};

crate::text_enum! {
    /// What earned a ledger entry.
    pub enum SourceType {
        /// A task's outcome.
        Task = "task",
        /// An attendance record of an activity.
        Attendance = "attendance",
        /// An attendance record of a branch meeting (a center-branch meeting's absence).
        MeetingAttendance = "meeting_attendance",
        /// An upheld objection.
        Objection = "objection",
    }
}

/// One ledger entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LedgerEntry {
    /// The ledger entry's id, assigned when it is written.
    pub id: Uuid,
    /// The case whose score it moves.
    pub case_id: Uuid,
    /// Its position in the case's ledger: 1, 2, 3, ...
    pub seq: i32,
    /// What it adds to the score (negative: takes away).
    pub points: HalfPoints,
    /// What it is for.
    pub kind: EntryKind,
    /// What earned it: a task, an attendance record (of an activity or a meeting), an objection.
    pub source_type: Option<SourceType>,
    /// The task, attendance record or objection.
    pub source_id: Option<Uuid>,
    /// For a reversal: the entry it reverses.
    pub reverses_entry_id: Option<Uuid>,
    /// For a correction or reversal: why.
    pub reason: Option<String>,
    /// Who recorded it (token subject).
    pub recorded_by: String,
    /// The role they recorded it with.
    pub recorded_role: String,
    /// When it was written.
    pub recorded_at: DateTime<Utc>,
    /// The policy version it was scored under.
    pub policy_version: i32,
    /// The case's score just after it.
    pub score_after: HalfPoints,
}

/// The part of a town's current policy the ledger scores by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scoring {
    /// The policy's version, recorded with each entry.
    pub version: i32,
    /// The thresholds and the step.
    pub rules: domain::Rules,
    /// Whether an excused leave costs points like an absence.
    pub excused_leave_costs: bool,
}

/// An entry to write.
#[derive(Debug, Clone)]
pub struct NewEntry {
    /// The case whose score it moves.
    pub case_id: Uuid,
    /// What it is for.
    pub kind: EntryKind,
    /// How much; for task outcomes and absences, the policy's step (see
    /// [`Ledger::step`]).
    pub points: HalfPoints,
    /// What earned it.
    pub source: Option<(SourceType, Uuid)>,
    /// For a reversal: the entry reversed.
    pub reverses: Option<Uuid>,
    /// For a correction or reversal: why.
    pub reason: Option<String>,
}

impl NewEntry {
    /// A committee correction of `points` (any amount but zero), with its reason.
    pub fn correction(case_id: Uuid, points: HalfPoints, reason: String) -> NewEntry {
        NewEntry {
            case_id,
            kind: EntryKind::Correction,
            points,
            source: None,
            reverses: None,
            reason: Some(reason),
        }
    }

    /// The reversal of `target` (its opposite amount), with its reason; `source` is what
    /// asked for it (an upheld objection), if anything but the committee.
    pub fn reversal(
        target: &LedgerEntry,
        source: Option<(SourceType, Uuid)>,
        reason: String,
    ) -> NewEntry {
        NewEntry {
            case_id: target.case_id,
            kind: EntryKind::Reversal,
            points: -target.points,
            source,
            reverses: Some(target.id),
            reason: Some(reason),
        }
    }
}

/// What writing an entry did.
#[derive(Debug, Clone)]
pub struct Written {
    /// The entry, as stored.
    pub entry: LedgerEntry,
    /// The case's status after it.
    pub status: CaseStatus,
    /// The thresholds it crossed.
    pub effects: Vec<Effect>,
}

/// What the ledger did with one entry of a batch.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The entry was written, with what it set off.
    Written(Written),
    /// The rules refused it (a concluded case, a frozen score); nothing was written.
    Refused(Refusal),
}

impl Outcome {
    /// The written entry, or the refusal as the client's 409.
    pub fn written(self) -> Result<Written, ApiError> {
        match self {
            Outcome::Written(w) => Ok(w),
            Outcome::Refused(r) => Err(refusal_error(r)),
        }
    }
}

/// The case as the scoring rules see it, locked for this transaction.
#[derive(Debug, Clone)]
pub struct LockedCase {
    /// The id of the locked case (the transformation case being scored).
    pub id: Uuid,
    /// The member under transformation.
    pub member_id: Uuid,
    /// What the scoring rules need to know of it.
    pub state: CaseState,
}

/// Locks a case row for the rest of the transaction and reads its scoring state; 404 when
/// the town has no such case.
pub async fn lock_case(
    conn: &mut PgConnection,
    town: Uuid,
    case: Uuid,
) -> Result<LockedCase, ApiError> {
    repo::lock_case(conn, town, case)
        .await?
        .ok_or(ApiError::NotFound)
}

/// The client's 409 for a refused entry.
pub fn refusal_error(r: Refusal) -> ApiError {
    match r {
        Refusal::Concluded => crate::error::constraints::CASE_CONCLUDED.into(),
        Refusal::Frozen => ApiError::conflict(
            "score_frozen",
            msg!(
                "按本镇规定，达到评议分数线后积分不再变动。",
                "By the town's policy, the score no longer moves once an evaluation is due."
            ),
        ),
    }
}

/// Writes one entry and everything it sets off under the current policy; a refusal is
/// the client's 409. The caller holds a transaction.
pub async fn write_entry(
    conn: &mut PgConnection,
    caller: &Caller,
    town: Uuid,
    e: NewEntry,
) -> Result<Written, ApiError> {
    Ledger::lock(conn, town, [e.case_id])
        .await?
        .write_one(conn, caller, e)
        .await
}
