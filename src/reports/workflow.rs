//! The read-outs that combine several domains' reads.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{ScoreHistory, ScorePoint};
use super::repo;
use crate::error::ApiError;

/// A case's score from its opening to `as_of`, with the town's two thresholds; `None`
/// when the town has no such case.
pub async fn score_history(
    conn: &mut PgConnection,
    town: Uuid,
    case: Uuid,
    as_of: DateTime<Utc>,
) -> Result<Option<ScoreHistory>, ApiError> {
    let Some(opened) = crate::cases::repo::get(&mut *conn, town, case).await? else {
        return Ok(None);
    };
    let policy = crate::policy::current(&mut *conn, town).await?;
    let mut points = vec![ScorePoint {
        at: opened.created_at,
        score: opened.base_score,
    }];
    points.extend(repo::score_points(&mut *conn, town, case, as_of).await?);
    Ok(Some(ScoreHistory {
        case_id: case,
        low_threshold: policy.low_threshold,
        evaluation_threshold: policy.evaluation_threshold,
        points,
    }))
}
