//! Request extractors whose failures are problem+json, never actix's plain-text 400s.
//!
//! * [`Json`]: 415 for another content type, 413 over the body limit, 400 for broken
//!   JSON, 422 naming the field for a body of the wrong shape or with an unknown field.
//! * [`IfMatch`]: the `If-Match` header a change needs (428 without it).
//! * [`IdempotencyKey`]: the optional `Idempotency-Key` header of a creating request.
//! * [`path_error`] / [`query_error`]: 400 for a bad path or query parameter.

use std::future::{Ready, ready};
use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::error::{PathError, QueryPayloadError};
use actix_web::http::header;
use actix_web::mime;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldError, Msg};
use crate::msg;

/// The largest body accepted, shared through app data.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// A JSON request body of type `T`.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Deref for Json<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<BodyLimit>>()
            .map_or(64 * 1024, |l| l.0);
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<mime::Mime>().ok())
            .is_some_and(|m| {
                m.type_() == mime::APPLICATION
                    && (m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON))
            });
        let declared_len = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !is_json {
                return Err(ApiError::UnsupportedMediaType);
            }
            if declared_len.is_some_and(|n| n > limit) {
                return Err(ApiError::PayloadTooLarge { limit });
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|_| {
                    ApiError::bad_request(
                        "body_unreadable",
                        msg!("无法读取请求体。", "The request body could not be read."),
                    )
                })?;
                if body.len() + chunk.len() > limit {
                    return Err(ApiError::PayloadTooLarge { limit });
                }
                body.extend_from_slice(&chunk);
            }
            parse_json(&body).map(Json)
        })
    }
}

/// Parses a JSON body: broken JSON is a 400, a body of the wrong shape a 422 that names
/// the field.
/// Anything after the document but whitespace (a second document, stray text) is broken
/// JSON too: a body means one value, and a proxy or a client bug that glues two
/// together must not have half of it silently dropped.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                ApiError::Validation(vec![shape_error(path, &inner.to_string())])
            }
            _ => malformed(&inner),
        }
    })?;
    de.end().map_err(|e| malformed(&e))?;
    Ok(value)
}

/// The 400 `malformed_json` for a body that is not one JSON document, with where it
/// breaks.
fn malformed(e: &serde_json::Error) -> ApiError {
    ApiError::bad_request(
        "malformed_json",
        msg!(
            (
                "请求体不是有效的 JSON：第 {} 行第 {} 列。",
                e.line(),
                e.column()
            ),
            (
                "The body is not valid JSON: line {}, column {}.",
                e.line(),
                e.column()
            )
        ),
    )
}

/// Turns serde's description of a shape error into a field error with a stable code.
fn shape_error(path: String, serde_msg: &str) -> FieldError {
    // serde_json appends " at line L column C"; the field path says more.
    let text = serde_msg
        .rsplit_once(" at line ")
        .map_or(serde_msg, |(head, _)| head)
        .to_owned();
    if let Some(rest) = text.strip_prefix("unknown field `") {
        let name = rest.split('`').next().unwrap_or_default();
        // The path already ends at the unknown key.
        let field = if path == "." { name.to_owned() } else { path };
        return FieldError::new(
            field,
            "unknown_field",
            msg!(("未知字段：{}。", name), ("Unknown field `{}`.", name)),
        );
    }
    if let Some(rest) = text.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or_default();
        let field = if path == "." {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        };
        return FieldError::new(
            field,
            "required",
            msg!(
                ("缺少必填字段：{}。", name),
                ("Missing required field `{}`.", name)
            ),
        );
    }
    let field = if path == "." { String::new() } else { path };
    FieldError::new(
        field,
        "invalid_type",
        Msg::new(format!("字段类型或取值无效：{text}"), text.clone()),
    )
}

/// The `If-Match` header of a change: one strong ETag (a version number), or `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfMatch {
    /// `*`: any current version (RFC 9110); the change is not checked against one.
    Any,
    /// `"<n>"`: only if the resource is still at version n.
    Version(i64),
}

impl IfMatch {
    /// The version the change expects, if any.
    pub fn version(self) -> Option<i64> {
        match self {
            IfMatch::Any => None,
            IfMatch::Version(v) => Some(v),
        }
    }

    /// 412 unless the change may apply to a resource at `current` (`*`, or that version).
    pub fn check(self, current: i64) -> Result<(), ApiError> {
        match self {
            IfMatch::Version(v) if v != current => Err(ApiError::PreconditionFailed),
            _ => Ok(()),
        }
    }
}

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(value) = req.headers().get(header::IF_MATCH) else {
            return ready(Err(ApiError::PreconditionRequired));
        };
        let parsed = value.to_str().ok().map(str::trim).and_then(|v| {
            if v == "*" {
                Some(IfMatch::Any)
            } else {
                parse_etag(v).map(IfMatch::Version)
            }
        });
        ready(parsed.ok_or_else(|| {
            ApiError::bad_request(
                "invalid_if_match",
                msg!(
                    "If-Match 须为资源的 ETag（如 \"3\"）或 *。",
                    "If-Match must be the resource's ETag (such as \"3\") or *."
                ),
            )
        }))
    }
}

/// The ETag of a row at `version`.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// `"<1 to 18 digits>"`: a version as the ETag carries it (and as the spec's pattern says).
fn parse_etag(value: &str) -> Option<i64> {
    let digits = value.trim().strip_prefix('"')?.strip_suffix('"')?;
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The `Idempotency-Key` header: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(pub Option<String>);

impl FromRequest for IdempotencyKey {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(value) = req.headers().get("idempotency-key") else {
            return ready(Ok(IdempotencyKey(None)));
        };
        let key = value
            .to_str()
            .ok()
            .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()))
            .map(|k| IdempotencyKey(Some(k.to_owned())))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_idempotency_key",
                    msg!(
                        "Idempotency-Key 须为 1 至 255 个可见 ASCII 字符。",
                        "Idempotency-Key must be 1 to 255 visible ASCII characters."
                    ),
                )
            });
        ready(key)
    }
}

impl IdempotencyKey {
    /// The key, which writes that move points must carry (400 `idempotency_key_required`).
    pub fn required(&self) -> Result<&str, ApiError> {
        self.0.as_deref().ok_or_else(|| {
            ApiError::bad_request(
                "idempotency_key_required",
                msg!(
                    "记分类写入须带 Idempotency-Key 请求头，以便安全重试。",
                    "Writes that move points need an Idempotency-Key header, so that a retry is safe."
                ),
            )
        })
    }
}

/// 400 for a path parameter that does not parse, naming it: every path parameter of the
/// API is a UUID, except `{day}`, a date.
pub fn path_error(err: PathError, req: &HttpRequest) -> actix_web::Error {
    let culprit = req.match_info().iter().find(|(name, value)| {
        if *name == "day" {
            chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").is_err()
        } else {
            uuid::Uuid::parse_str(value).is_err()
        }
    });
    let detail = match culprit {
        Some(("day", _)) => msg!(
            "路径参数 day 须为日期，格式 YYYY-MM-DD。",
            "Path parameter `day` must be a date, YYYY-MM-DD."
        ),
        Some((name, _)) => msg!(
            (
                "路径参数 {} 须为 UUID（如 0199d6a0-5b1c-7e4a-9c1d-2f3e4a5b6c7d）。",
                name
            ),
            (
                "Path parameter `{}` must be a UUID (such as 0199d6a0-5b1c-7e4a-9c1d-2f3e4a5b6c7d).",
                name
            )
        ),
        None => {
            tracing::debug!(error = %err, "path parameters did not parse");
            msg!("路径参数无效。", "A path parameter is invalid.")
        }
    };
    ApiError::bad_request("invalid_path", detail).into()
}

/// 400 unless every text parameter of a query is within its documented length.
pub fn check_query_lengths(params: &[(&str, Option<&str>, usize)]) -> Result<(), ApiError> {
    for (name, value, max) in params {
        if value.is_some_and(|v| v.chars().count() > *max) {
            return Err(ApiError::bad_request(
                "invalid_query",
                msg!(
                    ("查询参数 {} 最多 {} 个字符。", name, max),
                    ("Query parameter `{}` is at most {} characters.", name, max)
                ),
            ));
        }
    }
    Ok(())
}

/// 400 for a query string that does not parse.
pub fn query_error(err: QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    let detail = match &err {
        QueryPayloadError::Deserialize(e) => e.to_string(),
        _ => err.to_string(),
    };
    ApiError::bad_request(
        "invalid_query",
        Msg::new(
            format!("查询参数无效：{detail}"),
            format!("Invalid query parameter: {detail}"),
        ),
    )
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        count: u32,
    }

    fn field_errors(body: &str) -> Vec<(String, &'static str)> {
        match parse_json::<Body>(body.as_bytes()).unwrap_err() {
            ApiError::Validation(errors) => errors.into_iter().map(|e| (e.field, e.code)).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn broken_json_is_a_bad_request() {
        let e = parse_json::<Body>(b"{\"name\": ").unwrap_err();
        assert_eq!(e.code(), "malformed_json");
    }

    #[test]
    fn anything_after_the_document_is_broken_json() {
        for body in [
            r#"{"name":"a","count":1} {"x": 1} garbage"#,
            r#"{"name":"a","count":1}{"name":"b","count":2}"#,
            r#"{"name":"a","count":1} x"#,
        ] {
            let e = parse_json::<Body>(body.as_bytes()).unwrap_err();
            assert_eq!(e.code(), "malformed_json", "{body}");
        }
        assert!(parse_json::<Body>(b" {\"name\":\"a\",\"count\":1} \r\n\t").is_ok());
    }

    #[test]
    fn wrong_shapes_name_the_field() {
        assert_eq!(
            field_errors(r#"{"name":"a","count":"x"}"#),
            vec![("count".into(), "invalid_type")]
        );
        assert_eq!(
            field_errors(r#"{"name":"a"}"#),
            vec![("count".into(), "required")]
        );
        assert_eq!(
            field_errors(r#"{"name":"a","count":1,"extra":true}"#),
            vec![("extra".into(), "unknown_field")]
        );
    }

    #[test]
    fn etags_round_trip() {
        assert_eq!(parse_etag(&etag(7)), Some(7));
        assert_eq!(parse_etag("W/\"7\""), None);
        assert_eq!(parse_etag("7"), None);
        assert_eq!(parse_etag("\"+7\""), None);
        assert_eq!(parse_etag("\"0000000000000000000\""), None, "19 digits");
    }
}
