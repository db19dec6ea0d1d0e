//! What the read-outs answer: a town's summary and a case's score over time.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::scores::points::HalfPoints;

/// A town at a glance.
#[derive(Debug, Serialize, ToSchema)]
pub struct TownSummary {
    /// The town summarized, the `{town}` in the path.
    pub town_id: Uuid,
    /// Members in a branch of the town.
    pub members_active: i64,
    /// Open cases that are `active`.
    pub cases_active: i64,
    /// Open cases below the low threshold.
    pub cases_below_threshold: i64,
    /// Cases due for an evaluation.
    pub cases_evaluation_due: i64,
    /// Cases whose status is `under_evaluation`.
    pub cases_under_evaluation: i64,
    /// Evaluations scheduled and not closed.
    pub evaluations_open: i64,
    /// Trainees in this year's cohort (0 without one).
    pub cohort_size: i64,
    /// Desk entries not yet resolved (registered, in progress or referred) that the caller
    /// may see: counselling entries count for their author and the committee only.
    pub desk_entries_open: i64,
}

crate::text_enum! {
    /// How the score history is answered.
    pub enum ChartFormat {
        /// A JSON time series (the default).
        Json = "json",
        /// An SVG chart of the score over time with the two thresholds drawn.
        Svg = "svg",
    }
}

/// The `?format=` of the score history.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChartQuery {
    /// `json` or `svg`. Without it the `Accept` header decides (`image/svg+xml` or
    /// `application/json`), and JSON when it names neither.
    #[param(inline)]
    pub format: Option<ChartFormat>,
    /// The history as of this time (RFC 3339; default now): later entries are left out,
    /// and the chart's last step holds until then. Give it to get the same chart twice.
    pub as_of: Option<DateTime<Utc>>,
}

/// One point of a score's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScorePoint {
    /// When the score became this.
    pub at: DateTime<Utc>,
    /// The score from then on.
    pub score: HalfPoints,
}

/// A case's score over time.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScoreHistory {
    /// The case whose score this is, the `{case}` in the path.
    pub case_id: Uuid,
    /// The low threshold of the current policy.
    pub low_threshold: HalfPoints,
    /// The evaluation threshold of the current policy.
    pub evaluation_threshold: HalfPoints,
    /// The score when the case opened, then after every entry, oldest first.
    pub points: Vec<ScorePoint>,
}
