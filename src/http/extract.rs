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
            // serde_json reports a number or a list where an enum's string belongs as a
            // syntax error ("expected value"); a body that is one good JSON document has
            // a value of the wrong type, not broken JSON.
            serde_json::error::Category::Syntax if is_one_document(body) => {
                ApiError::Validation(vec![shape_error(path, "invalid type")])
            }
            _ => malformed(&inner),
        }
    })?;
    de.end().map_err(|e| malformed(&e))?;
    Ok(value)
}

/// Whether `body` is one well-formed JSON document.
fn is_one_document(body: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok()
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
    let en = format!(
        "`{}`: {}.",
        if field.is_empty() { "body" } else { &field },
        text
    );
    FieldError::new(
        &field,
        "invalid_type",
        Msg::new(zh_shape(&field, &text), en),
    )
}

/// How a field is named in a Chinese message: its path, or 请求体 for the whole body.
fn zh_name(field: &str) -> String {
    if field.is_empty() {
        "请求体".to_owned()
    } else {
        field.to_owned()
    }
}

/// A Chinese message for serde's (English) description of a value of the wrong type or
/// form: the same facts (the field, the value, what was expected), none of serde's prose.
fn zh_shape(field: &str, text: &str) -> String {
    let name = zh_name(field);
    // `unknown variant `x`, expected one of `a`, `b`` (or `expected `a` or `b``).
    if let Some(rest) = text.strip_prefix("unknown variant `") {
        let (value, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let allowed: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        return if allowed.is_empty() {
            format!("{name} 的取值 `{value}` 无效。")
        } else {
            format!(
                "{name} 的取值 `{value}` 无效，可选值：{}。",
                allowed.join("、")
            )
        };
    }
    if let Some(rest) = text
        .strip_prefix("invalid type: ")
        .or_else(|| text.strip_prefix("invalid value: "))
        .or_else(|| text.strip_prefix("invalid length "))
    {
        let (got, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        return match (zh_kind(expected), zh_kind(got)) {
            (Some(want), Some(got)) => format!("{name} 的类型不对：应为{want}，实际为{got}。"),
            (Some(want), None) => format!("{name} 的取值不对：应为{want}。"),
            _ => format!("{name} 的类型或取值无效。"),
        };
    }
    // The parsers of dates and times (chrono), ids (uuid), points and our own types.
    let lower = text.to_ascii_lowercase();
    let want = if lower.starts_with("input ")
        || lower.contains("premature end")
        || lower.contains("trailing input")
        || lower.contains("date and time")
    {
        Some("日期（YYYY-MM-DD）或时间（RFC 3339，如 2026-12-07T09:00:00+08:00）")
    } else if lower.contains("uuid")
        || lower.contains("invalid character")
        || lower.contains("invalid group")
    {
        Some("UUID")
    } else if lower.contains("points") || lower.contains("must not be 0") {
        Some("以 0.5 为单位的分值（如 5、0.5、-1.5），且不为 0")
    } else if lower.contains("time zone") {
        Some("IANA 时区名（如 Asia/Shanghai）")
    } else {
        None
    };
    match want {
        Some(want) => format!("{name} 的格式不对：应为{want}。"),
        None => format!("{name} 的类型或取值无效。"),
    }
}

/// The Chinese for serde's name of a JSON kind (`a string`, `u32`, `a sequence`, ...).
fn zh_kind(serde: &str) -> Option<&'static str> {
    let s = serde.to_ascii_lowercase();
    let kinds: [(&[&str], &str); 10] = [
        (&["uuid"], "UUID"),
        (&["variant"], "字符串（可选值见接口文档）"),
        (&["date", "time"], "日期或时间"),
        (&["bool"], "布尔值（true 或 false）"),
        (&["string", "char"], "字符串"),
        (
            &[
                "u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64", "integer",
            ],
            "整数",
        ),
        (&["f32", "f64", "float", "number"], "数字"),
        (&["sequence", "array", "tuple", "vec"], "数组"),
        (&["map", "struct", "object"], "对象"),
        (&["null", "unit", "option"], "null"),
    ];
    kinds
        .iter()
        .find(|(words, _)| words.iter().any(|w| s.contains(w)))
        .map(|(_, zh)| *zh)
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
    // The query check in front of every handler names the parameter and what it must
    // be; what reaches here is rarer, and serde's English stays out of the Chinese.
    ApiError::bad_request(
        "invalid_query",
        Msg::new(
            "查询参数无效，请对照接口文档检查参数的类型和取值。",
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

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Typed {
        kind: crate::cases::domain::AdjustmentKind,
        id: Option<uuid::Uuid>,
        #[serde(default)]
        on: Option<chrono::NaiveDate>,
        at: Option<chrono::DateTime<chrono::Utc>>,
        flag: Option<bool>,
        points: Option<crate::scores::points::HalfPoints>,
        zone: Option<crate::types::TimeZoneName>,
        list: Option<Vec<u32>>,
    }

    /// Every shape error of a body, in Chinese: no word of serde's English in it.
    #[test]
    fn shape_errors_speak_the_language_wholly() {
        for (body, field, code, zh_part) in [
            (
                r#"{"kind":"bonus"}"#,
                "kind",
                "invalid_type",
                "可选值：correction、reversal",
            ),
            (
                r#"{"kind":"correction","id":"x"}"#,
                "id",
                "invalid_type",
                "UUID",
            ),
            (
                r#"{"kind":"correction","on":"2026-13-01"}"#,
                "on",
                "invalid_type",
                "日期",
            ),
            (
                r#"{"kind":"correction","at":"noon"}"#,
                "at",
                "invalid_type",
                "RFC 3339",
            ),
            (
                r#"{"kind":"correction","flag":"yes"}"#,
                "flag",
                "invalid_type",
                "布尔值",
            ),
            (
                r#"{"kind":"correction","points":0.3}"#,
                "points",
                "invalid_type",
                "0.5",
            ),
            (
                r#"{"kind":"correction","zone":"Mars/Base"}"#,
                "zone",
                "invalid_type",
                "时区",
            ),
            (
                r#"{"kind":"correction","list":{"a":1}}"#,
                "list",
                "invalid_type",
                "数组",
            ),
            (r#"{"kind":7}"#, "kind", "invalid_type", "无效"),
        ] {
            let got = parse_json::<Typed>(body.as_bytes());
            let Err(ApiError::Validation(errors)) = got else {
                panic!("{body}: expected a validation error, got {got:?}")
            };
            let e = &errors[0];
            assert_eq!((e.field.as_str(), e.code), (field, code), "{body}");
            let zh = &e.message.zh;
            assert!(zh.contains(zh_part), "{body}: {zh}");
            for word in [
                "expected", "invalid", "unknown", "input", "variant", "parsing", "found",
            ] {
                assert!(!zh.contains(word), "{body}: English `{word}` in {zh}");
            }
            assert!(e.message.en.contains(field), "{body}: {}", e.message.en);
        }
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
