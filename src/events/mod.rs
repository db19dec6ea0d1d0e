//! The change feed (`/towns/{town}/events`): every committed write of a town, in a stable
//! order, for county systems and mobile backends that sync.
//!
//! Events are the audit trail's rows, written in the same transaction as each change, so
//! an event exists if and only if its change committed. They are read by `(tx_id, id)`,
//! and only from transactions older than every transaction still running
//! (`pg_snapshot_xmin`): a later read can never find an event before a position already
//! handed out, so a consumer that resumes from its last cursor misses nothing and sees
//! nothing twice, even while writers commit out of order. Long-polling (`wait=`) sleeps on
//! a broadcast fed by one LISTEN connection per process, woken at each commit.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::broadcast;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

pub mod domain;
pub mod repo;
mod routes;

/// Registers the module's routes under `/api/v1/towns/{town}/events`,
/// with paths relative to it (the scope is built in `startup::routes`).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(routes::list_events);
}

/// The longest a request may wait for new events.
pub const MAX_WAIT_SECS: u32 = 30;

/// Wakes waiting readers when a town's write commits.
#[derive(Debug, Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Uuid>,
}

impl EventBus {
    /// A bus with nobody listening to the database yet.
    pub fn new() -> EventBus {
        let (sender, _) = broadcast::channel(1024);
        EventBus { sender }
    }

    /// Listens to the database's notifications for as long as the process runs,
    /// reconnecting after errors.
    pub fn listen(&self, pool: PgPool) {
        let sender = self.sender.clone();
        // A connection of its own, outside the request pool: a LISTEN holds its connection
        // for good, and must never take one that requests need.
        let own = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(2))
            .connect_lazy_with((*pool.connect_options()).clone());
        tokio::spawn(async move {
            loop {
                // Wherever the request pool connects now: after a failover, the new primary.
                own.set_connect_options((*pool.connect_options()).clone());
                match PgListener::connect_with(&own).await {
                    Ok(mut listener) => {
                        // Reconnecting is ours to do (above), so that it follows the primary.
                        listener.eager_reconnect(false);
                        let writable = crate::db::repo::accepts_writes(&mut listener).await;
                        if !matches!(writable, Ok(true)) {
                            // NOTIFY is sent on the primary only: a standby would stay silent.
                            tracing::warn!(
                                "event listener reached a read-only server; trying again"
                            );
                        } else if let Err(e) = listener.listen("party_center_events").await {
                            tracing::warn!(error = %e, "cannot LISTEN for events");
                        } else {
                            loop {
                                match listener.try_recv().await {
                                    Ok(Some(n)) => {
                                        if let Ok(town) = n.payload().parse::<Uuid>() {
                                            let _ = sender.send(town);
                                        }
                                    }
                                    Ok(None) => {
                                        tracing::warn!("event listener lost its connection");
                                        break;
                                    }
                                    Err(e) => {
                                        tracing::warn!(error = %e, "event listener lost its connection");
                                        break;
                                    }
                                }
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "event listener cannot connect"),
                }
                // A missed wake-up only delays a long-poll until its next check.
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }

    fn subscribe(&self) -> broadcast::Receiver<Uuid> {
        self.sender.subscribe()
    }
}

impl Default for EventBus {
    fn default() -> EventBus {
        EventBus::new()
    }
}

/// One committed change.
#[derive(Debug, Serialize, ToSchema)]
pub struct Event {
    /// The event's position; pass as `cursor` to read what follows it.
    pub cursor: String,
    /// What happened, such as `case.opened`, `ledger.entry_added`, `case.threshold_low`,
    /// `transfer.completed`, `member.created`.
    #[serde(rename = "type")]
    pub type_: String,
    /// The kind of resource.
    pub resource_type: String,
    /// The id of the resource the event is about, of the kind in `resource_type`.
    pub resource_id: Uuid,
    /// When the change was made.
    pub occurred_at: DateTime<Utc>,
    /// Who made it (token subject).
    pub actor: String,
    /// With which role.
    pub actor_role: String,
    /// A compact payload: ids, states, points; never personal data.
    #[schema(value_type = Object)]
    pub data: Value,
}

/// A page of the feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    /// The events after the cursor given, oldest first.
    pub items: Vec<Event>,
    /// Where to resume: the last event's cursor, or the cursor given again when there was none.
    pub next_cursor: String,
}

/// Where to read from.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// The `next_cursor` (or an event's `cursor`) already read; omit to start at the
    /// beginning. The same as `after`, by the name every other list pages with; give
    /// one of the two (400 `invalid_query` for both).
    #[param(pattern = "^[A-Za-z0-9_-]+$", min_length = 1, max_length = 100)]
    pub cursor: Option<String>,
    /// The `next_cursor` (or an event's `cursor`) already read: the feed's first name for
    /// `cursor`, kept for clients written against it.
    #[param(pattern = "^[A-Za-z0-9_-]+$", min_length = 1, max_length = 100)]
    pub after: Option<String>,
    /// How many events at most: 1 to 500, default 100.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// Seconds to wait for new events when there are none yet: 0 to 30, default 0.
    #[param(minimum = 0, maximum = 30)]
    pub wait: Option<u32>,
}
