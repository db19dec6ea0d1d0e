//! The documented routes as data, read from the OpenAPI document the code generates:
//! which methods each path shape allows (to tell a wrong method, 405, from an unknown
//! path, 404) and which query parameters each operation takes (to refuse a misspelt
//! filter with 400 rather than silently answer as if it were absent).
//!
//! Each query parameter is also checked against its documented schema (a boolean, an
//! integer in its range, a UUID, a date, one of an enum's values, a text of bounded
//! length), so a bad value gets a 400 that names the parameter and says what it must be,
//! in the client's language, before any handler runs.
//!
//! Paths are matched segment by segment (`{name}` takes any one segment), without a
//! regex engine: a path is split once and compared with about a hundred shapes.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDate};
use serde_json::Value;
use utoipa::openapi::OpenApi as OpenApiDoc;
use uuid::Uuid;

use crate::error::ApiError;
use crate::msg;

/// One documented path shape and what it serves.
#[derive(Debug)]
struct Route {
    /// The documented pattern, e.g. `/api/v1/towns/{town}`.
    pattern: String,
    /// The path's segments; `None` stands for a `{parameter}`.
    segments: Vec<Option<String>>,
    /// The methods served, each with its query parameters.
    methods: Vec<(Method, Vec<QueryParam>)>,
}

impl Route {
    fn matches(&self, path: &[&str]) -> bool {
        self.segments.len() == path.len()
            && self
                .segments
                .iter()
                .zip(path)
                .all(|(want, got)| want.as_deref().is_none_or(|w| w == *got))
    }

    /// The `Allow` header's value.
    fn allow(&self) -> String {
        let names: Vec<&str> = self.methods.iter().map(|(m, _)| m.as_str()).collect();
        names.join(", ")
    }
}

/// Every documented route, built once at start-up from the OpenAPI document.
#[derive(Debug)]
pub struct KnownRoutes(Vec<Route>);

impl KnownRoutes {
    /// The routes of `api`.
    pub fn from_openapi(api: &OpenApiDoc) -> KnownRoutes {
        KnownRoutes::from_document(&serde_json::to_value(api).unwrap_or_default())
    }

    /// The routes of an OpenAPI document as JSON.
    fn from_document(doc: &Value) -> KnownRoutes {
        let schemas = &doc["components"]["schemas"];
        let mut routes = Vec::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            let methods = [
                (Method::GET, "get"),
                (Method::POST, "post"),
                (Method::PUT, "put"),
                (Method::PATCH, "patch"),
                (Method::DELETE, "delete"),
            ]
            .into_iter()
            .filter_map(|(m, key)| item.get(key).map(|op| (m, query_params(op, schemas))))
            .collect();
            routes.push(Route {
                pattern: path.clone(),
                segments: split(path)
                    .map(|s| (!s.starts_with('{')).then(|| s.to_owned()))
                    .collect(),
                methods,
            });
        }
        KnownRoutes(routes)
    }

    /// The documented pattern `path` matches, for logs and metrics.
    pub fn pattern(&self, path: &str) -> Option<&str> {
        self.find(path).map(|r| r.pattern.as_str())
    }

    fn find(&self, path: &str) -> Option<&Route> {
        let segments: Vec<&str> = split(path).collect();
        // A literal segment wins over a parameter (`/me/cases` before `/{town}/cases`):
        // the route with the most literal segments that fits.
        self.0
            .iter()
            .filter(|r| r.matches(&segments))
            .max_by_key(|r| r.segments.iter().filter(|s| s.is_some()).count())
    }
}

fn split(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

/// A documented query parameter and what its value must be.
#[derive(Debug, Clone)]
struct QueryParam {
    name: String,
    rule: Rule,
}

/// What a query parameter's value must be, from its schema.
#[derive(Debug, Clone)]
enum Rule {
    Bool,
    /// A whole number; its range is the handler's to check, with its own code
    /// (`invalid_limit`, `invalid_wait`, ...).
    Int,
    Uuid,
    Date,
    DateTime,
    OneOf(Vec<String>),
    Text {
        min: usize,
        max: usize,
    },
}

fn query_params(op: &Value, schemas: &Value) -> Vec<QueryParam> {
    op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["in"] == "query")
        .filter_map(|p| {
            let name = p["name"].as_str()?.to_owned();
            let mut schema = &p["schema"];
            if let Some(target) = schema["$ref"].as_str() {
                schema = &schemas[target.rsplit('/').next().unwrap_or_default()];
            }
            Some(QueryParam {
                name,
                rule: rule_of(schema),
            })
        })
        .collect()
}

fn rule_of(schema: &Value) -> Rule {
    if let Some(values) = schema["enum"].as_array() {
        return Rule::OneOf(
            values
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
        );
    }
    match (schema["type"].as_str(), schema["format"].as_str()) {
        (Some("boolean"), _) => Rule::Bool,
        (Some("integer"), _) => Rule::Int,
        (_, Some("uuid")) => Rule::Uuid,
        (_, Some("date")) => Rule::Date,
        (_, Some("date-time")) => Rule::DateTime,
        _ => Rule::Text {
            min: schema["minLength"].as_u64().unwrap_or(0) as usize,
            max: schema["maxLength"]
                .as_u64()
                .map_or(usize::MAX, |m| m as usize),
        },
    }
}

impl Rule {
    /// Whether `value` fits.
    fn admits(&self, value: &str) -> bool {
        match self {
            Rule::Bool => matches!(value, "true" | "false"),
            Rule::Int => value.parse::<i64>().is_ok(),
            Rule::Uuid => Uuid::parse_str(value).is_ok(),
            Rule::Date => {
                NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok_and(crate::types::admits_date)
            }
            Rule::DateTime => DateTime::parse_from_rfc3339(value)
                .is_ok_and(|t| crate::types::admits_date(t.date_naive())),
            Rule::OneOf(values) => values.iter().any(|v| v == value),
            Rule::Text { min, max } => (*min..=*max).contains(&value.chars().count()),
        }
    }

    /// What the value must be, naming the parameter, in both languages.
    fn problem(&self, name: &str) -> ApiError {
        let detail = match self {
            Rule::Bool => msg!(
                ("查询参数 {} 须为 true 或 false。", name),
                ("Query parameter `{}` must be true or false.", name)
            ),
            Rule::Int => msg!(
                ("查询参数 {} 须为整数。", name),
                ("Query parameter `{}` must be a whole number.", name)
            ),
            Rule::Uuid => msg!(
                ("查询参数 {} 须为 UUID。", name),
                ("Query parameter `{}` must be a UUID.", name)
            ),
            Rule::Date => msg!(
                (
                    "查询参数 {} 须为日期，格式 YYYY-MM-DD，范围 {}。",
                    name,
                    crate::types::DATE_BOUNDS
                ),
                (
                    "Query parameter `{}` must be a date, YYYY-MM-DD, within {}.",
                    name,
                    crate::types::DATE_BOUNDS
                )
            ),
            Rule::DateTime => msg!(
                (
                    "查询参数 {} 须为带时区的时间（RFC 3339，如 2026-12-07T08:00:00+08:00），日期在 {} 之内。",
                    name,
                    crate::types::DATE_BOUNDS
                ),
                (
                    "Query parameter `{}` must be a time with its offset (RFC 3339, such as 2026-12-07T08:00:00+08:00), on a day within {}.",
                    name,
                    crate::types::DATE_BOUNDS
                )
            ),
            Rule::OneOf(values) => msg!(
                ("查询参数 {} 须为以下之一：{}。", name, values.join("、")),
                (
                    "Query parameter `{}` must be one of: {}.",
                    name,
                    values.join(", ")
                )
            ),
            Rule::Text { min, max } => msg!(
                ("查询参数 {} 须为 {} 到 {} 个字符。", name, min, max),
                (
                    "Query parameter `{}` must be {} to {} characters.",
                    name,
                    min,
                    max
                )
            ),
        };
        ApiError::bad_request("invalid_query", detail)
    }
}

/// Middleware: a request to a documented operation with a query parameter that the
/// operation does not take, given twice, or with a value its schema does not admit, is a
/// 400 `invalid_query` naming it, before any handler runs.
pub async fn check_query(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if !req.query_string().is_empty()
        && let Some(known) = req.app_data::<web::Data<KnownRoutes>>()
        && let Err(e) = query_problem(known, req.method(), req.path(), req.query_string())
    {
        // Built from the error itself, so the language middleware finds it and answers in
        // the client's language.
        let (req, _) = req.into_parts();
        return Ok(ServiceResponse::new(req, HttpResponse::from_error(e)));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// Checks `query` against the operation at `method` `path`; passes when no documented
/// operation is there (the 404 or 405 says more).
fn query_problem(
    known: &KnownRoutes,
    method: &Method,
    path: &str,
    query: &str,
) -> Result<(), ApiError> {
    let Some((_, params)) = known
        .find(path)
        .and_then(|route| route.methods.iter().find(|(m, _)| m == method))
    else {
        return Ok(());
    };
    let pairs = web::Query::<Vec<(String, String)>>::from_query(query)
        .map_err(|_| {
            ApiError::bad_request(
                "invalid_query",
                msg!(
                    "查询字符串无法解析（须为 URL 编码的 名称=值&…）。",
                    "The query string does not parse (it must be URL-encoded name=value&...)."
                ),
            )
        })?
        .into_inner();
    for (i, (name, value)) in pairs.iter().enumerate() {
        let Some(param) = params.iter().find(|p| p.name == *name) else {
            return Err(ApiError::bad_request(
                "invalid_query",
                msg!(
                    ("未知的查询参数：{}。", name),
                    ("Unknown query parameter `{}`.", name)
                ),
            ));
        };
        if pairs[..i].iter().any(|(earlier, _)| earlier == name) {
            return Err(ApiError::bad_request(
                "invalid_query",
                msg!(
                    ("查询参数 {} 只能出现一次。", name),
                    ("Query parameter `{}` may appear once only.", name)
                ),
            ));
        }
        if !param.rule.admits(value) {
            return Err(param.rule.problem(name));
        }
    }
    Ok(())
}

/// Every request no route took: 405 with `Allow` for a known path and another method,
/// 404 otherwise.
pub async fn unrouted(req: HttpRequest, known: web::Data<KnownRoutes>) -> HttpResponse {
    match known.find(req.path()) {
        // The path's shape is known and the method is served there, but a segment (an id)
        // did not fit: no such resource.
        Some(route) if route.methods.iter().any(|(m, _)| m == req.method()) => {
            HttpResponse::from_error(ApiError::NotFound)
        }
        Some(route) => {
            let mut res = HttpResponse::from_error(ApiError::MethodNotAllowed);
            if let Ok(v) = header::HeaderValue::from_str(&route.allow()) {
                res.headers_mut().insert(header::ALLOW, v);
            }
            res
        }
        None => HttpResponse::from_error(ApiError::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A document of two operations, shaped as utoipa writes them (the real document is
    /// checked through the server in tests/api/hardening.rs).
    fn routes() -> KnownRoutes {
        let doc = serde_json::json!({
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1"},
            "paths": {
                "/api/v1/towns": {"get": {"responses": {}}, "post": {"responses": {}}},
                "/api/v1/towns/{town}/members": {"get": {"responses": {}, "parameters": [
                    {"name": "town", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "format": "int32", "minimum": 1, "maximum": 200}},
                    {"name": "status", "in": "query", "schema": {"$ref": "#/components/schemas/MemberStatus"}},
                    {"name": "reserve_cadre", "in": "query", "schema": {"type": "boolean"}},
                    {"name": "branch_id", "in": "query", "schema": {"type": "string", "format": "uuid"}},
                    {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 50}}
                ]}}
            },
            "components": {"schemas": {"MemberStatus": {"type": "string", "enum": ["active", "removed"]}}}
        });
        KnownRoutes::from_document(&doc)
    }

    fn problem(query: &str) -> Option<String> {
        let path = "/api/v1/towns/0199d6a0-0000-7000-8000-000000000000/members";
        query_problem(&routes(), &Method::GET, path, query)
            .err()
            .map(|e| e.problem(crate::error::Lang::En).detail)
    }

    #[test]
    fn a_misspelt_filter_is_named_and_a_documented_one_passes() {
        assert_eq!(
            problem("statuss=open").unwrap(),
            "Unknown query parameter `statuss`."
        );
        assert_eq!(problem("limit=5&status=active"), None);
        let elsewhere = query_problem(&routes(), &Method::GET, "/nowhere", "x=1");
        assert!(
            elsewhere.is_ok(),
            "no documented operation: left to the 404"
        );
    }

    #[test]
    fn a_bad_value_is_named_with_what_it_must_be() {
        assert_eq!(
            problem("limit=abc").unwrap(),
            "Query parameter `limit` must be a whole number."
        );
        assert_eq!(problem("limit=0"), None, "the range is the handler's");
        assert!(
            problem("reserve_cadre=yes")
                .unwrap()
                .contains("`reserve_cadre` must be true or false")
        );
        assert!(
            problem("branch_id=12")
                .unwrap()
                .contains("`branch_id` must be a UUID")
        );
        assert!(
            problem("status=gone")
                .unwrap()
                .contains("`status` must be one of: active")
        );
        assert!(problem("limit=5&limit=6").unwrap().contains("once only"));
        assert!(
            problem(&format!("q={}", "x".repeat(51)))
                .unwrap()
                .contains("`q` must be 0 to 50")
        );
        assert_eq!(problem("q=%E7%8E%8B&reserve_cadre=true"), None);
    }

    #[test]
    fn paths_match_by_segments() {
        let known = routes();
        let route = known
            .find("/api/v1/towns/0199d6a0-0000-7000-8000-000000000000/members")
            .expect("the member list is documented");
        assert!(route.allow().contains("GET"));
        assert!(known.find("/api/v1/towns").is_some());
        assert!(known.find("/api/v1/nothing/here/at/all").is_none());
    }
}
