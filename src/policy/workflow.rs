//! The policy's one change: a new version, over the caller's transaction.

use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::domain::{Policy, PolicyChange};
use super::repo;
use crate::audit::{self, Change};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::http::extract::IfMatch;

/// Makes the next version of the town's policy from the current one and `change`
/// (which must name the current version in `If-Match`), and records it.
pub async fn change(
    tx: &mut PgConnection,
    by: &Caller,
    town: Uuid,
    change: &PolicyChange,
    if_match: IfMatch,
) -> Result<Policy, ApiError> {
    // Serialize changes of one town's policy: the next version number is taken under this lock.
    repo::lock_town(tx, town).await?;
    let now = repo::current(tx, town).await?;
    // A body that breaks a rule is refused (422) whatever version it names; a valid one
    // for a version that is not the current one is a 412.
    let next = change.apply_to(&now)?;
    if_match.check(i64::from(now.version))?;
    let saved = repo::insert(tx, town, &next, &by.sub).await?;
    audit::record(
        tx,
        by,
        Change {
            town_id: town,
            action: "policy.changed",
            resource_type: "policy",
            resource_id: town,
            data: json!({ "version": saved.version }),
        },
    )
    .await?;
    Ok(saved)
}
