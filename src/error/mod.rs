//! One error type for the whole service, rendered as RFC 9457 `application/problem+json`.
//!
//! Every failure a client can see goes through [`ApiError`]: handler errors, extractor
//! failures (see `extract.rs`), authentication, unknown routes. The body's `title` and
//! `detail` are Chinese by default and English on `Accept-Language: en`; the `code` is
//! stable and meant for machines. A 500 tells the client nothing internal and logs the
//! whole cause chain instead.

use std::borrow::Cow;
use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

pub use self::constraints::{Known, KnownField, Meaning};

pub mod codes;
pub mod constraints;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A language the service answers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// Simplified Chinese, the default.
    #[default]
    Zh,
    /// English, on `Accept-Language: en`.
    En,
}

impl Lang {
    /// Picks the language from an `Accept-Language` header value: the first of `zh*` or
    /// `en*` by quality, Chinese when neither is named.
    pub fn negotiate(accept_language: Option<&str>) -> Lang {
        let Some(value) = accept_language else {
            return Lang::Zh;
        };
        let mut best: Option<(f32, Lang)> = None;
        for part in value.split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q=").map(str::to_owned))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let lang = if tag == "en" || tag.starts_with("en-") {
                Lang::En
            } else if tag == "zh" || tag.starts_with("zh-") {
                Lang::Zh
            } else {
                continue;
            };
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::Zh, |(_, lang)| lang)
    }

    /// The `Content-Language` tag of answers in this language.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
}

/// A text in both languages the service speaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    /// Simplified Chinese.
    pub zh: Cow<'static, str>,
    /// The English text, used on `Accept-Language: en`.
    pub en: Cow<'static, str>,
}

impl Msg {
    /// A message from two texts.
    pub fn new(zh: impl Into<Cow<'static, str>>, en: impl Into<Cow<'static, str>>) -> Msg {
        Msg {
            zh: zh.into(),
            en: en.into(),
        }
    }

    /// The text in `lang`.
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Zh => &self.zh,
            Lang::En => &self.en,
        }
    }
}

/// Builds a [`Msg`]: `msg!("中文", "English")`, each side may be a format string with
/// arguments in a tuple: `msg!(("超过 {} 字节", n), ("over {} bytes", n))`.
#[macro_export]
macro_rules! msg {
    (($zh:literal $(, $za:expr)*), ($en:literal $(, $ea:expr)*)) => {
        $crate::error::Msg::new(format!($zh $(, $za)*), format!($en $(, $ea)*))
    };
    ($zh:literal, $en:literal) => {
        $crate::error::Msg::new($zh, $en)
    };
}

/// One invalid field of a request, as listed in a validation problem's `errors`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's path in the request, e.g. `name` or `items[2].date`.
    pub field: String,
    /// A stable machine code, e.g. `required`, `too_long`, `unknown_field`.
    pub code: &'static str,
    /// What is wrong, in both languages.
    pub message: Msg,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, code: &'static str, message: Msg) -> FieldError {
        FieldError {
            field: field.into(),
            code,
            message,
        }
    }
}

/// A field error as the client sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldProblem {
    /// The field's path in the request (`name`, `items[2].date`); `""` for the whole body.
    #[schema(example = "name")]
    pub field: String,
    /// A stable machine code for what is wrong, one of [`codes::FIELD_CODES`].
    #[schema(example = "too_long")]
    pub code: String,
    /// What is wrong, in the answer's language.
    pub message: String,
}

/// An RFC 9457 problem details body (`application/problem+json`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:party-center:problem:<code>`.
    #[serde(rename = "type")]
    #[schema(example = "urn:party-center:problem:not_found")]
    pub type_: String,
    /// A short summary of the kind of problem, in the answer's language.
    pub title: String,
    /// The HTTP status code.
    #[schema(example = 404)]
    pub status: u16,
    /// What went wrong with this request, in the answer's language.
    pub detail: String,
    /// A stable machine-readable code, one of [`codes::PROBLEM_CODES`] (the document's enum).
    #[schema(example = "not_found")]
    pub code: String,
    /// For validation problems: every invalid field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

/// Why a request was not authenticated. Each has its own stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No `Authorization` header.
    Missing,
    /// The header is not `Bearer <token>`.
    Malformed,
    /// The token is not valid: signature, algorithm, claims, issuer, audience, key.
    Invalid,
    /// The token has expired.
    Expired,
    /// The token is not valid yet (`nbf` in the future).
    NotYetValid,
}

/// Every error the service answers with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request cannot be read (broken JSON, a bad path or query parameter).
    #[error("bad request: {code}")]
    BadRequest {
        /// Stable code.
        code: &'static str,
        /// What is wrong.
        detail: Msg,
    },
    /// 401: no valid credentials.
    #[error("unauthorized: {0:?}")]
    Unauthorized(AuthFailure),
    /// 403: valid credentials without the right role.
    #[error("forbidden")]
    Forbidden,
    /// 403 `forbidden` from the role check, naming the roles that may do it.
    #[error("forbidden: roles allowed {allowed:?}")]
    RoleNotAllowed {
        /// The roles that may, as their codes (`staff`, `committee`, ...).
        allowed: Vec<&'static str>,
    },
    /// 403: the role may do this, but a rule keeps this caller from it (not on the panel).
    #[error("refused: {code}")]
    Refused {
        /// Stable code naming the rule.
        code: &'static str,
        /// The problem's `detail`: why the rule refuses this caller, in both languages.
        detail: Msg,
    },
    /// 404: no such resource (or one of another town, whose existence is not revealed).
    #[error("not found")]
    NotFound,
    /// 404 with its own code: the URL is right, and what it names does not exist for
    /// this caller yet (a member who has no case: `no_case`).
    #[error("missing: {code}")]
    Missing {
        /// Stable code naming what is missing.
        code: &'static str,
        /// What is missing, and what would make it exist.
        detail: Msg,
    },
    /// 405: the route exists but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409: the request conflicts with the resource's state or a uniqueness rule.
    #[error("conflict: {code}")]
    Conflict {
        /// Stable code naming the rule.
        code: &'static str,
        /// What conflicts.
        detail: Msg,
    },
    /// 412: `If-Match` names a version that is no longer current.
    #[error("precondition failed")]
    PreconditionFailed,
    /// 413: the body is larger than the limit.
    #[error("payload too large")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// 415: the body is not `application/json`.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// 422: well-formed but invalid fields.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// 422: well-formed but breaks a rule that is not about one field.
    #[error("unprocessable: {code}")]
    Unprocessable {
        /// Stable code naming the rule.
        code: &'static str,
        /// What rule is broken.
        detail: Msg,
    },
    /// 428: a change without `If-Match`.
    #[error("precondition required")]
    PreconditionRequired,
    /// 429: too many requests of a costly kind at once; retry after `retry_after` seconds.
    #[error("too many requests: {code}")]
    TooManyRequests {
        /// Stable code naming the limit.
        code: &'static str,
        /// Which limit.
        detail: Msg,
        /// Seconds to wait before retrying (the `Retry-After` header).
        retry_after: u32,
    },
    /// 503: the database could not hand out a connection in time, or the service is stopping.
    #[error("service unavailable")]
    Unavailable,
    /// 500: anything else. The cause is logged, never sent.
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
}

impl ApiError {
    /// A 422 for one invalid field.
    pub fn invalid(field: impl Into<String>, code: &'static str, message: Msg) -> ApiError {
        ApiError::Validation(vec![FieldError::new(field, code, message)])
    }

    /// A 409 with a code and a message.
    pub fn conflict(code: &'static str, detail: Msg) -> ApiError {
        ApiError::Conflict { code, detail }
    }

    /// A 400 with a code and a message.
    pub fn bad_request(code: &'static str, detail: Msg) -> ApiError {
        ApiError::BadRequest { code, detail }
    }

    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { code, .. }
            | ApiError::Conflict { code, .. }
            | ApiError::Refused { code, .. }
            | ApiError::Unprocessable { code, .. }
            | ApiError::Missing { code, .. }
            | ApiError::TooManyRequests { code, .. } => code,
            ApiError::Unauthorized(AuthFailure::Missing) => "missing_token",
            ApiError::Unauthorized(AuthFailure::Malformed) => "malformed_authorization",
            ApiError::Unauthorized(AuthFailure::Invalid) => "invalid_token",
            ApiError::Unauthorized(AuthFailure::Expired) => "token_expired",
            ApiError::Unauthorized(AuthFailure::NotYetValid) => "token_not_yet_valid",
            ApiError::Forbidden | ApiError::RoleNotAllowed { .. } => "forbidden",
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::PreconditionFailed => "precondition_failed",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::Validation(_) => "validation_failed",
            ApiError::PreconditionRequired => "precondition_required",
            ApiError::Unavailable => "service_unavailable",
            ApiError::Internal(_) => "internal_error",
        }
    }

    fn title(&self) -> Msg {
        let status = self.status_code();
        let (zh, en) = match status.as_u16() {
            400 => ("请求有误", "Bad request"),
            401 => ("未认证", "Unauthorized"),
            403 => ("无权访问", "Forbidden"),
            404 => ("未找到", "Not found"),
            405 => ("不支持该方法", "Method not allowed"),
            409 => ("冲突", "Conflict"),
            412 => ("前提条件不成立", "Precondition failed"),
            413 => ("请求体过大", "Payload too large"),
            415 => ("不支持的媒体类型", "Unsupported media type"),
            422 => ("请求内容无法处理", "Unprocessable content"),
            428 => ("缺少前提条件", "Precondition required"),
            429 => ("请求过多", "Too many requests"),
            503 => ("服务暂不可用", "Service unavailable"),
            _ => ("服务器内部错误", "Internal server error"),
        };
        Msg::new(zh, en)
    }

    fn detail(&self) -> Msg {
        match self {
            ApiError::BadRequest { detail, .. }
            | ApiError::Conflict { detail, .. }
            | ApiError::Refused { detail, .. }
            | ApiError::Unprocessable { detail, .. }
            | ApiError::Missing { detail, .. }
            | ApiError::TooManyRequests { detail, .. } => detail.clone(),
            ApiError::Unauthorized(AuthFailure::Missing) => msg!(
                "缺少 Authorization 请求头，请以 Bearer 方式提供令牌。",
                "The Authorization header is missing: send `Authorization: Bearer <token>`."
            ),
            ApiError::Unauthorized(AuthFailure::Malformed) => msg!(
                "Authorization 请求头格式应为 `Bearer <令牌>`。",
                "The Authorization header must be `Bearer <token>`."
            ),
            ApiError::Unauthorized(AuthFailure::Invalid) => {
                msg!("令牌无效。", "The token is not valid.")
            }
            ApiError::Unauthorized(AuthFailure::Expired) => {
                msg!("令牌已过期。", "The token has expired.")
            }
            ApiError::Unauthorized(AuthFailure::NotYetValid) => {
                msg!("令牌尚未生效。", "The token is not valid yet.")
            }
            ApiError::Forbidden => msg!(
                "当前角色无权执行此操作。",
                "Your role is not allowed to do this."
            ),
            ApiError::RoleNotAllowed { allowed } => msg!(
                (
                    "当前角色无权执行此操作；可执行的角色：{}。",
                    allowed.join("、")
                ),
                (
                    "Your role may not do this; the roles that may: {}.",
                    allowed.join(", ")
                )
            ),
            ApiError::NotFound => msg!("资源不存在。", "No such resource."),
            ApiError::MethodNotAllowed => msg!(
                "该路径不支持此 HTTP 方法。",
                "This path does not support this HTTP method."
            ),
            ApiError::PreconditionFailed => msg!(
                "资源已被修改，If-Match 中的版本已过期，请重新读取后再试。",
                "The resource has changed since the version in If-Match: read it again and retry."
            ),
            ApiError::PayloadTooLarge { limit } => msg!(
                ("请求体超过 {} 字节的上限。", limit),
                ("The request body is over the limit of {} bytes.", limit)
            ),
            ApiError::UnsupportedMediaType => msg!(
                "请求体须为 application/json。",
                "The request body must be application/json."
            ),
            ApiError::Validation(errors) => msg!(
                ("有 {} 个字段无效，详见 errors。", errors.len()),
                ("{} field(s) are invalid: see errors.", errors.len())
            ),
            ApiError::PreconditionRequired => msg!(
                "修改资源须带 If-Match 请求头（取自 ETag）。",
                "Changing this resource needs an If-Match header with its ETag."
            ),
            ApiError::Unavailable => msg!(
                "服务暂时繁忙，请稍后重试。",
                "The service is busy: retry shortly."
            ),
            ApiError::Internal(_) => msg!(
                "服务器内部错误，已记录，请稍后重试。",
                "Something went wrong on our side; it has been logged."
            ),
        }
    }

    /// The problem body in `lang`.
    pub fn problem(&self, lang: Lang) -> Problem {
        let code = self.code();
        let errors = match self {
            ApiError::Validation(errors) => errors
                .iter()
                .map(|e| FieldProblem {
                    field: e.field.clone(),
                    code: e.code.to_owned(),
                    message: e.message.get(lang).to_owned(),
                })
                .collect(),
            _ => Vec::new(),
        };
        Problem {
            type_: format!("urn:party-center:problem:{code}"),
            title: self.title().get(lang).to_owned(),
            status: self.status_code().as_u16(),
            detail: self.detail().get(lang).to_owned(),
            code: code.to_owned(),
            errors,
        }
    }

    /// The full response in `lang`, with the headers the status calls for.
    pub fn render(&self, lang: Lang) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CONTENT_TYPE, PROBLEM_JSON))
            .insert_header((header::CONTENT_LANGUAGE, lang.tag()));
        match self {
            ApiError::Unauthorized(_) => {
                res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            ApiError::Unavailable => {
                res.insert_header((header::RETRY_AFTER, HeaderValue::from_static("2")));
            }
            ApiError::TooManyRequests { retry_after, .. } => {
                res.insert_header((header::RETRY_AFTER, HeaderValue::from(*retry_after)));
            }
            _ => {}
        }
        let body = serde_json::to_vec(&self.problem(lang)).unwrap_or_default();
        res.body(body)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden | ApiError::RoleNotAllowed { .. } | ApiError::Refused { .. } => {
                StatusCode::FORBIDDEN
            }
            ApiError::NotFound | ApiError::Missing { .. } => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation(_) | ApiError::Unprocessable { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Rendered in Chinese here; the language middleware re-renders it when the client
    /// asked for English (it finds this error on the response).
    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(e) = self {
            tracing::error!(error = ?e, "internal error");
        }
        self.render(Lang::Zh)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> ApiError {
        if is_unavailable(&e) {
            // These describe the connection or the server's state, never the data.
            tracing::warn!(error = %e, "database unavailable");
            return ApiError::Unavailable;
        }
        match &e {
            sqlx::Error::Database(db) => db
                .constraint()
                .and_then(constraint_error)
                .or_else(|| sqlstate_error(db.code().as_deref()))
                .unwrap_or_else(|| ApiError::Internal(anyhow::Error::new(e))),
            _ => ApiError::Internal(anyhow::Error::new(e)),
        }
    }
}

/// An infrastructure failure with its context; a database that cannot be reached
/// anywhere in its cause chain still answers 503, whatever context was added to it.
impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> ApiError {
        let unavailable = e
            .chain()
            .filter_map(|cause| cause.downcast_ref::<sqlx::Error>())
            .any(is_unavailable);
        if unavailable {
            tracing::warn!(error = %e, "database unavailable");
            return ApiError::Unavailable;
        }
        ApiError::Internal(e)
    }
}

/// Whether `e` says the database cannot be reached or used right now, so the request
/// may well succeed when retried, rather than that the request or the code is wrong.
///
/// That is: no connection to be had from the pool; a connection refused, reset or
/// closed under us (I/O, TLS, protocol errors); or the server reporting SQLSTATE class
/// 08 (connection exception), 57P01-57P05 (administrator or crash shutdown, starting up
/// or recovering, idle session ended), 40001 and 40P01 (a serialization failure or a
/// deadlock whose transaction was rolled back), 25006 (a write sent to a read-only
/// standby, a failover in progress), class 53 (out of disk, memory or connections), or
/// 57014 and 55P03 (a statement or lock timeout under load).
fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08")
                || code.starts_with("53")
                || code.starts_with("57P")
                || matches!(&*code, "40001" | "40P01" | "25006" | "57014" | "55P03")
        }),
        _ => false,
    }
}

/// Client errors the database reports by class rather than by constraint.
fn sqlstate_error(sqlstate: Option<&str>) -> Option<ApiError> {
    match sqlstate? {
        // A number beyond what a column holds (scores pushed to absurd totals).
        "22003" => Some(ApiError::Unprocessable {
            code: "out_of_range",
            detail: msg!(
                "数值超出可保存的范围。",
                "A number is beyond the range that can be stored."
            ),
        }),
        // Text PostgreSQL cannot store (a NUL character) in a parameter that no field
        // check covers, such as a search filter.
        "22021" | "22P05" => Some(ApiError::bad_request(
            "invalid_characters",
            msg!(
                "文本中含有无法保存的字符（如 NUL）。",
                "The text holds a character that cannot be stored (such as NUL)."
            ),
        )),
        _ => None,
    }
}

/// The client error a violated constraint stands for, from the one table of them
/// ([`constraints::CONSTRAINTS`]); `None` for a guarded or unknown one (a bug: 500).
fn constraint_error(constraint: &str) -> Option<ApiError> {
    match constraints::meaning(constraint)? {
        Meaning::Client(known) => Some(known.into()),
        Meaning::Guarded => None,
    }
}

impl From<Known> for ApiError {
    fn from(known: Known) -> ApiError {
        match known {
            Known::Conflict { code, zh, en } => ApiError::conflict(code, Msg::new(zh, en)),
            Known::Invalid(field) => ApiError::Validation(vec![field.into()]),
            Known::NotFound => ApiError::NotFound,
            Known::Forbidden => ApiError::Forbidden,
        }
    }
}

impl From<KnownField> for ApiError {
    fn from(field: KnownField) -> ApiError {
        ApiError::Validation(vec![field.into()])
    }
}

impl From<KnownField> for FieldError {
    fn from(f: KnownField) -> FieldError {
        FieldError::new(f.field, f.code, Msg::new(f.zh, f.en))
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_english_only_when_asked() {
        assert_eq!(Lang::negotiate(None), Lang::Zh);
        assert_eq!(Lang::negotiate(Some("en")), Lang::En);
        assert_eq!(Lang::negotiate(Some("en-US,en;q=0.9")), Lang::En);
        assert_eq!(Lang::negotiate(Some("zh-CN,zh;q=0.9,en;q=0.8")), Lang::Zh);
        assert_eq!(Lang::negotiate(Some("fr, en;q=0.5")), Lang::En);
        assert_eq!(Lang::negotiate(Some("fr")), Lang::Zh);
        assert_eq!(Lang::negotiate(Some("en;q=0")), Lang::Zh);
        assert_eq!(Lang::negotiate(Some("zh;q=0.4, en;q=0.6")), Lang::En);
    }

    #[test]
    fn validation_problem_lists_fields_in_the_chosen_language() {
        let e = ApiError::invalid("name", "required", msg!("必填", "required"));
        let p = e.problem(Lang::En);
        assert_eq!(p.status, 422);
        assert_eq!(p.code, "validation_failed");
        assert_eq!(p.type_, "urn:party-center:problem:validation_failed");
        assert_eq!(p.errors.len(), 1);
        assert_eq!(p.errors[0].message, "required");
        assert_eq!(e.problem(Lang::Zh).errors[0].message, "必填");
    }

    #[test]
    fn a_database_out_of_reach_is_503_even_under_added_context() {
        let reset = || sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        for e in [
            reset(),
            sqlx::Error::PoolClosed,
            sqlx::Error::PoolTimedOut,
            sqlx::Error::Protocol("unexpected end of stream".into()),
        ] {
            assert!(matches!(ApiError::from(e), ApiError::Unavailable));
        }
        let wrapped = anyhow::Error::new(reset()).context("reading the report");
        let e = ApiError::from(wrapped);
        assert_eq!(e.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            e.error_response()
                .headers()
                .contains_key(header::RETRY_AFTER)
        );
        let bug = ApiError::from(sqlx::Error::RowNotFound);
        assert_eq!(bug.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn internal_errors_say_nothing_internal() {
        let e = ApiError::Internal(anyhow::anyhow!("connection to 10.0.0.1 refused: password"));
        let body = serde_json::to_string(&e.problem(Lang::En)).unwrap();
        assert!(!body.contains("10.0.0.1"));
        assert!(!body.contains("password"));
        assert!(body.contains("internal_error"));
    }
}
