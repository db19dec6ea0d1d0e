//! Transformation cases (articles 19-23): intake (art. 20), the score and its ledger
//! (art. 21-22), committee adjustments, and the committee matters that a low score opens
//! and their dispositions (art. 23).
//!
//! `routes` is the HTTP side, `workflow` the steps of each change in one transaction,
//! `domain` the types (the tagged request bodies among them), `repo` the SQL. Every point
//! goes through the ledger ([`crate::scores`]).

pub mod domain;
pub mod repo;
mod routes;
pub mod workflow;

pub use self::routes::CaseQuery;

use sqlx::PgPool;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::error::ApiError;
use crate::http::paging::{Page, PageParams};
use crate::scores::{self, LedgerEntry};

/// Registers the module's routes under `/api/v1/towns/{town}/cases`,
/// with paths relative to it (the scope is built in `startup::routes`).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(routes::open_case)
        .service(routes::list_cases)
        .service(routes::get_case)
        .service(routes::get_ledger)
        .service(routes::adjust)
        .service(routes::list_matters)
        .service(routes::dispose);
}

/// A page of a case's ledger (also used by `/me`).
pub async fn ledger_of(
    db: &PgPool,
    town: Uuid,
    case: Uuid,
    page: &PageParams,
) -> Result<Page<LedgerEntry>, ApiError> {
    let keyset = page.keyset::<i64>()?;
    let mut conn = db.acquire().await?;
    let rows = scores::ledger_page(
        &mut conn,
        town,
        case,
        keyset.before_or_max(),
        keyset.fetch(),
    )
    .await?;
    // Entries of the town's case prove the case is there; only an empty page needs to ask
    // (a case without entries, or none at all: 404).
    if rows.is_empty() {
        repo::get(&mut conn, town, case)
            .await?
            .ok_or(ApiError::NotFound)?;
    }
    Ok(Page::from_rows(rows, keyset, |e| i64::from(e.seq)))
}
