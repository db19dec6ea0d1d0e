//! Transformation cases (转化档案): pure types.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::scores::domain::CaseStatus;
use crate::scores::points::HalfPoints;

crate::text_enum! {
    /// How a case ended.
    pub enum Conclusion {
        /// A passed evaluation: the relation went back to the original branch.
        Returned = "returned",
        /// Removal from the party, by a committee disposition.
        Removed = "removed",
        /// Ended otherwise.
        Other = "other",
    }
}

crate::text_enum! {
    /// What the committee decided on a case whose score fell below the low threshold (art. 23).
    pub enum Disposition {
        /// A heart-to-heart talk (谈心谈话).
        Talk = "talk",
        /// A deadline to correct (限期改正).
        Deadline = "deadline",
        /// Persuasion to leave the party (劝退).
        PersuadeToLeave = "persuade_to_leave",
        /// Removal from the party (除名): ends the case and the membership.
        Removal = "removal",
        /// Anything else, as the note says.
        Other = "other",
    }
}

/// A transformation case.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Case {
    /// The case's id.
    pub id: Uuid,
    /// The town.
    pub town_id: Uuid,
    /// The member under transformation.
    pub member_id: Uuid,
    /// The branch the member came from, and goes back to after a passed evaluation.
    pub original_branch_id: Uuid,
    /// The transfer that moved the member's relation into the center branch.
    pub intake_transfer_id: Uuid,
    /// Why the committee took the member in.
    pub reason: String,
    /// When (town calendar date).
    pub opened_on: NaiveDate,
    /// Who recorded it.
    pub opened_by: String,
    /// The policy version in force when it opened.
    pub policy_version: i32,
    /// The base score it opened with.
    pub base_score: HalfPoints,
    /// The score: always the base plus the sum of the ledger.
    pub score: HalfPoints,
    /// Where it stands.
    pub status: CaseStatus,
    /// When the score first reached the evaluation threshold.
    pub evaluation_due_at: Option<DateTime<Utc>>,
    /// How many ledger entries it has.
    pub entries_count: i32,
    /// When it ended.
    pub concluded_on: Option<NaiveDate>,
    /// How it ended.
    pub conclusion: Option<Conclusion>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Version; the `ETag` is this number in quotes.
    pub version: i64,
}

/// Taking a member in for transformation (committee, art. 20).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCase {
    /// The member, active in a branch of the town other than the center.
    pub member_id: Uuid,
    /// Why, 1 to 500 characters.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
    /// The date of the committee's decision (not in the future); default today.
    #[serde(default)]
    pub decided_on: Option<NaiveDate>,
}

crate::text_enum! {
    /// What a committee adjustment does.
    pub enum AdjustmentKind {
        /// Adds any amount but zero (`points`), with a reason.
        Correction = "correction",
        /// Undoes one earlier entry (`entry_id`), once, with a reason.
        Reversal = "reversal",
    }
}

/// A committee adjustment of a case's score: a correction (with `points`) or the reversal
/// of one entry (with `entry_id`); always with a reason.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Adjustment {
    /// `correction` or `reversal`.
    pub kind: AdjustmentKind,
    /// For a correction: the points to add (negative: take away), in steps of 0.5, not 0.
    #[serde(default)]
    pub points: Option<HalfPoints>,
    /// For a reversal: the entry to reverse (a reversal itself cannot be reversed).
    #[serde(default)]
    pub entry_id: Option<Uuid>,
    /// Why, 1 to 500 characters.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// A committee matter: opened when the score went below the low threshold.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Matter {
    /// The matter's id.
    pub id: Uuid,
    /// The case.
    pub case_id: Uuid,
    /// The entry whose score crossed the threshold.
    pub opened_by_entry_id: Uuid,
    /// When it opened.
    pub opened_at: DateTime<Utc>,
    /// The score then.
    pub score: HalfPoints,
    /// The committee's disposition, once decided.
    pub disposition: Option<Disposition>,
    /// The committee's note.
    pub disposition_note: Option<String>,
    /// For a deadline: by when.
    pub deadline: Option<NaiveDate>,
    /// Who decided.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<DateTime<Utc>>,
    /// Version; the `ETag` is this number in quotes.
    pub version: i64,
}

/// The committee's disposition of a matter.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDisposition {
    /// What the committee decided.
    pub disposition: Disposition,
    /// The committee's note, 1 to 2000 characters.
    #[schema(min_length = 1, max_length = 2000)]
    pub note: String,
    /// For `deadline`: by when (a date after today).
    #[serde(default)]
    pub deadline: Option<NaiveDate>,
}
