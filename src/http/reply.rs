//! Successful answers that follow the API conventions, and conditional reads: a `GET`
//! whose `If-None-Match` names the answer's current `ETag` gets `304 Not Modified` with
//! no body ([`not_modified`]).

use actix_web::HttpResponse;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use serde::Serialize;

use crate::http::extract::etag;

/// `200 OK` with the resource and its `ETag`.
pub fn with_etag(body: &impl Serialize, version: i64) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag(version)))
        .json(body)
}

/// Middleware: turns a `200` answer to a `GET` or `HEAD` into `304 Not Modified` when the
/// request's `If-None-Match` lists the answer's `ETag` (or is `*`), as RFC 9110 says. The
/// resource is still read (and access checked) first: a 304 never says more than the 200
/// would have.
pub async fn not_modified(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let conditional = matches!(*req.method(), Method::GET | Method::HEAD)
        .then(|| req.headers().get(header::IF_NONE_MATCH).cloned())
        .flatten();
    let res = next.call(req).await?.map_into_boxed_body();
    let Some(wanted) = conditional else {
        return Ok(res);
    };
    let current = res.headers().get(header::ETAG).cloned();
    let matches = match (wanted.to_str(), current.as_ref().map(|c| c.to_str())) {
        (Ok(wanted), Some(Ok(current))) if res.status() == StatusCode::OK => {
            wanted.trim() == "*"
                || wanted
                    .split(',')
                    .map(|t| t.trim().trim_start_matches("W/"))
                    .any(|t| t == current)
        }
        _ => false,
    };
    if !matches {
        return Ok(res);
    }
    let (req, old) = res.into_parts();
    let mut answer = HttpResponse::NotModified();
    for name in [header::ETAG, header::CACHE_CONTROL, header::VARY] {
        if let Some(value) = old.headers().get(&name) {
            answer.insert_header((name, value.clone()));
        }
    }
    Ok(ServiceResponse::new(req, answer.finish()))
}
