//! The reports under `/towns/{town}/reports/...`: a case's ledger, attendance over a date
//! range, the desk register over a date range, the overdue transfer letters, and the
//! cohort roster; each as JSON, CSV or XLSX (see [`crate::http::formats`]). The first four
//! stream from one read-only query each, whatever their size.

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{Datelike, NaiveDate};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::repo;
use crate::activities::domain::check_day_filter;
use crate::auth::{Auth, Caller, roles};
use crate::db::Reads;
use crate::desk::domain::{DeskCategory, DeskEntry, DeskStatus, Viewer};
use crate::error::ApiError;
use crate::http::formats::{
    Cell, ExportFormat, ExportSlots, FormatQuery, Report, RowFeed, Slot, Table, local_time,
    respond, spawn_rows,
};
use crate::msg;
use crate::scores::domain::EntryKind;
use crate::scores::points::HalfPoints;
use crate::scores::{LedgerEntry, SourceType};
use crate::transfers::domain::TransferKind;

/// Registers the routes.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(ledger)
        .service(attendance)
        .service(desk_register)
        .service(overdue_letters)
        .service(cohort_roster);
}

/// A range of days in the town's calendar, both ends included.
#[derive(Debug, Clone, Copy, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DateRange {
    /// The first day (`YYYY-MM-DD`, the town's calendar, years 2000 to 2099).
    #[param(value_type = crate::types::CalendarDate, inline)]
    pub from: NaiveDate,
    /// The last day, included; not before `from` (400 `invalid_query` otherwise).
    #[param(value_type = crate::types::CalendarDate, inline)]
    pub to: NaiveDate,
}

impl DateRange {
    /// The range, or 400 `invalid_query` when a day is outside the years 2000 to 2099 or
    /// the range ends before it starts.
    fn checked(self) -> Result<DateRange, ApiError> {
        check_day_filter("from", Some(self.from))?;
        check_day_filter("to", Some(self.to))?;
        if self.to < self.from {
            return Err(ApiError::bad_request(
                "invalid_query",
                msg!(
                    "查询参数 to 早于 from。",
                    "Query parameter `to` is before `from`."
                ),
            ));
        }
        Ok(self)
    }
}

fn points(p: HalfPoints) -> Cell {
    Cell::Number(f64::from(p.0) / 2.0)
}

fn entry_kind_label(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::TaskCompleted => "完成任务",
        EntryKind::TaskNotCompleted => "未完成任务",
        EntryKind::Absence => "缺席活动",
        EntryKind::Correction => "党委更正",
        EntryKind::Reversal => "撤销记分",
    }
}

fn source_label(source: SourceType) -> &'static str {
    match source {
        SourceType::Task => "任务",
        SourceType::Attendance => "考勤",
        SourceType::MeetingAttendance => "会议考勤",
        SourceType::Objection => "异议",
    }
}

impl Table for LedgerEntry {
    const SHEET: &'static str = "记分台账";
    const HEADINGS: &'static [&'static str] = &[
        "序号",
        "记录时间",
        "类型",
        "分值",
        "记分后得分",
        "事由",
        "来源",
        "记录人",
        "计分办法版本",
        "记分编号",
    ];

    fn cells(&self, tz: Tz) -> Vec<Cell> {
        vec![
            self.seq.into(),
            local_time(self.recorded_at, tz),
            entry_kind_label(self.kind).into(),
            points(self.points),
            points(self.score_after),
            self.reason.clone().into(),
            self.source_type.map(source_label).into(),
            self.recorded_by.clone().into(),
            self.policy_version.into(),
            self.id.into(),
        ]
    }
}

/// What a streamed report starts from: the town the caller may read, the format asked
/// for, the town's time zone, and a report slot.
struct Start {
    town: Uuid,
    format: ExportFormat,
    tz: Tz,
    slot: Slot,
}

impl Start {
    async fn new(
        auth: &Caller,
        db: &PgPool,
        slots: &ExportSlots,
        req: &HttpRequest,
        town: Uuid,
        format: Option<ExportFormat>,
    ) -> Result<Start, ApiError> {
        let town = auth.town(db, town).await?;
        let format = ExportFormat::negotiate(format, req);
        let tz = {
            let mut conn = db.acquire().await?;
            crate::towns::repo::zone(&mut conn, town).await?
        };
        Ok(Start {
            town,
            format,
            tz,
            slot: slots.take()?,
        })
    }

    /// The rows of `query`, read for this report (under its slot).
    fn feed<T, F>(&self, db: &PgPool, query: F) -> RowFeed<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(
                &'c mut sqlx::PgConnection,
            )
                -> futures_util::stream::BoxStream<'c, Result<T, sqlx::Error>>
            + Send
            + 'static,
    {
        spawn_rows(db.clone(), self.slot.clone(), query)
    }

    /// Sends the report whose rows `rows` brings, as the file `name`.
    async fn respond<T: Table>(
        self,
        name: String,
        head: Report<T>,
        rows: RowFeed<T>,
    ) -> Result<HttpResponse, ApiError> {
        respond(self.format, name, head, self.tz, rows, self.slot).await
    }
}

/// A case's ledger · 档案的积分台账（导出）
///
/// Every entry of the case, oldest first: its position, when, what for, the points and the
/// score after it, the reason, the source, who recorded it and under which policy version.
/// JSON (`Report` with `LedgerEntry` rows), CSV or XLSX by `?format=` or `Accept`; the
/// files' headings: 序号, 记录时间, 类型, 分值, 记分后得分, 事由, 来源, 记录人, 计分办法版本,
/// 记分编号 (times in the town's zone). Streamed, whatever its length (an XLSX sheet holds
/// at most 1,048,575 rows: beyond that, 422 `too_many_rows`; ask for CSV). Roles: `staff`,
/// `committee`, `county`.
///
/// 该档案的每条记分，最早的在前：序号、时间、事由类型、分值及记分后得分、理由、来源、记录人及所用计分办法版本。
/// JSON（`Report`，行为 `LedgerEntry`）、CSV 或 XLSX，由 `?format=` 或 `Accept` 决定；
/// 文件的列标题：序号、记录时间、类型、分值、记分后得分、事由、来源、记录人、计分办法版本、记分编号（时间为本镇时区）。
/// 无论多长都以流式输出（一个 XLSX 工作表最多 1,048,575 行：超过时答 422 `too_many_rows`，请改用 CSV）。
/// 角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "export_ledger",
    tag = "reports",
    params(("town" = Uuid, Path, description = "The town's id."), ("case" = Uuid, Path, description = "The case's id."), FormatQuery),
    responses(
        (status = 200, description = "The ledger.",
         content((crate::http::formats::Report<LedgerEntry> = "application/json"), (String = "text/csv"), (crate::http::formats::Spreadsheet = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 429, description = "`too_many_exports`: too many reports are being made at once; retry after `Retry-After` seconds.",
         body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/cases/{case}/ledger")]
async fn ledger(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    reads: web::Data<Reads>,
    slots: web::Data<ExportSlots>,
    req: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
    query: web::Query<FormatQuery>,
) -> Result<HttpResponse, ApiError> {
    let db = reads.pool().await;
    let (town, case) = path.into_inner();
    let start = Start::new(&auth, db, &slots, &req, town, query.format).await?;
    let town = start.town;
    {
        let mut conn = db.acquire().await?;
        crate::cases::repo::get(&mut conn, town, case)
            .await?
            .ok_or(ApiError::NotFound)?;
    }
    let rows = start.feed(db, move |conn| {
        crate::scores::repo::whole_ledger(conn, town, case)
    });
    let mut head = Report::head("ledger", town);
    head.case_id = Some(case);
    start.respond(format!("ledger-{case}"), head, rows).await
}

/// A member's attendance over a range of days.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttendanceLine {
    /// The member required at the activities counted.
    pub member_id: Uuid,
    /// The member's current name, from the member record.
    pub name: String,
    /// Their branch now (`null` once they have left the town).
    pub branch_name: Option<String>,
    /// Activities in the range they were required at.
    pub required: i64,
    /// Marked present.
    pub present: i64,
    /// Marked absent.
    pub absent: i64,
    /// Excused (请假).
    pub excused: i64,
    /// Required at an activity whose roll is not recorded yet.
    pub not_recorded: i64,
    /// `present / (present + absent + excused)`, to 4 decimals: excused leave counts as
    /// not attended; `null` with no roll recorded.
    pub rate: Option<f64>,
    /// `present / (present + absent)`, to 4 decimals: excused leave left out; `null` when
    /// every recorded roll was excused or none is recorded.
    pub rate_without_excused: Option<f64>,
}

impl Table for AttendanceLine {
    const SHEET: &'static str = "考勤统计";
    const HEADINGS: &'static [&'static str] = &[
        "姓名",
        "所在支部",
        "应出勤次数",
        "出勤",
        "缺勤",
        "请假",
        "未点名",
        "出勤率（请假计为未出勤）",
        "出勤率（不含请假）",
        "党员编号",
    ];

    fn cells(&self, _: Tz) -> Vec<Cell> {
        vec![
            self.name.clone().into(),
            self.branch_name.clone().into(),
            self.required.into(),
            self.present.into(),
            self.absent.into(),
            self.excused.into(),
            self.not_recorded.into(),
            self.rate.into(),
            self.rate_without_excused.into(),
            self.member_id.into(),
        ]
    }
}

/// Attendance over a range of days · 一段日期内的考勤统计
///
/// Per member required at any activity starting in the range (the town's calendar, both
/// ends included): how many they were required at, present, absent, excused, not yet
/// recorded, and the rate over the recorded ones, twice: with excused leave (请假) counted
/// as not attended (`rate`) and with it left out (`rate_without_excused`); by branch and
/// name. JSON (`Report` with `AttendanceLine` rows), CSV or XLSX by `?format=` or
/// `Accept`; the files' headings: 姓名, 所在支部, 应出勤次数, 出勤, 缺勤, 请假, 未点名,
/// 出勤率（请假计为未出勤）, 出勤率（不含请假）, 党员编号. Roles: `staff`, `committee`, `county`.
///
/// 日期范围内（本镇日历，含首尾两日）开始的任何活动中应出勤的每名党员：应出勤次数、出勤、缺勤、请假、尚未点名的次数，以及已点名次数中的出勤率，分两种：请假计为未出勤（`rate`）和不含请假（`rate_without_excused`）；
/// 按支部和姓名排列。
/// JSON（`Report`，行为 `AttendanceLine`）、CSV 或 XLSX，由 `?format=` 或 `Accept` 决定；
/// 文件的列标题：姓名、所在支部、应出勤次数、出勤、缺勤、请假、未点名、出勤率（请假计为未出勤）、出勤率（不含请假）、党员编号。
/// 角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "export_attendance",
    tag = "reports",
    params(("town" = Uuid, Path, description = "The town's id."), DateRange, FormatQuery),
    responses(
        (status = 200, description = "Attendance per member.",
         content((crate::http::formats::Report<AttendanceLine> = "application/json"), (String = "text/csv"), (crate::http::formats::Spreadsheet = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 429, description = "`too_many_exports`: too many reports are being made at once; retry after `Retry-After` seconds.",
         body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/attendance")]
async fn attendance(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    reads: web::Data<Reads>,
    slots: web::Data<ExportSlots>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    range: web::Query<DateRange>,
    query: web::Query<FormatQuery>,
) -> Result<HttpResponse, ApiError> {
    let db = reads.pool().await;
    let range = range.into_inner().checked()?;
    let start = Start::new(&auth, db, &slots, &req, path.into_inner(), query.format).await?;
    let town = start.town;
    let rows = start.feed(db, move |conn| {
        repo::attendance(conn, town, range.from, range.to)
    });
    let mut head = Report::head("attendance", town);
    head.from = Some(range.from);
    head.to = Some(range.to);
    let name = format!("attendance-{}-{}", range.from, range.to);
    start.respond(name, head, rows).await
}

fn category_label(category: DeskCategory) -> &'static str {
    match category {
        DeskCategory::RelationTransfer => "组织关系转接",
        DeskCategory::Consultation => "政策咨询",
        DeskCategory::HelpRequest => "困难帮扶",
        DeskCategory::Counselling => "谈心谈话",
        DeskCategory::FloatingCertificate => "流动党员活动证",
        DeskCategory::Materials => "资料借阅",
        DeskCategory::BranchSupport => "支部工作指导",
        DeskCategory::RecruitmentHelp => "发展党员指导",
        DeskCategory::Other => "其他",
    }
}

fn desk_status_label(status: DeskStatus) -> &'static str {
    match status {
        DeskStatus::Registered => "已登记",
        DeskStatus::InProgress => "办理中",
        DeskStatus::Resolved => "已办结",
        DeskStatus::Referred => "已转办",
    }
}

impl Table for DeskEntry {
    const SHEET: &'static str = "来访登记";
    const HEADINGS: &'static [&'static str] = &[
        "登记时间",
        "来访人",
        "联系电话",
        "来自",
        "事项类别",
        "诉求",
        "接待人",
        "办理状态",
        "办理结果",
        "转办单位",
        "登记编号",
    ];

    fn cells(&self, tz: Tz) -> Vec<Cell> {
        vec![
            local_time(self.received_at, tz),
            self.visitor_name.clone().into(),
            self.visitor_phone.clone().into(),
            self.jurisdiction.clone().into(),
            category_label(self.category).into(),
            self.request.clone().into(),
            self.received_by.clone().into(),
            desk_status_label(self.status).into(),
            self.outcome.clone().into(),
            self.referred_to.clone().into(),
            self.id.into(),
        ]
    }
}

/// The desk register over a range of days · 一段日期内的窗口登记簿
///
/// Every visit received in the range (the town's calendar, both ends included), in the
/// order received, as the caller may see it: confidential (counselling) entries only for
/// their author and the committee, the visitor's phone masked for `county`. JSON (`Report`
/// with `DeskEntry` rows), CSV or XLSX by `?format=` or `Accept`; the files' headings:
/// 登记时间, 来访人, 联系电话, 来自, 事项类别, 诉求, 接待人, 办理状态, 办理结果, 转办单位,
/// 登记编号. Roles: `staff`, `committee`, `county`.
///
/// 日期范围内（本镇日历，含首尾两日）接待的每次来访，按接待顺序排列，
/// 按调用者可见的范围：保密的（心理疏导）登记只对其登记人和镇党委列出，
/// `county` 看到的来访人电话为脱敏显示。
/// JSON（`Report`，行为 `DeskEntry`）、CSV 或 XLSX，由 `?format=` 或 `Accept` 决定；
/// 文件的列标题：登记时间、来访人、联系电话、来自、事项类别、诉求、接待人、办理状态、办理结果、转办单位、登记编号。
/// 角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "export_desk_register",
    tag = "reports",
    params(("town" = Uuid, Path, description = "The town's id."), DateRange, FormatQuery),
    responses(
        (status = 200, description = "The register.",
         content((crate::http::formats::Report<DeskEntry> = "application/json"), (String = "text/csv"), (crate::http::formats::Spreadsheet = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 429, description = "`too_many_exports`: too many reports are being made at once; retry after `Retry-After` seconds.",
         body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/desk-register")]
async fn desk_register(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    reads: web::Data<Reads>,
    slots: web::Data<ExportSlots>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    range: web::Query<DateRange>,
    query: web::Query<FormatQuery>,
) -> Result<HttpResponse, ApiError> {
    let db = reads.pool().await;
    let range = range.into_inner().checked()?;
    let start = Start::new(&auth, db, &slots, &req, path.into_inner(), query.format).await?;
    let town = start.town;
    let viewer = Viewer::new(auth.role, &auth.sub);
    let rows = start.feed(db, move |conn| {
        crate::desk::repo::register(conn, town, range.from, range.to, viewer)
    });
    let mut head = Report::head("desk_register", town);
    head.from = Some(range.from);
    head.to = Some(range.to);
    let name = format!("desk-register-{}-{}", range.from, range.to);
    start.respond(name, head, rows).await
}

/// An introduction letter still out after its validity.
#[derive(Debug, Serialize, ToSchema)]
pub struct OverdueLetter {
    /// The transfer whose introduction letter is overdue.
    pub transfer_id: Uuid,
    /// The member being transferred out of or into the town.
    pub member_id: Uuid,
    /// The member's current name, from the member record.
    pub member_name: String,
    /// `outflow` (out of the town) or `inflow` (into it).
    pub kind: TransferKind,
    /// The letter's serial number.
    pub letter_serial: String,
    /// The organization on the other side.
    pub external_org: String,
    /// The branch of this town the member leaves (outflow) or joins (inflow).
    pub branch_name: Option<String>,
    /// When the transfer was decided.
    pub decided_on: NaiveDate,
    /// The letter was valid until this day.
    pub valid_until: NaiveDate,
    /// Days past `valid_until`, in the town's today.
    pub days_overdue: i32,
    /// Party dues paid up to, as the letter states.
    pub dues_paid_until: Option<NaiveDate>,
}

impl Table for OverdueLetter {
    const SHEET: &'static str = "逾期介绍信";
    const HEADINGS: &'static [&'static str] = &[
        "介绍信编号",
        "党员姓名",
        "转接方向",
        "对方党组织",
        "本镇支部",
        "决定日期",
        "有效期至",
        "逾期天数",
        "党费交至",
        "党员编号",
    ];

    fn cells(&self, _: Tz) -> Vec<Cell> {
        let direction = match self.kind {
            TransferKind::Inflow => "转入",
            _ => "转出",
        };
        vec![
            self.letter_serial.clone().into(),
            self.member_name.clone().into(),
            direction.into(),
            self.external_org.clone().into(),
            self.branch_name.clone().into(),
            self.decided_on.into(),
            self.valid_until.into(),
            self.days_overdue.into(),
            self.dues_paid_until.into(),
            self.member_id.into(),
        ]
    }
}

/// The overdue transfer letters · 逾期未回执的介绍信
///
/// Every introduction letter still `issued` whose `valid_until` has passed in the town's
/// today, longest overdue first: the letter, the member, the other side, the days overdue.
/// JSON (`Report` with `OverdueLetter` rows), CSV or XLSX by `?format=` or `Accept`; the
/// files' headings: 介绍信编号, 党员姓名, 转接方向, 对方党组织, 本镇支部, 决定日期, 有效期至,
/// 逾期天数, 党费交至, 党员编号. Roles: `staff`, `committee`, `county`.
///
/// 以本镇今天为准已过 `valid_until` 仍为 `issued` 的每封介绍信，逾期最久的在前：介绍信、党员、对方党组织、逾期天数。
/// JSON（`Report`，行为 `OverdueLetter`）、CSV 或 XLSX，由 `?format=` 或 `Accept` 决定；
/// 文件的列标题：介绍信编号、党员姓名、转接方向、对方党组织、本镇支部、决定日期、有效期至、逾期天数、党费交至、党员编号。
/// 角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "export_overdue_letters",
    tag = "reports",
    params(("town" = Uuid, Path, description = "The town's id."), FormatQuery),
    responses(
        (status = 200, description = "The overdue letters.",
         content((crate::http::formats::Report<OverdueLetter> = "application/json"), (String = "text/csv"), (crate::http::formats::Spreadsheet = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 429, description = "`too_many_exports`: too many reports are being made at once; retry after `Retry-After` seconds.",
         body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/overdue-letters")]
async fn overdue_letters(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    reads: web::Data<Reads>,
    slots: web::Data<ExportSlots>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    query: web::Query<FormatQuery>,
) -> Result<HttpResponse, ApiError> {
    let db = reads.pool().await;
    let start = Start::new(&auth, db, &slots, &req, path.into_inner(), query.format).await?;
    let town = start.town;
    let today = chrono::Utc::now().with_timezone(&start.tz).date_naive();
    let rows = start.feed(db, move |conn| repo::overdue_letters(conn, town, today));
    let head = Report::head("overdue_letters", town);
    start
        .respond(format!("overdue-letters-{today}"), head, rows)
        .await
}

/// The year of a cohort roster.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct YearQuery {
    /// The cohort's year; this year (the town's calendar) by default.
    #[param(minimum = 2000, maximum = 2200)]
    pub year: Option<i32>,
}

/// A year's cohort roster · 某年度学员班花名册
///
/// The same roster as `/towns/{town}/cohorts/{cohort}/roster`, found by the year (this
/// year by default): each trainee with placements, mentor and attendance. JSON (`Roster`),
/// CSV or XLSX by `?format=` or `Accept`; the files' headings: 姓名, 党员编号, 村（社区）,
/// 入选条件, 培养安排, 结对导师, 出勤次数/应出勤次数, 出勤率. 404 when the town has no
/// cohort that year. Roles: `staff`, `committee`, `county`.
///
/// 与 `/towns/{town}/cohorts/{cohort}/roster` 相同的花名册，
/// 按年度查找（默认今年）：每名学员及其培养安排、结对导师和出勤。
/// JSON（`Roster`）、CSV 或 XLSX，由 `?format=` 或 `Accept` 决定；
/// 文件的列标题：姓名、党员编号、村（社区）、入选条件、培养安排、结对导师、出勤次数/应出勤次数、出勤率。
/// 本镇该年度没有学员班时答 404。角色：`staff`、`committee`、`county`。
#[utoipa::path(
    operation_id = "export_cohort_roster",
    tag = "reports",
    params(("town" = Uuid, Path, description = "The town's id."), YearQuery, FormatQuery),
    responses((status = 200, description = "The roster.",
               content((crate::cohorts::domain::Roster = "application/json"), (String = "text/csv"), (crate::http::formats::Spreadsheet = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))),
    security(("bearer" = ["staff", "committee", "county"])),
)]
#[get("/cohort-roster")]
async fn cohort_roster(
    auth: Auth<{ roles::STAFF | roles::COMMITTEE | roles::COUNTY }>,
    reads: web::Data<Reads>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    year: web::Query<YearQuery>,
    query: web::Query<FormatQuery>,
) -> Result<HttpResponse, ApiError> {
    let db = reads.pool().await;
    let town = auth.town(db, path.into_inner()).await?;
    let format = ExportFormat::negotiate(query.format, &req);
    if let Some(year) = year.year
        && !(2000..=2200).contains(&year)
    {
        return Err(ApiError::bad_request(
            "invalid_query",
            msg!(
                "year 须在 2000 到 2200 之间。",
                "year must be between 2000 and 2200."
            ),
        ));
    }
    let mut conn = db.acquire().await?;
    let year = match year.year {
        Some(year) => year,
        None => crate::towns::repo::today(&mut conn, town).await?.year(),
    };
    let cohort = crate::cohorts::repo::of_year(&mut conn, town, year)
        .await?
        .ok_or(ApiError::NotFound)?;
    crate::cohorts::roster_answer(&mut conn, town, cohort, format).await
}
