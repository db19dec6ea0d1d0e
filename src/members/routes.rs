//! The member endpoints: HTTP in, a workflow call, HTTP out.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use futures_util::StreamExt;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::domain::{
    Disclosure, Member, MemberPatch, MemberStatus, NameSearch, NewMember, Standing,
};
use super::import::{self, ImportReport, RawRow};
use super::repo;
use super::workflow::{self, ImportMode};
use crate::auth::{Auth, Role, roles};
use crate::error::ApiError;
use crate::http::extract::{IdempotencyKey, IfMatch, Json, etag};
use crate::http::idempotency::{Answer, idempotent};
use crate::http::paging::{Page, PageParams};
use crate::http::reply;
use crate::msg;

/// Filters of the member list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MemberQuery {
    /// Members of this branch.
    pub branch_id: Option<Uuid>,
    /// Members living in this village (exact name).
    #[param(max_length = 50)]
    pub village: Option<String>,
    /// Members with this status.
    #[param(inline)]
    pub status: Option<MemberStatus>,
    /// Only reserve cadres (`true`) or only others (`false`).
    pub reserve_cadre: Option<bool>,
    /// Only outstanding young members (`true`) or only others (`false`).
    pub outstanding_young: Option<bool>,
    /// Name search: members whose name contains this text (one or more characters).
    #[param(max_length = 50)]
    pub q: Option<String>,
    /// Only holders of a valid floating member certificate (`true`) or only others.
    pub floating: Option<bool>,
    /// Only members under transformation, with an open case (`true`), or only others.
    pub under_transformation: Option<bool>,
    /// 只列预备党员或正式党员。 Only probationary or only full members.
    #[param(inline)]
    pub standing: Option<Standing>,
}

impl MemberQuery {
    fn filter(&self) -> Result<repo::Filter, ApiError> {
        crate::http::extract::check_query_lengths(&[
            ("village", self.village.as_deref(), 50),
            ("q", self.q.as_deref(), 50),
        ])?;
        Ok(repo::Filter {
            branch_id: self.branch_id,
            village: self.village.clone(),
            status: self.status,
            reserve_cadre: self.reserve_cadre,
            outstanding_young: self.outstanding_young,
            name: self.q.as_deref().and_then(NameSearch::new),
            floating: self.floating,
            under_transformation: self.under_transformation,
            standing: self.standing,
        })
    }
}

/// Whether to show sensitive numbers in full.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RevealQuery {
    /// `true` shows the national ID number and phone in full: committee only, and every
    /// reveal is written to the audit trail.
    pub reveal: Option<bool>,
}

/// Register a member · 登记党员
///
/// The member enters the given branch by a `registration` transfer, the first entry of
/// their transfer history; their branch changes only by transfers after that. The national
/// ID number and the phone are unique in the town. Roles: `staff`, `committee`.
///
/// 党员以一次 `registration` 接转进入所填支部，这是其接转记录的第一条；
/// 此后只能通过接转变更支部。身份证号和电话在本镇内唯一。角色：`staff`、`committee`。
#[utoipa::path(
    operation_id = "create_member",
    tag = "members",
    params(("town" = Uuid, Path, description = "The town's id.")),
    request_body = NewMember,
    responses(
        (status = 201, description = "The member, numbers masked.", body = Member,
         headers(("ETag" = String, description = "The member's version"), ("Location" = String, description = "The member's URL"))),
        (status = 409, description = "`national_id_taken` or `phone_taken`.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["staff", "committee"])),
)]
#[post("")]
pub(super) async fn create_member(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    key: IdempotencyKey,
    body: Json<NewMember>,
) -> Result<HttpResponse, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    idempotent(&db, &auth, &key, &req, &*body, async |tx| {
        let member = workflow::register_member(tx, &auth, town, &body).await?;
        let location = format!("/api/v1/towns/{town}/members/{}", member.id);
        Answer::created(&member, etag(member.version), location)
    })
    .await
}

/// List and search a town's members · 列出和检索本镇党员
///
/// Filters combine; `q` finds members whose name contains the text, through an index of
/// the names' characters and character pairs. Numbers are always masked here. Roles:
/// `staff`, `committee`, `county`.
///
/// 筛选条件可组合；`q` 按姓名中包含的文字查找（借助姓名的单字和双字索引）。此处号码一律脱敏显示。
/// 角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "list_members",
    tag = "members",
    params(("town" = Uuid, Path, description = "The town's id."), MemberQuery, PageParams),
    responses((status = 200, description = "A page of members.", body = Page<Member>)),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("")]
pub(super) async fn list_members(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<Uuid>,
    query: web::Query<MemberQuery>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<Member>>, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    let keyset = page.keyset()?;
    let mut conn = db.acquire().await?;
    let rows = repo::list(&mut conn, town, &query.filter()?, keyset).await?;
    let page = Page::from_rows(rows, keyset, |m| m.id);
    Ok(web::Json(Page {
        items: page
            .items
            .into_iter()
            .map(|m| m.view(Disclosure::Masked))
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Read a member · 查看一名党员
///
/// Numbers are masked; the committee may ask for them in full with `reveal=true`, and each
/// such reveal is recorded in the audit trail. Roles: `staff`, `committee`, `county`.
///
/// 号码脱敏显示；镇党委可用 `reveal=true` 查看完整号码，每次查看都记入审计记录。
/// 角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "get_member",
    tag = "members",
    params(("town" = Uuid, Path, description = "The town's id."), ("member" = Uuid, Path, description = "The member's id."), RevealQuery),
    responses((status = 200, description = "The member.", body = Member,
               headers(("ETag" = String, description = "The member's version")))),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/{member:[0-9a-fA-F-]+}")]
pub(super) async fn get_member(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    query: web::Query<RevealQuery>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let disclosure = if query.reveal.unwrap_or(false) {
        if auth.role != Role::Committee {
            return Err(ApiError::Forbidden);
        }
        Disclosure::Revealed
    } else {
        Disclosure::Masked
    };
    let mut tx = db.begin().await?;
    let member = workflow::read_member(&mut tx, &auth, town, id, disclosure).await?;
    tx.commit().await?;
    Ok(reply::with_etag(&member, member.version))
}

/// Change a member's details · 修改党员信息
///
/// Needs `If-Match`. The national ID number is fixed at registration, and the branch
/// changes only by transfers. Roles: `staff`, `committee`.
///
/// 需带 `If-Match`。身份证号在登记时确定，不可修改；支部只能通过接转变更。
/// 角色：`staff`、`committee`。
#[utoipa::path(
    operation_id = "update_member",
    tag = "members",
    params(("town" = Uuid, Path, description = "The town's id."), ("member" = Uuid, Path, description = "The member's id.")),
    request_body = MemberPatch,
    responses(
        (status = 200, description = "The changed member.", body = Member,
         headers(("ETag" = String, description = "The member's new version"))),
        (status = 409, description = "`phone_taken`.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["staff", "committee"])),
)]
#[patch("/{member:[0-9a-fA-F-]+}")]
pub(super) async fn update_member(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
    body: Json<MemberPatch>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut tx = db.begin().await?;
    let member = workflow::update_member(&mut tx, &auth, town, id, if_match, &body).await?;
    tx.commit().await?;
    Ok(reply::with_etag(&member, member.version))
}

/// Whether to only check the file.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// `true` checks the file and reports, importing nothing.
    pub dry_run: Option<bool>,
}

/// A roster file: CSV (UTF-8) or XLSX.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct RosterFile(#[allow(dead_code)] Vec<u8>);

/// The two file formats a roster comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RosterFormat {
    Csv,
    Xlsx,
}

/// The roster's format by its `Content-Type`; 415 for any other.
fn roster_format(req: &HttpRequest) -> Result<RosterFormat, ApiError> {
    let kind = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    match kind.as_deref() {
        Some(CSV) => Ok(RosterFormat::Csv),
        Some(XLSX) => Ok(RosterFormat::Xlsx),
        _ => Err(ApiError::UnsupportedMediaType),
    }
}

const CSV: &str = "text/csv";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The roster's rows and the file's fingerprint (its SHA-256, in hex): 415 for another
/// content type, 413 over [`import::IMPORT_LIMIT`], 422 for a file that does not read.
async fn read_roster(
    req: &HttpRequest,
    mut payload: web::Payload,
) -> Result<(Vec<RawRow>, String), ApiError> {
    let format = roster_format(req)?;
    let mut bytes = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| {
            ApiError::bad_request(
                "body_unreadable",
                msg!("无法读取请求体。", "The request body could not be read."),
            )
        })?;
        if bytes.len() + chunk.len() > import::IMPORT_LIMIT {
            return Err(ApiError::PayloadTooLarge {
                limit: import::IMPORT_LIMIT,
            });
        }
        bytes.extend_from_slice(&chunk);
    }
    let fingerprint = hex(&Sha256::digest(&bytes));
    let rows = match format {
        RosterFormat::Xlsx => import::read_xlsx(bytes)?,
        RosterFormat::Csv => import::read_csv(&bytes)?,
    };
    Ok((rows, fingerprint))
}

/// Import a roster of members · 批量导入党员名册
///
/// The body is a CSV (`text/csv`, UTF-8, a BOM allowed) or XLSX file (the first sheet)
/// whose first row holds the headings, in Chinese or English: 姓名/name, 身份证号/national_id,
/// 所在支部/branch (a branch name of this town) are required; 联系电话/phone,
/// 村（社区）/village, 入党日期/joined_party_on, 后备干部/reserve_cadre and
/// 优秀年轻党员/outstanding_young (是/否) are optional. The whole file is checked first:
/// if any row is wrong, nothing is imported and the 422 lists every problem as
/// `rows[<row>].<column>`. Otherwise every member is registered in one transaction, each
/// with the registration transfer into their branch. At most 100,000 rows and 10 MiB.
/// Roles: `committee`.
///
/// 请求体为 CSV（`text/csv`，UTF-8，
/// 可带 BOM）或 XLSX 文件（读取第一个工作表），首行为列标题，
/// 中英文均可：姓名/name、身份证号/national_id、所在支部/branch（本镇的支部名称）为必填；
/// 联系电话/phone、村（社区）/village、入党日期/joined_party_on、后备干部/reserve_cadre 和优秀年轻党员/outstanding_young（是/否）为选填。
/// 先检查整个文件：任何一行有误则一条也不导入，422 以 `rows[<行>].<列>` 列出每个问题。
/// 否则在同一事务中登记每名党员，每人以一次登记接转进入其支部。最多 100,000 行、10 MiB。
/// 角色：`committee`。
#[utoipa::path(
    operation_id = "import_members",
    tag = "members",
    params(("town" = Uuid, Path, description = "The town's id."), ImportQuery),
    request_body(content((RosterFile = "text/csv"), (RosterFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")),
                 description = "The roster file."),
    responses(
        (status = 201, description = "Every row was imported.", body = ImportReport),
        (status = 200, description = "Dry run: every row is valid; nothing was imported.", body = ImportReport),
        (status = 409, description = "`national_id_taken` or `phone_taken`: a member was registered meanwhile.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["committee"])),
)]
#[post("/import")]
pub(super) async fn import_members(
    auth: Auth<{ roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    query: web::Query<ImportQuery>,
    key: IdempotencyKey,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    let (rows, fingerprint) = read_roster(&req, payload).await?;
    if query.dry_run.unwrap_or(false) {
        // Only reads, in a transaction that is never committed; a dry run claims no key.
        let mut tx = db.begin().await?;
        let report = workflow::import_roster(&mut tx, &auth, town, &rows, ImportMode::DryRun);
        return Ok(HttpResponse::Ok().json(report.await?));
    }
    // The file's fingerprint stands for the body: a retried import replays its first
    // answer before anything is checked again (its members exist by now, and would read
    // as duplicates).
    idempotent(&db, &auth, &key, &req, &fingerprint, async |tx| {
        let report = workflow::import_roster(tx, &auth, town, &rows, ImportMode::Import).await?;
        Ok(Answer {
            status: StatusCode::CREATED,
            body: serde_json::to_value(&report).map_err(anyhow::Error::from)?,
            etag: None,
            location: None,
        })
    })
    .await
}
