//! The policy's statements: the current and a given version, the first version of a new
//! town, the next version, and the lock that orders changes.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::Policy;
use crate::error::ApiError;
use crate::scores::points::HalfPoints;

/// A row of `policies`, in half-points as stored.
struct Row {
    version: i32,
    base_half_points: i32,
    step_half_points: i32,
    low_threshold_half_points: i32,
    evaluation_threshold_half_points: i32,
    excused_leave_costs: bool,
    score_moves_after_due: bool,
    failed_evaluation_resets_score: bool,
    evaluation_quorum: i32,
    evaluation_majority_percent: i32,
    objection_period_working_days: i32,
    cohort_min: i32,
    cohort_max: i32,
    mentor_limit: i32,
    letter_validity_default_days: i32,
    letter_validity_max_days: i32,
    applicant_min_age: i32,
    talk_within_months: i32,
    contacts_min: i32,
    contacts_max: i32,
    activist_review_months: i32,
    activist_min_months: i32,
    introducers: i32,
    training_min_days: i32,
    development_majority_percent: i32,
    approval_within_months: i32,
    probation_months: i32,
    extension_min_months: i32,
    extension_max_months: i32,
    general_meetings_per_quarter: i32,
    branch_committees_per_month: i32,
    party_groups_per_month: i32,
    party_lectures_per_quarter: i32,
    theme_days_per_month: i32,
    life_meetings_per_year: i32,
    member_appraisals_per_year: i32,
    created_at: DateTime<Utc>,
    created_by: String,
}

impl From<Row> for Policy {
    fn from(r: Row) -> Policy {
        Policy {
            version: r.version,
            base_score: HalfPoints(r.base_half_points),
            step: HalfPoints(r.step_half_points),
            low_threshold: HalfPoints(r.low_threshold_half_points),
            evaluation_threshold: HalfPoints(r.evaluation_threshold_half_points),
            excused_leave_costs: r.excused_leave_costs,
            score_moves_after_due: r.score_moves_after_due,
            failed_evaluation_resets_score: r.failed_evaluation_resets_score,
            evaluation_quorum: r.evaluation_quorum,
            evaluation_majority_percent: r.evaluation_majority_percent,
            objection_period_working_days: r.objection_period_working_days,
            cohort_min: r.cohort_min,
            cohort_max: r.cohort_max,
            mentor_limit: r.mentor_limit,
            letter_validity_default_days: r.letter_validity_default_days,
            letter_validity_max_days: r.letter_validity_max_days,
            applicant_min_age: r.applicant_min_age,
            talk_within_months: r.talk_within_months,
            contacts_min: r.contacts_min,
            contacts_max: r.contacts_max,
            activist_review_months: r.activist_review_months,
            activist_min_months: r.activist_min_months,
            introducers: r.introducers,
            training_min_days: r.training_min_days,
            development_majority_percent: r.development_majority_percent,
            approval_within_months: r.approval_within_months,
            probation_months: r.probation_months,
            extension_min_months: r.extension_min_months,
            extension_max_months: r.extension_max_months,
            general_meetings_per_quarter: r.general_meetings_per_quarter,
            branch_committees_per_month: r.branch_committees_per_month,
            party_groups_per_month: r.party_groups_per_month,
            party_lectures_per_quarter: r.party_lectures_per_quarter,
            theme_days_per_month: r.theme_days_per_month,
            life_meetings_per_year: r.life_meetings_per_year,
            member_appraisals_per_year: r.member_appraisals_per_year,
            created_at: r.created_at,
            created_by: r.created_by,
        }
    }
}

/// The town's current policy.
pub async fn current(conn: &mut PgConnection, town: Uuid) -> Result<Policy, ApiError> {
    let row = sqlx::query_as!(
        Row,
        "SELECT version, base_half_points, step_half_points, low_threshold_half_points,
                evaluation_threshold_half_points, excused_leave_costs, score_moves_after_due,
                failed_evaluation_resets_score, evaluation_quorum, evaluation_majority_percent,
                objection_period_working_days, cohort_min, cohort_max, mentor_limit,
                letter_validity_default_days, letter_validity_max_days,
                applicant_min_age, talk_within_months, contacts_min, contacts_max,
                activist_review_months, activist_min_months, introducers, training_min_days,
                development_majority_percent, approval_within_months, probation_months,
                extension_min_months, extension_max_months,
                general_meetings_per_quarter, branch_committees_per_month, party_groups_per_month, party_lectures_per_quarter, theme_days_per_month, life_meetings_per_year, member_appraisals_per_year, created_at, created_by
         FROM policies WHERE town_id = $1 ORDER BY version DESC LIMIT 1",
        town
    )
    .fetch_optional(conn)
    .await?
    .ok_or(ApiError::NotFound)?;
    Ok(row.into())
}

/// A given version of the town's policy.
pub async fn version(
    conn: &mut PgConnection,
    town: Uuid,
    version: i32,
) -> Result<Policy, ApiError> {
    let row = sqlx::query_as!(
        Row,
        "SELECT version, base_half_points, step_half_points, low_threshold_half_points,
                evaluation_threshold_half_points, excused_leave_costs, score_moves_after_due,
                failed_evaluation_resets_score, evaluation_quorum, evaluation_majority_percent,
                objection_period_working_days, cohort_min, cohort_max, mentor_limit,
                letter_validity_default_days, letter_validity_max_days,
                applicant_min_age, talk_within_months, contacts_min, contacts_max,
                activist_review_months, activist_min_months, introducers, training_min_days,
                development_majority_percent, approval_within_months, probation_months,
                extension_min_months, extension_max_months,
                general_meetings_per_quarter, branch_committees_per_month, party_groups_per_month, party_lectures_per_quarter, theme_days_per_month, life_meetings_per_year, member_appraisals_per_year, created_at, created_by
         FROM policies WHERE town_id = $1 AND version = $2",
        town,
        version
    )
    .fetch_optional(conn)
    .await?
    .ok_or(ApiError::NotFound)?;
    Ok(row.into())
}

/// Writes version 1, the rules as written, for a new town.
pub async fn create_initial(conn: &mut PgConnection, town: Uuid, by: &str) -> Result<(), ApiError> {
    sqlx::query!(
        "INSERT INTO policies (town_id, version, created_by) VALUES ($1, 1, $2)",
        town,
        by
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Stores a new policy version for the town, by whom; returns it as stored.
pub async fn insert(
    conn: &mut PgConnection,
    town: Uuid,
    p: &Policy,
    by: &str,
) -> Result<Policy, ApiError> {
    let row = sqlx::query_as!(
        Row,
        "INSERT INTO policies (town_id, version, base_half_points, step_half_points, low_threshold_half_points,
                               evaluation_threshold_half_points, excused_leave_costs, score_moves_after_due,
                               failed_evaluation_resets_score, evaluation_quorum, evaluation_majority_percent,
                               objection_period_working_days, cohort_min, cohort_max, mentor_limit,
                               letter_validity_default_days, letter_validity_max_days,
                               applicant_min_age, talk_within_months, contacts_min, contacts_max,
                               activist_review_months, activist_min_months, introducers, training_min_days,
                               development_majority_percent, approval_within_months, probation_months,
                               extension_min_months, extension_max_months,
                               general_meetings_per_quarter, branch_committees_per_month, party_groups_per_month, party_lectures_per_quarter, theme_days_per_month, life_meetings_per_year, member_appraisals_per_year, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                 $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31,
                 $32, $33, $34, $35, $36, $37, $38)
         RETURNING version, base_half_points, step_half_points, low_threshold_half_points,
                   evaluation_threshold_half_points, excused_leave_costs, score_moves_after_due,
                   failed_evaluation_resets_score, evaluation_quorum, evaluation_majority_percent,
                   objection_period_working_days, cohort_min, cohort_max, mentor_limit,
                   letter_validity_default_days, letter_validity_max_days,
                applicant_min_age, talk_within_months, contacts_min, contacts_max,
                activist_review_months, activist_min_months, introducers, training_min_days,
                development_majority_percent, approval_within_months, probation_months,
                extension_min_months, extension_max_months,
                general_meetings_per_quarter, branch_committees_per_month, party_groups_per_month, party_lectures_per_quarter, theme_days_per_month, life_meetings_per_year, member_appraisals_per_year, created_at, created_by",
        town,
        p.version,
        p.base_score.0,
        p.step.0,
        p.low_threshold.0,
        p.evaluation_threshold.0,
        p.excused_leave_costs,
        p.score_moves_after_due,
        p.failed_evaluation_resets_score,
        p.evaluation_quorum,
        p.evaluation_majority_percent,
        p.objection_period_working_days,
        p.cohort_min,
        p.cohort_max,
        p.mentor_limit,
        p.letter_validity_default_days,
        p.letter_validity_max_days,
        p.applicant_min_age,
        p.talk_within_months,
        p.contacts_min,
        p.contacts_max,
        p.activist_review_months,
        p.activist_min_months,
        p.introducers,
        p.training_min_days,
        p.development_majority_percent,
        p.approval_within_months,
        p.probation_months,
        p.extension_min_months,
        p.extension_max_months,
        p.general_meetings_per_quarter,
        p.branch_committees_per_month,
        p.party_groups_per_month,
        p.party_lectures_per_quarter,
        p.theme_days_per_month,
        p.life_meetings_per_year,
        p.member_appraisals_per_year,
        by,
    )
    .fetch_one(conn)
    .await?;
    Ok(row.into())
}

/// Locks the town's row: changes of one town's policy take the next version number
/// under it, one at a time.
pub async fn lock_town(conn: &mut PgConnection, town: Uuid) -> Result<(), ApiError> {
    sqlx::query!("SELECT id FROM towns WHERE id = $1 FOR UPDATE", town)
        .fetch_one(conn)
        .await?;
    Ok(())
}

/// The town's versions before `before`, newest first, at most `limit`.
pub async fn versions(
    conn: &mut PgConnection,
    town: Uuid,
    before: i32,
    limit: i64,
) -> Result<Vec<Policy>, ApiError> {
    let rows = sqlx::query_as!(
        Row,
        "SELECT version, base_half_points, step_half_points, low_threshold_half_points,
                evaluation_threshold_half_points, excused_leave_costs, score_moves_after_due,
                failed_evaluation_resets_score, evaluation_quorum, evaluation_majority_percent,
                objection_period_working_days, cohort_min, cohort_max, mentor_limit,
                letter_validity_default_days, letter_validity_max_days,
                applicant_min_age, talk_within_months, contacts_min, contacts_max,
                activist_review_months, activist_min_months, introducers, training_min_days,
                development_majority_percent, approval_within_months, probation_months,
                extension_min_months, extension_max_months,
                general_meetings_per_quarter, branch_committees_per_month, party_groups_per_month, party_lectures_per_quarter, theme_days_per_month, life_meetings_per_year, member_appraisals_per_year, created_at, created_by
         FROM policies WHERE town_id = $1 AND version < $2 ORDER BY version DESC LIMIT $3",
        town,
        before,
        limit,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(Policy::from).collect())
}
