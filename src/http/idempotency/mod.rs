//! `Idempotency-Key` for creating requests: a retry with the same key and body gets the
//! first answer and changes nothing; the same key with another body is a 422.
//!
//! The key is claimed with an insert at the start of the writing transaction. A
//! concurrent request with the same key blocks on that insert until the first commits
//! (or rolls back), then finds the stored answer; so even simultaneous retries produce
//! one change and identical answers. Keys are scoped to the caller.

use actix_web::HttpRequest;
use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};

use crate::auth::{Caller, Scope};
use crate::error::ApiError;
use crate::http::extract::IdempotencyKey;
use crate::msg;

mod repo;

/// A JSON answer that can be stored and replayed.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status code.
    pub status: StatusCode,
    /// The JSON body.
    pub body: Value,
    /// The `ETag` header, if the resource has one.
    pub etag: Option<String>,
    /// The `Location` header, for a creation.
    pub location: Option<String>,
}

impl Answer {
    /// A `201 Created` with the new resource, its ETag and its location.
    pub fn created(
        body: &impl Serialize,
        etag: String,
        location: String,
    ) -> Result<Answer, ApiError> {
        Ok(Answer {
            status: StatusCode::CREATED,
            body: serde_json::to_value(body).map_err(anyhow::Error::from)?,
            etag: Some(etag),
            location: Some(location),
        })
    }

    /// A `201 Created` of something without a version of its own (a trainee, a
    /// placement): the body and where to find it.
    pub fn created_at(body: &impl Serialize, location: String) -> Result<Answer, ApiError> {
        Ok(Answer {
            status: StatusCode::CREATED,
            body: serde_json::to_value(body).map_err(anyhow::Error::from)?,
            etag: None,
            location: Some(location),
        })
    }

    /// The HTTP response; `replayed` marks an answer given again for a retried key.
    pub fn respond(&self, replayed: bool) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        if let Some(etag) = &self.etag {
            res.insert_header((header::ETAG, etag.as_str()));
        }
        if let Some(location) = &self.location {
            res.insert_header((header::LOCATION, location.as_str()));
        }
        if replayed {
            res.insert_header(("idempotent-replayed", "true"));
        }
        res.json(&self.body)
    }
}

/// Runs a creating request exactly once per `Idempotency-Key`: begins a transaction,
/// claims the key, replays the stored answer of an earlier identical request (changing
/// nothing), or runs `work` in the transaction, stores its answer under the key and
/// commits. An error from `work` rolls everything back, the claim included, so a retry
/// with the same key does the work afresh.
///
/// Every creating endpoint goes through here (or [`idempotent_stored`]); `work` is the
/// workflow, with no HTTP in it beyond the [`Answer`] it returns.
pub async fn idempotent(
    db: &PgPool,
    caller: &Caller,
    key: &IdempotencyKey,
    req: &HttpRequest,
    payload: &impl Serialize,
    work: impl AsyncFnOnce(&mut PgConnection) -> Result<Answer, ApiError>,
) -> Result<HttpResponse, ApiError> {
    idempotent_stored(db, caller, key, req, payload, async |tx, slot| {
        let answer = work(&mut *tx).await?;
        slot.store(tx, answer).await
    })
    .await
}

/// [`idempotent`] for work whose last statement stores the answer itself, so that the
/// transaction holds its locks for one round trip less: `work` gets the claimed key's
/// [`Slot`] and hands back the answer [`Stored`] in it (by [`Slot::store`], or by a
/// statement that writes [`Slot::record`] along with its own rows, as the ledger's
/// does).
pub async fn idempotent_stored(
    db: &PgPool,
    caller: &Caller,
    key: &IdempotencyKey,
    req: &HttpRequest,
    payload: &impl Serialize,
    work: impl AsyncFnOnce(&mut PgConnection, Slot) -> Result<Stored, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let mut tx = db.begin().await?;
    let slot = match claim(&mut tx, caller, key, req.path(), payload).await? {
        Claim::Replay(res) => return Ok(res),
        Claim::Fresh(slot) => slot,
    };
    let Stored(answer) = work(&mut tx, slot).await?;
    tx.commit().await?;
    Ok(answer.respond(false))
}

/// A claimed key: either a fresh request to carry out, or a stored answer to replay.
enum Claim {
    /// No key was sent, or it is new: do the work, then store its answer in the slot.
    Fresh(Slot),
    /// The key was used before with the same request: answer this, change nothing.
    Replay(HttpResponse),
}

/// Where a fresh request's answer is kept: the record of its claimed key, or nowhere
/// when the request came without one.
#[derive(Debug)]
pub struct Slot(Option<Record>);

/// A claimed key's record, by its primary key.
#[derive(Debug, Clone)]
pub struct Record {
    /// The caller the key belongs to (see `scope_of`).
    pub scope: String,
    /// The key as sent.
    pub key: String,
}

/// An answer kept in its [`Slot`], in the transaction of the work: what the request
/// answers once the transaction commits.
#[derive(Debug)]
pub struct Stored(Answer);

impl Stored {
    /// The answer kept.
    pub fn answer(&self) -> &Answer {
        &self.0
    }
}

impl Slot {
    /// Stores the answer under the claimed key (if any) with a statement of its own.
    pub async fn store(self, conn: &mut PgConnection, answer: Answer) -> Result<Stored, ApiError> {
        if let Some(record) = &self.0 {
            repo::store(conn, record, &answer).await?;
        }
        Ok(Stored(answer))
    }

    /// The record that a statement of the work must update with `answer` (see
    /// `repo::store` for the columns), if the request came with a key; the answer counts
    /// as stored once that statement has run.
    pub fn record(self, answer: Answer) -> (Option<Record>, Stored) {
        (self.0, Stored(answer))
    }
}

/// Claims `key` for this caller and request inside the transaction `conn`.
async fn claim(
    conn: &mut PgConnection,
    caller: &Caller,
    key: &IdempotencyKey,
    request_path: &str,
    payload: &impl Serialize,
) -> Result<Claim, ApiError> {
    let Some(key) = key.0.as_deref() else {
        return Ok(Claim::Fresh(Slot(None)));
    };
    let record = Record {
        scope: scope_of(caller),
        key: key.to_owned(),
    };
    let hash = request_hash(request_path, payload)?;
    if repo::claim(conn, &record, &hash).await? {
        return Ok(Claim::Fresh(Slot(Some(record))));
    }
    let stored = repo::stored(conn, &record).await?;
    if stored.request_hash != hash {
        return Err(ApiError::Unprocessable {
            code: "idempotency_key_reused",
            detail: msg!(
                "该 Idempotency-Key 已用于另一个不同的请求。",
                "This Idempotency-Key was already used for a different request."
            ),
        });
    }
    let (Some(status), Some(body)) = (stored.response_status, stored.response_body) else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "idempotency record without an answer after its transaction committed"
        )));
    };
    let answer = Answer {
        status: StatusCode::from_u16(status as u16).map_err(anyhow::Error::from)?,
        body,
        etag: stored.response_etag,
        location: stored.response_location,
    };
    Ok(Claim::Replay(answer.respond(true)))
}

/// Keys belong to one caller: the same key from two callers are two keys.
fn scope_of(caller: &Caller) -> String {
    let place = match &caller.scope {
        Scope::Town(t) | Scope::Member { town: t, .. } => t.to_string(),
        Scope::County(c) => format!("county:{c}"),
        Scope::Global => "global".to_owned(),
    };
    format!("{}|{}|{}", caller.role.as_str(), place, caller.sub)
}

/// The request's fingerprint: its path and its parsed body, so that formatting
/// differences of the same JSON do not count as another request.
fn request_hash(path: &str, payload: &impl Serialize) -> Result<Vec<u8>, ApiError> {
    let body = serde_json::to_vec(payload).map_err(anyhow::Error::from)?;
    let mut h = Sha256::new();
    h.update(path.as_bytes());
    h.update([0]);
    h.update(&body);
    Ok(h.finalize().to_vec())
}

pub use self::repo::purge_expired;
