//! Keyset paging: `?limit=` and an opaque `?cursor=`, answered as
//! `{"items": [...], "next_cursor": "..." | null}`. Never OFFSET.
//!
//! Lists are ordered by id; ids are UUID v7, so that is creation order. The cursor is the
//! last id of the page, encoded so that clients treat it as opaque.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::ApiError;
use crate::msg;

/// The default page size.
pub const DEFAULT_LIMIT: u32 = 50;
/// The largest page size.
pub const MAX_LIMIT: u32 = 200;

/// Paging parameters of every list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// How many items to return: 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page; omit for the first page.
    #[param(pattern = "^[A-Za-z0-9_-]+$", min_length = 1, max_length = 200)]
    pub cursor: Option<String>,
}

/// A key lists are ordered by, and that a cursor carries.
pub trait CursorKey: Copy {
    /// The opaque text of a cursor after this key.
    fn encode(self) -> String;
    /// The key a cursor carries, if it is one of ours.
    fn decode(text: &str) -> Option<Self>;
}

impl CursorKey for Uuid {
    fn encode(self) -> String {
        URL_SAFE_NO_PAD.encode(format!("k1:{self}"))
    }

    fn decode(text: &str) -> Option<Uuid> {
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        String::from_utf8(bytes)
            .ok()?
            .strip_prefix("k1:")?
            .parse()
            .ok()
    }
}

impl CursorKey for i64 {
    fn encode(self) -> String {
        URL_SAFE_NO_PAD.encode(format!("n1:{self}"))
    }

    fn decode(text: &str) -> Option<i64> {
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        String::from_utf8(bytes)
            .ok()?
            .strip_prefix("n1:")?
            .parse()
            .ok()
    }
}

/// Checked paging parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keyset<K = Uuid> {
    /// Items after this key (in the list's order) come next.
    pub after: Option<K>,
    /// The page size.
    pub limit: u32,
}

impl<K> Keyset<K> {
    /// How many rows to fetch: one more than the page, to know whether another follows.
    pub fn fetch(&self) -> i64 {
        i64::from(self.limit) + 1
    }
}

impl Keyset<Uuid> {
    /// The lower bound for `id > $after` (the nil UUID when on the first page).
    pub fn after_or_nil(&self) -> Uuid {
        self.after.unwrap_or(Uuid::nil())
    }

    /// The upper bound for `id < $before` in lists read newest first by their UUID v7
    /// (the largest UUID when on the first page).
    pub fn before_or_max_id(&self) -> Uuid {
        self.after.unwrap_or(Uuid::max())
    }
}

impl Keyset<i64> {
    /// The upper bound for `n < $before` in lists read newest first (`i64::MAX` when on
    /// the first page).
    pub fn before_or_max(&self) -> i64 {
        self.after.unwrap_or(i64::MAX)
    }
}

impl PageParams {
    /// Validates the limit and decodes the cursor (400 when either is bad).
    pub fn keyset<K: CursorKey>(&self) -> Result<Keyset<K>, ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::bad_request(
                "invalid_limit",
                msg!(
                    "limit 须在 1 到 200 之间。",
                    "limit must be between 1 and 200."
                ),
            ));
        }
        let after = match self.cursor.as_deref() {
            None => None,
            Some(text) => Some(K::decode(text).ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_cursor",
                    msg!(
                        "cursor 无效：请使用上一页返回的 next_cursor。",
                        "Invalid cursor: pass the next_cursor of the previous page."
                    ),
                )
            })?),
        };
        Ok(Keyset { after, limit })
    }
}

/// A page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    /// The items, in the list's order.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// A list short by nature (a trainee's placements), whole on one page.
    pub fn whole(items: Vec<T>) -> Page<T> {
        Page {
            items,
            next_cursor: None,
        }
    }

    /// Cuts the extra row fetched by [`Keyset::fetch`] and makes the next cursor from the
    /// last item's key.
    pub fn from_rows<K: CursorKey>(
        mut rows: Vec<T>,
        keyset: Keyset<K>,
        key: impl Fn(&T) -> K,
    ) -> Page<T> {
        let more = rows.len() > keyset.limit as usize;
        rows.truncate(keyset.limit as usize);
        let next_cursor = if more {
            rows.last().map(|last| key(last).encode())
        } else {
            None
        };
        Page {
            items: rows,
            next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let id = Uuid::now_v7();
        assert_eq!(Uuid::decode(&id.encode()), Some(id));
        assert_eq!(i64::decode(&42i64.encode()), Some(42));
        assert_eq!(Uuid::decode("not-a-cursor"), None);
        assert_eq!(Uuid::decode(&URL_SAFE_NO_PAD.encode("k1:nope")), None);
        assert_eq!(
            i64::decode(&id.encode()),
            None,
            "a cursor of one list is not one of another"
        );
    }

    #[test]
    fn a_full_page_has_a_next_cursor_and_the_last_has_none() {
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let keyset = Keyset {
            after: None,
            limit: 2,
        };
        let page = Page::from_rows(ids.clone(), keyset, |id| *id);
        assert_eq!(page.items, ids[..2]);
        assert_eq!(
            Uuid::decode(page.next_cursor.as_deref().unwrap()),
            Some(ids[1])
        );
        let last = Page::from_rows(ids[2..].to_vec(), keyset, |id| *id);
        assert!(last.next_cursor.is_none());
    }

    #[test]
    fn limits_outside_1_to_200_are_refused() {
        let p = |limit| {
            PageParams {
                limit: Some(limit),
                cursor: None,
            }
            .keyset::<Uuid>()
        };
        assert!(p(0).is_err());
        assert!(p(201).is_err());
        assert_eq!(p(200).unwrap().limit, 200);
        assert_eq!(
            PageParams::default().keyset::<Uuid>().unwrap().limit,
            DEFAULT_LIMIT
        );
    }
}
