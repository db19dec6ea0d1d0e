//! The activity endpoints: HTTP in, a workflow call, HTTP out.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use chrono::NaiveDate;
use serde::Deserialize;
use sqlx::PgPool;
use utoipa::IntoParams;
use uuid::Uuid;

use super::domain::{
    self, Activity, ActivityDetail, ActivityKind, MyActivity, NewActivity, NewRoll, Roll,
};
use super::repo;
use super::workflow::{self, Recorded};
use crate::auth::{Auth, Scope, roles};
use crate::error::ApiError;
use crate::http::extract::{IdempotencyKey, Json, etag};
use crate::http::idempotency::{Answer, idempotent};
use crate::http::paging::{Page, PageParams};
use crate::http::reply;

fn location(town: Uuid, id: Uuid) -> String {
    format!("/api/v1/towns/{town}/activities/{id}")
}

/// Filters of the activity list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActivityQuery {
    /// Only activities of this kind.
    #[param(inline)]
    pub kind: Option<ActivityKind>,
    /// Only activities starting on or after this day (`YYYY-MM-DD`, the town's time
    /// zone; years 2000 to 2099).
    #[serde(default)]
    #[param(value_type = Option<crate::types::CalendarDate>, inline)]
    pub from: Option<NaiveDate>,
    /// Only activities starting on or before this day (`YYYY-MM-DD`, the town's time
    /// zone; years 2000 to 2099).
    #[serde(default)]
    #[param(value_type = Option<crate::types::CalendarDate>, inline)]
    pub to: Option<NaiveDate>,
}

/// Plan an activity and who must attend it · 安排一次活动及应参加人员
///
/// Who must attend is fixed now: every member with an open case
/// (`all_under_transformation`) or those listed in `transformation_member_ids` (each must
/// have an open case: `no_open_case`), the `trainee_member_ids`, and the
/// `other_member_ids`. A member with an open case is required as `transformation` (with
/// that case) whichever list names them, since an absence costs points to anyone under
/// transformation. Each member is named once (`duplicate`); each must be a member of the
/// town (`unknown_member`) still in its organization (`member_not_active`). Roles:
/// `staff`, `committee`.
///
/// 应参加人员此时确定：所有在管转化党员（`all_under_transformation`）或 `transformation_member_ids` 所列党员（每人须有在管档案：`no_open_case`），
/// 加上 `trainee_member_ids` 和 `other_member_ids`。
/// 有在管档案的党员无论列在哪一项，都以 `transformation`（连同其档案）身份参加，因为转化党员缺勤要扣分。
/// 每人只能列一次（`duplicate`）；
/// 每人须是本镇党员（`unknown_member`）且仍在册（`member_not_active`）。
/// 角色：`staff`、`committee`。
#[utoipa::path(
    operation_id = "create_activity",
    tag = "activities",
    params(("town" = Uuid, Path, description = "The town's id.")),
    request_body = NewActivity,
    responses(
        (status = 201, description = "The activity and who must attend.", body = ActivityDetail,
         headers(("ETag" = String, description = "The activity's version"), ("Location" = String, description = "The activity's URL"))),
    ),
    security(("bearer" = ["staff", "committee"])),
)]
#[post("")]
pub(super) async fn create_activity(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    key: IdempotencyKey,
    body: Json<NewActivity>,
) -> Result<HttpResponse, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    idempotent(&db, &auth, &key, &req, &*body, async |tx| {
        let detail = workflow::plan(tx, &auth, town, &body).await?;
        let location = location(town, detail.activity.id);
        Answer::created(&detail, etag(detail.activity.version), location)
    })
    .await
}

/// List a town's activities · 列出本镇的活动
///
/// In creation order; filters by kind and by the day they start (in the town's time
/// zone). Roles: `staff`, `committee`, `county`.
///
/// 按创建顺序排列；可按类型和开始日期（本镇时区）筛选。
/// 角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "list_activities",
    tag = "activities",
    params(("town" = Uuid, Path, description = "The town's id."), ActivityQuery, PageParams),
    responses((status = 200, description = "A page of activities.", body = Page<Activity>)),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("")]
pub(super) async fn list_activities(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<Uuid>,
    query: web::Query<ActivityQuery>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<Activity>>, ApiError> {
    let town = auth.town(&db, path.into_inner()).await?;
    domain::check_day_filter("from", query.from)?;
    domain::check_day_filter("to", query.to)?;
    let keyset = page.keyset()?;
    let mut conn = db.acquire().await?;
    let rows = repo::list(&mut conn, town, query.kind, query.from, query.to, keyset).await?;
    Ok(web::Json(Page::from_rows(rows, keyset, |a| a.id)))
}

/// Read an activity, who must attend it, and its roll once recorded · 查看活动、应参加人员及已记录的点名
///
/// Roles: `staff`, `committee`, `county`.
///
/// 角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "get_activity",
    tag = "activities",
    params(("town" = Uuid, Path, description = "The town's id."), ("activity" = Uuid, Path, description = "The activity's id.")),
    responses((status = 200, description = "The activity.", body = ActivityDetail,
               headers(("ETag" = String, description = "The activity's version")))),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/{activity}")]
pub(super) async fn get_activity(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    db: web::Data<PgPool>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (town, id) = path.into_inner();
    let town = auth.town(&db, town).await?;
    let mut conn = db.acquire().await?;
    let detail = workflow::read(&mut conn, town, id).await?;
    Ok(reply::with_etag(&detail, detail.activity.version))
}

/// Record an activity's attendance roll, once, as one batch · 记录一次活动的考勤点名，一次性整批提交
///
/// The roll is complete: one line for every member who had to attend (each missing one
/// is listed in `errors` as `missing`, field `items`), each once (`duplicate`), no one
/// else (`not_required`, naming `items[i].member_id`). An excused leave has an
/// `excuse_reason` and an `approved_by` (`required`), and no other line has them
/// (`only_when_excused`). The activity must have started (409 `activity_not_started`).
///
/// Each absence of a member required as under transformation writes one ledger entry to
/// the case named when the activity was planned: `absence`, one step down (-0.5 under
/// the rules as written), its source the attendance record; an excused leave does too
/// when the policy's `excused_leave_costs` is on. A line that would cost points but
/// cannot is recorded without them, saying why in `unscored`: the case has been
/// concluded since the activity was planned (the member is no longer under
/// transformation), or the policy freezes the score once an evaluation is due. Scores
/// crossing below the low threshold open one committee matter per case, in the same
/// transaction.
///
/// A roll is recorded once and sending it again changes nothing: with the same key the
/// first answer comes back (`idempotent-replayed: true`), with another key a 200 with the
/// recorded roll (line for line the same: statuses, reasons, approvers); a different roll is a 409
/// `roll_recorded` (wrong points are corrected by a committee reversal). Needs an
/// `Idempotency-Key` (without one: 400 `idempotency_key_required`). Roles: `staff`,
/// `committee`.
///
/// 点名须完整：每名应参加人员一行（缺少的每人在 `errors` 中列为 `missing`，
/// 字段 `items`），每人一次（`duplicate`），
/// 不得有其他人（`not_required`，指明 `items[i].member_id`）。
/// 请假须有 `excuse_reason` 和 `approved_by`（`required`），
/// 其他行不得带这两项（`only_when_excused`）。
/// 活动须已开始（409 `activity_not_started`）。
/// 以转化党员身份参加者每缺勤一次，向安排活动时所定的档案写入一条记分：`absence`，
/// 减一个步长（按工作制度原文为 -0.5 分），来源为该考勤记录；
/// 计分办法开启 `excused_leave_costs` 时，请假也照此扣分。
/// 应扣分但无法扣分的行照常记录，不扣分，
/// 并在 `unscored` 中说明原因：安排活动后档案已结案（该党员已不在转化中），
/// 或计分办法规定待评议后冻结积分。
/// 积分降到低分线以下时，在同一事务中为每份档案生成一项镇党委处理事项。
/// 点名只记录一次，
/// 重复提交不会改变任何内容：用同一个键返回第一次的应答（`idempotent-replayed: true`），
/// 用另一个键返回 200 和已记录的点名（逐行相同：状态、理由、批准人）；
/// 内容不同的点名答 409 `roll_recorded`（扣分有误由镇党委冲销）。
/// 需带 `Idempotency-Key`（缺少时答 400 `idempotency_key_required`）。
/// 角色：`staff`、`committee`。
#[utoipa::path(
    operation_id = "record_attendance",
    tag = "activities",
    params(
        ("town" = Uuid, Path, description = "The town's id."),
        ("activity" = Uuid, Path, description = "The activity's id."),
        ("Idempotency-Key" = String, Header, description = "Required: a retry with the same key and body returns the first answer and writes nothing. 1 to 255 visible ASCII characters.",
         pattern = "^[!-~]+$", min_length = 1, max_length = 255),
    ),
    request_body = NewRoll,
    responses(
        (status = 201, description = "The roll was recorded, with the ledger entries it wrote.", body = Roll,
         headers(("Location" = String, description = "The activity's URL"))),
        (status = 200, description = "The same roll was recorded already: nothing changed.", body = Roll),
        (status = 409, description = "`roll_recorded` (another roll was recorded), `activity_not_started`.",
         body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["staff", "committee"])),
)]
#[put("/{activity}/attendance")]
pub(super) async fn record_roll(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE }>,
    db: web::Data<PgPool>,
    req: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
    key: IdempotencyKey,
    body: Json<NewRoll>,
) -> Result<HttpResponse, ApiError> {
    let (town, activity) = path.into_inner();
    let town = auth.town(&db, town).await?;
    key.required()?;
    idempotent(&db, &auth, &key, &req, &*body, async |tx| {
        let recorded = workflow::record_roll(tx, &auth, town, activity, &body.items).await?;
        roll_answer(recorded, location(town, activity))
    })
    .await
}

/// The answer to a roll: 201 with the activity's location when it was recorded now, 200
/// when the same roll was recorded before.
fn roll_answer(recorded: Recorded, location: String) -> Result<Answer, ApiError> {
    let (roll, status, location) = match recorded {
        Recorded::New(roll) => (roll, StatusCode::CREATED, Some(location)),
        Recorded::Again(roll) => (roll, StatusCode::OK, None),
    };
    Ok(Answer {
        status,
        body: serde_json::to_value(&roll).map_err(anyhow::Error::from)?,
        etag: None,
        location,
    })
}

/// The activities you had to attend, with your line of each roll · 本人应参加的活动及每次点名中本人的记录
///
/// In creation order; `status` is `null` until the roll is recorded, `points` what the
/// line cost you. Roles: `member`.
///
/// 按创建顺序排列；
/// 点名记录之前 `status` 为 `null`，`points` 为该行记录扣减的分值。
/// 角色：`member`。
#[utoipa::path(
    operation_id = "list_my_activities",
    tag = "me",
    params(PageParams),
    responses((status = 200, description = "A page of your activities.", body = Page<MyActivity>)),
    security(("bearer" = ["member"])),
)]
#[get("/activities")]
pub(super) async fn my_activities(
    auth: Auth<{ roles::MEMBER }>,
    db: web::Data<PgPool>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<MyActivity>>, ApiError> {
    let Scope::Member { town, member_id } = auth.scope else {
        return Err(ApiError::Forbidden);
    };
    let keyset = page.keyset()?;
    let mut conn = db.acquire().await?;
    let rows = repo::of_member(&mut conn, town, member_id, keyset).await?;
    Ok(web::Json(Page::from_rows(rows, keyset, |a| a.id)))
}
