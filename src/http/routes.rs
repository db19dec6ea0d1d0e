//! The documented routes as data, read from the OpenAPI document the code generates:
//! which methods each path shape allows (to tell a wrong method, 405, from an unknown
//! path, 404) and which query parameters each operation takes (to refuse a misspelt
//! filter with 400 rather than silently answer as if it were absent).
//!
//! Paths are matched segment by segment (`{name}` takes any one segment), without a
//! regex engine: a path is split once and compared with about a hundred shapes.

use std::collections::BTreeSet;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{OpenApi as OpenApiDoc, RefOr};

use crate::error::ApiError;
use crate::msg;

/// One documented path shape and what it serves.
#[derive(Debug)]
struct Route {
    /// The documented pattern, e.g. `/api/v1/towns/{town}`.
    pattern: String,
    /// The path's segments; `None` stands for a `{parameter}`.
    segments: Vec<Option<String>>,
    /// The methods served, each with the names of its query parameters.
    methods: Vec<(Method, BTreeSet<String>)>,
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
        let routes = api
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    (Method::GET, &item.get),
                    (Method::POST, &item.post),
                    (Method::PUT, &item.put),
                    (Method::PATCH, &item.patch),
                    (Method::DELETE, &item.delete),
                ]
                .into_iter()
                .filter_map(|(m, op)| op.as_ref().map(|op| (m, query_names(op))))
                .collect();
                Route {
                    pattern: path.clone(),
                    segments: split(path)
                        .map(|s| (!s.starts_with('{')).then(|| s.to_owned()))
                        .collect(),
                    methods,
                }
            })
            .collect();
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

fn query_names(op: &Operation) -> BTreeSet<String> {
    op.parameters
        .iter()
        .flatten()
        .filter_map(|p| match p {
            RefOr::T(p) => Some(p),
            RefOr::Ref(_) => None,
        })
        .filter(|p| matches!(p.parameter_in, ParameterIn::Query))
        .map(|p| p.name.clone())
        .collect()
}

/// Middleware: a request to a documented operation with a query parameter that the
/// operation does not take is a 400 `invalid_query` naming it, before any handler runs.
pub async fn reject_unknown_query(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if !req.query_string().is_empty()
        && let Some(known) = req.app_data::<web::Data<KnownRoutes>>()
        && let Some(unknown) =
            unknown_parameter(known, req.method(), req.path(), req.query_string())
    {
        let res = ApiError::bad_request(
            "invalid_query",
            msg!(
                ("未知的查询参数：{}。", unknown),
                ("Unknown query parameter `{}`.", unknown)
            ),
        )
        .error_response();
        return Ok(req.into_response(res));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// The first query parameter of `query` that the operation at `method` `path` does not
/// take; `None` when all are known, or when no documented operation is there (the 404
/// or 405 says more).
fn unknown_parameter(
    known: &KnownRoutes,
    method: &Method,
    path: &str,
    query: &str,
) -> Option<String> {
    let (_, names) = known
        .find(path)?
        .methods
        .iter()
        .find(|(m, _)| m == method)?;
    // A query that does not even parse is left to the handler's extractor, which says why.
    let pairs = web::Query::<Vec<(String, String)>>::from_query(query).ok()?;
    pairs
        .into_inner()
        .into_iter()
        .map(|(name, _)| name)
        .find(|name| !names.contains(name))
}

/// Every request no route took: 405 with `Allow` for a known path and another method,
/// 404 otherwise.
pub async fn unrouted(req: HttpRequest, known: web::Data<KnownRoutes>) -> HttpResponse {
    match known.find(req.path()) {
        // The path's shape is known and the method is served there, but a segment (an id)
        // did not fit: no such resource.
        Some(route) if route.methods.iter().any(|(m, _)| m == req.method()) => {
            ApiError::NotFound.error_response()
        }
        Some(route) => {
            let mut res = ApiError::MethodNotAllowed.error_response();
            if let Ok(v) = header::HeaderValue::from_str(&route.allow()) {
                res.headers_mut().insert(header::ALLOW, v);
            }
            res
        }
        None => ApiError::NotFound.error_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes() -> KnownRoutes {
        KnownRoutes::from_openapi(&crate::openapi::document())
    }

    #[test]
    fn a_misspelt_filter_is_named_and_a_documented_one_passes() {
        let known = routes();
        let path = "/api/v1/towns/0199d6a0-0000-7000-8000-000000000000/members";
        assert_eq!(
            unknown_parameter(&known, &Method::GET, path, "statuss=open"),
            Some("statuss".to_owned())
        );
        assert_eq!(
            unknown_parameter(&known, &Method::GET, path, "limit=5"),
            None
        );
        assert_eq!(
            unknown_parameter(&known, &Method::GET, "/nowhere", "x=1"),
            None
        );
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
