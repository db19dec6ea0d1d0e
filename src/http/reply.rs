//! Successful answers that follow the API conventions.

use actix_web::HttpResponse;
use actix_web::http::header;
use serde::Serialize;

use crate::http::extract::etag;

/// `200 OK` with the resource and its `ETag`.
pub fn with_etag(body: &impl Serialize, version: i64) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag(version)))
        .json(body)
}
