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

/// Checked paging parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keyset {
    /// Items with an id greater than this one come next.
    pub after: Option<Uuid>,
    /// The page size.
    pub limit: u32,
}

impl Keyset {
    /// How many rows to fetch: one more than the page, to know whether another follows.
    pub fn fetch(&self) -> i64 {
        i64::from(self.limit) + 1
    }

    /// The lower bound for `id > $after` (the nil UUID when on the first page).
    pub fn after_or_nil(&self) -> Uuid {
        self.after.unwrap_or(Uuid::nil())
    }
}

impl PageParams {
    /// Validates the limit and decodes the cursor (400 when either is bad).
    pub fn keyset(&self) -> Result<Keyset, ApiError> {
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
        let after = self.cursor.as_deref().map(decode_cursor).transpose()?;
        Ok(Keyset { after, limit })
    }
}

/// A page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    /// The items, in id (creation) order.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Cuts the extra row fetched by [`Keyset::fetch`] and makes the next cursor from the
    /// last item's id.
    pub fn from_rows(mut rows: Vec<T>, keyset: Keyset, id: impl Fn(&T) -> Uuid) -> Page<T> {
        let more = rows.len() > keyset.limit as usize;
        rows.truncate(keyset.limit as usize);
        let next_cursor = if more {
            rows.last().map(|last| encode_cursor(id(last)))
        } else {
            None
        };
        Page {
            items: rows,
            next_cursor,
        }
    }
}

fn encode_cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("k1:{id}"))
}

fn decode_cursor(cursor: &str) -> Result<Uuid, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|s| s.strip_prefix("k1:").and_then(|id| id.parse().ok()))
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_cursor",
                msg!(
                    "cursor 无效：请使用上一页返回的 next_cursor。",
                    "Invalid cursor: pass the next_cursor of the previous page."
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let id = Uuid::now_v7();
        assert_eq!(decode_cursor(&encode_cursor(id)).unwrap(), id);
        assert!(decode_cursor("not-a-cursor").is_err());
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode("k1:nope")).is_err());
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
            decode_cursor(page.next_cursor.as_deref().unwrap()).unwrap(),
            ids[1]
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
            .keyset()
        };
        assert!(p(0).is_err());
        assert!(p(201).is_err());
        assert_eq!(p(200).unwrap().limit, 200);
        assert_eq!(PageParams::default().keyset().unwrap().limit, DEFAULT_LIMIT);
    }
}
