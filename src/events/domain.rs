//! The feed's positions and the checks of a feed request: pure, with unit tests.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::repo::Row;
use super::{Event, EventPage, EventQuery, MAX_WAIT_SECS};
use crate::error::ApiError;
use crate::msg;

/// A position in the feed: the committing transaction and the audit row, in the order
/// events are handed out.
pub type Position = (i64, i64);

/// A checked request: where to start, how many, how long to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedRequest {
    /// The last position already read; `(0, 0)` for the beginning.
    pub after: Position,
    /// At most this many events (1 to 500).
    pub limit: u32,
    /// Seconds to wait for an event when there is none yet (0 to 30).
    pub wait: u32,
}

impl FeedRequest {
    /// Checks the query: `cursor` or its alias `after` (not both), `limit`, `wait`; each
    /// problem is a 400 naming it.
    pub fn check(query: &EventQuery) -> Result<FeedRequest, ApiError> {
        let cursor = match (query.cursor.as_deref(), query.after.as_deref()) {
            (Some(_), Some(_)) => {
                return Err(ApiError::bad_request(
                    "invalid_query",
                    msg!(
                        "cursor 与 after 含义相同，只能给出其一。",
                        "`cursor` and `after` mean the same: give one of them."
                    ),
                ));
            }
            (cursor, after) => cursor.or(after),
        };
        let after = match cursor {
            None => (0, 0),
            Some(c) => decode(c).ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_cursor",
                    msg!(
                        "cursor 无效：请使用上次返回的 next_cursor。",
                        "Invalid cursor: pass a next_cursor you were given."
                    ),
                )
            })?,
        };
        let limit = query.limit.unwrap_or(100);
        if !(1..=500).contains(&limit) {
            return Err(ApiError::bad_request(
                "invalid_limit",
                msg!(
                    "limit 须在 1 到 500 之间。",
                    "limit must be between 1 and 500."
                ),
            ));
        }
        let wait = query.wait.unwrap_or(0);
        if wait > MAX_WAIT_SECS {
            return Err(ApiError::bad_request(
                "invalid_wait",
                msg!("wait 最多 30 秒。", "wait is at most 30 seconds."),
            ));
        }
        Ok(FeedRequest { after, limit, wait })
    }
}

impl EventPage {
    /// The page of `rows` read after `after`: its events, and where to resume (the last
    /// event, or `after` again when there was none).
    pub fn after(after: Position, rows: Vec<Row>) -> EventPage {
        let next_cursor = rows
            .last()
            .map_or_else(|| encode(after.0, after.1), |r| encode(r.tx, r.id));
        let items = rows
            .into_iter()
            .map(|r| Event {
                cursor: encode(r.tx, r.id),
                type_: r.action,
                resource_type: r.resource_type,
                resource_id: r.resource_id,
                occurred_at: r.occurred_at,
                actor: r.actor_sub,
                actor_role: r.actor_role,
                data: r.data,
            })
            .collect();
        EventPage { items, next_cursor }
    }
}

/// The cursor of a position: opaque to clients, versioned (`e1:`).
pub fn encode(tx: i64, id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("e1:{tx}:{id}"))
}

/// The position in a cursor made by `encode`; `None` for anything else.
pub fn decode(cursor: &str) -> Option<(i64, i64)> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let (tx, id) = text.strip_prefix("e1:")?.split_once(':')?;
    Some((tx.parse().ok()?, id.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(
        cursor: Option<&str>,
        after: Option<&str>,
        limit: Option<u32>,
        wait: Option<u32>,
    ) -> EventQuery {
        EventQuery {
            cursor: cursor.map(str::to_owned),
            after: after.map(str::to_owned),
            limit,
            wait,
        }
    }

    #[test]
    fn a_request_is_checked_parameter_by_parameter() {
        let c = encode(812, 4);
        let ok = FeedRequest::check(&query(Some(&c), None, None, None)).unwrap();
        assert_eq!(
            ok,
            FeedRequest {
                after: (812, 4),
                limit: 100,
                wait: 0
            }
        );
        let alias = FeedRequest::check(&query(None, Some(&c), Some(7), Some(30))).unwrap();
        assert_eq!(
            alias,
            FeedRequest {
                after: (812, 4),
                limit: 7,
                wait: 30
            }
        );
        assert_eq!(
            FeedRequest::check(&query(None, None, None, None))
                .unwrap()
                .after,
            (0, 0)
        );
        let code = |q: EventQuery| FeedRequest::check(&q).unwrap_err().code();
        assert_eq!(code(query(Some(&c), Some(&c), None, None)), "invalid_query");
        assert_eq!(
            code(query(Some("nope"), None, None, None)),
            "invalid_cursor"
        );
        assert_eq!(code(query(None, None, Some(0), None)), "invalid_limit");
        assert_eq!(code(query(None, None, Some(501), None)), "invalid_limit");
        assert_eq!(code(query(None, None, None, Some(31))), "invalid_wait");
    }

    #[test]
    fn cursors_round_trip_and_refuse_others() {
        assert_eq!(decode(&encode(812, 4)), Some((812, 4)));
        assert_eq!(decode("garbage"), None);
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode("k1:812:4")), None);
    }
}
