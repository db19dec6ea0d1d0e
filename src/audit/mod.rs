//! The audit trail: who did what, when, with which request. Written in the same
//! transaction as the change it describes, so the two can never disagree; the table is
//! append-only in the database itself (see the foundation migration).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgConnection;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::ApiError;

pub mod repo;
mod routes;

/// One change, as recorded.
#[derive(Debug, Clone)]
pub struct Change {
    /// The town the change belongs to.
    pub town_id: Uuid,
    /// What happened, as `<resource>.<verb>`, e.g. `branch.created`.
    pub action: &'static str,
    /// The kind of resource, e.g. `branch`.
    pub resource_type: &'static str,
    /// The id of the changed resource, of the kind in `resource_type`.
    pub resource_id: Uuid,
    /// A compact description of the change: ids, states, versions; never personal data.
    pub data: Value,
}

/// Appends `change` to the trail inside the caller's transaction.
pub async fn record(
    conn: &mut PgConnection,
    caller: &Caller,
    change: Change,
) -> Result<(), ApiError> {
    repo::insert(conn, caller, &change).await
}

/// Appends many changes of one kind of resource with one statement (set-based writers:
/// imports, attendance rolls).
pub async fn record_many(
    conn: &mut PgConnection,
    caller: &Caller,
    town: Uuid,
    resource_type: &str,
    actions: &[String],
    resource_ids: &[Uuid],
    data: &[Value],
) -> Result<(), ApiError> {
    repo::insert_many(
        conn,
        caller,
        town,
        resource_type,
        actions,
        resource_ids,
        data,
    )
    .await
}

/// Registers the module's routes under `/api/v1/towns/{town}/audit`,
/// with paths relative to it (the scope is built in `startup::routes`).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(routes::list_audit);
}

/// One recorded change.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    /// Its position in the trail (increasing).
    pub id: i64,
    /// When the change was made.
    pub occurred_at: DateTime<Utc>,
    /// Who made it (the token's subject).
    pub actor_sub: String,
    /// With which role.
    pub actor_role: String,
    /// The request it was made by (`x-request-id`).
    pub request_id: Option<String>,
    /// What happened, e.g. `member.created`, `member.revealed`.
    pub action: String,
    /// The kind of resource.
    pub resource_type: String,
    /// The id of the changed resource, of the kind in `resource_type`.
    pub resource_id: Uuid,
    /// A compact description of the change (ids, states; never personal data).
    #[schema(value_type = Object)]
    pub data: Value,
}

/// Filters of the audit trail.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this kind of resource, e.g. `member`.
    #[param(max_length = 50)]
    pub resource_type: Option<String>,
    /// Only this resource.
    pub resource_id: Option<Uuid>,
    /// Only changes by this subject.
    #[param(max_length = 200)]
    pub actor: Option<String>,
    /// Only changes at or after this time (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Only changes before this time (RFC 3339).
    pub to: Option<DateTime<Utc>>,
}
