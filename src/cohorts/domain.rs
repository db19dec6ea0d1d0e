//! Training cohorts (articles 15-17): pure types and rules.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiError, FieldError};
use crate::msg;
use crate::validate::Checks;

crate::text_enum! {
    /// Where a cohort stands: selecting its trainees, confirmed (the list is fixed), or
    /// closed (the year's training is over).
    pub enum CohortStatus {
        /// The committee is selecting trainees; they can be added and removed.
        Selecting = "selecting",
        /// Confirmed with at least the minimum; the list of trainees is fixed.
        Confirmed = "confirmed",
        /// Closed: the year's training is over, its open mentorships ended.
        Closed = "closed",
    }
}

crate::text_enum! {
    /// Why a member may be a trainee (art. 15).
    pub enum EligibleAs {
        /// An outstanding young member (优秀青年党员).
        OutstandingYoung = "outstanding_young",
        /// A village reserve cadre (村后备干部).
        ReserveCadre = "reserve_cadre",
        /// Both an outstanding young member and a village reserve cadre.
        Both = "both",
    }
}

impl EligibleAs {
    /// From the member's flags; `None` when neither holds.
    pub fn of(outstanding_young: bool, reserve_cadre: bool) -> Option<EligibleAs> {
        match (outstanding_young, reserve_cadre) {
            (true, true) => Some(EligibleAs::Both),
            (true, false) => Some(EligibleAs::OutstandingYoung),
            (false, true) => Some(EligibleAs::ReserveCadre),
            (false, false) => None,
        }
    }

    /// The Chinese label, for exports.
    pub fn label(self) -> &'static str {
        match self {
            EligibleAs::OutstandingYoung => "优秀青年党员",
            EligibleAs::ReserveCadre => "村后备干部",
            EligibleAs::Both => "优秀青年党员、村后备干部",
        }
    }
}

crate::text_enum! {
    /// The form of a placement (art. 15).
    pub enum PlacementKind {
        /// A party lecture (上党课).
        Lecture = "lecture",
        /// A temporary post (挂职锻炼): which post, in which unit.
        TemporaryPost = "temporary_post",
        /// Taking part in the town's central work (参与镇中心工作).
        CentralWork = "central_work",
    }
}

impl PlacementKind {
    /// The Chinese label, for exports.
    pub fn label(self) -> &'static str {
        match self {
            PlacementKind::Lecture => "上党课",
            PlacementKind::TemporaryPost => "挂职锻炼",
            PlacementKind::CentralWork => "参与镇中心工作",
        }
    }
}

pub use crate::http::formats::{ExportFormat, FormatQuery};

/// A year's training cohort.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Cohort {
    /// The cohort's id, the `{cohort}` in its paths.
    pub id: Uuid,
    /// The town that runs the cohort, the `{town}` in its paths.
    pub town_id: Uuid,
    /// Its year (one cohort per town and year).
    #[schema(example = 2026)]
    pub year: i32,
    /// Where it stands.
    pub status: CohortStatus,
    /// The policy version its size bounds come from.
    pub policy_version: i32,
    /// The fewest trainees it can be confirmed with.
    pub min_size: i32,
    /// The most trainees it can hold.
    pub max_size: i32,
    /// How many trainees it has.
    pub trainee_count: i32,
    /// Who created it.
    pub created_by: String,
    /// When it was confirmed.
    pub confirmed_on: Option<NaiveDate>,
    /// Who confirmed it.
    pub confirmed_by: Option<String>,
    /// When it was closed.
    pub closed_on: Option<NaiveDate>,
    /// Who closed it.
    pub closed_by: Option<String>,
    /// Why it was closed.
    pub close_reason: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed (a trainee added or removed counts).
    pub updated_at: DateTime<Utc>,
    /// Its version; the `ETag` is this number in quotes.
    pub version: i64,
}

/// A cohort to create (committee).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCohort {
    /// The year: this year in the town's time zone (the default) or the next.
    #[serde(default)]
    #[schema(example = 2026, minimum = 2000, maximum = 2200)]
    pub year: Option<i32>,
}

impl NewCohort {
    /// The cohort's year: this year or the next one.
    pub fn year(&self, today: NaiveDate) -> Result<i32, ApiError> {
        let this = today.year();
        match self.year {
            None => Ok(this),
            Some(y) if y == this || y == this + 1 => Ok(y),
            Some(_) => Err(ApiError::invalid(
                "year",
                "year_out_of_range",
                msg!(
                    ("年度须为今年（{}）或明年。", this),
                    ("The year must be this year ({}) or the next.", this)
                ),
            )),
        }
    }
}

/// A member to select as a trainee (committee).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTrainee {
    /// The member: an outstanding young member or a village reserve cadre of this town.
    pub member_id: Uuid,
}

/// A trainee of a cohort.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Trainee {
    /// The cohort the member was selected into.
    pub cohort_id: Uuid,
    /// The member selected as a trainee.
    pub member_id: Uuid,
    /// The member's current name, from the member record.
    #[schema(example = "张三")]
    pub name: String,
    /// The member's village or community.
    pub village: Option<String>,
    /// Why they were eligible when selected.
    pub eligible_as: EligibleAs,
    /// Who selected them.
    pub added_by: String,
    /// When the member was selected into the cohort.
    pub added_at: DateTime<Utc>,
}

/// A placement to record (staff, committee).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPlacement {
    /// The form of the placement; `temporary_post` requires `post` and `unit`, the other forms refuse them.
    pub kind: PlacementKind,
    /// The post, for a temporary post only (1-100 characters).
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$",
        example = "村主任助理"
    )]
    pub post: Option<String>,
    /// The unit, for a temporary post only (1-100 characters).
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$",
        example = "新村村委会"
    )]
    pub unit: Option<String>,
    /// A note (1-500 characters).
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub note: Option<String>,
    /// The first day, in the cohort's year.
    #[schema(value_type = crate::types::CalendarDate)]
    pub starts_on: NaiveDate,
    /// The last day (on or after the first).
    #[schema(value_type = crate::types::CalendarDate)]
    pub ends_on: NaiveDate,
}

/// A checked placement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidPlacement {
    /// The form of the placement; only `temporary_post` has a post and unit.
    pub kind: PlacementKind,
    /// The post (temporary posts).
    pub post: Option<String>,
    /// The unit (temporary posts).
    pub unit: Option<String>,
    /// The checked note (1-500 characters), if one was given.
    pub note: Option<String>,
    /// The first day.
    pub starts_on: NaiveDate,
    /// The last day.
    pub ends_on: NaiveDate,
}

impl NewPlacement {
    /// Checks the fields: a temporary post names its post and unit, the others do not;
    /// the dates are ordered and start in the cohort's year.
    pub fn validate(&self, cohort_year: i32) -> Result<ValidPlacement, ApiError> {
        let mut c = Checks::new();
        let opt = |c: &mut Checks, field: &str, v: &Option<String>, max: usize| {
            v.as_deref().map(|v| c.text(field, v, 1, max))
        };
        let post = opt(&mut c, "post", &self.post, 100);
        let unit = opt(&mut c, "unit", &self.unit, 100);
        let note = opt(&mut c, "note", &self.note, 500);
        if self.kind == PlacementKind::TemporaryPost {
            for (field, v) in [("post", &post), ("unit", &unit)] {
                if v.is_none() {
                    c.push(FieldError::new(
                        field,
                        "required",
                        msg!(
                            ("挂职锻炼须填写 {}。", field),
                            ("A temporary post needs `{}`.", field)
                        ),
                    ));
                }
            }
        } else {
            for (field, v) in [("post", &post), ("unit", &unit)] {
                if v.is_some() {
                    c.push(FieldError::new(
                        field,
                        "not_allowed",
                        msg!(
                            ("只有挂职锻炼才填写 {}。", field),
                            ("Only a temporary post has `{}`.", field)
                        ),
                    ));
                }
            }
        }
        if self.starts_on.year() != cohort_year {
            c.push(FieldError::new(
                "starts_on",
                "outside_cohort_year",
                msg!(
                    ("开始日期须在本期培养年度（{}）内。", cohort_year),
                    (
                        "The placement must start in the cohort's year ({}).",
                        cohort_year
                    )
                ),
            ));
        }
        if c.date("ends_on", self.ends_on) && self.ends_on < self.starts_on {
            c.push(FieldError::new(
                "ends_on",
                "before_start",
                msg!(
                    "结束日期不能早于开始日期。",
                    "ends_on cannot be before starts_on."
                ),
            ));
        }
        c.finish()?;
        Ok(ValidPlacement {
            kind: self.kind,
            post,
            unit,
            note,
            starts_on: self.starts_on,
            ends_on: self.ends_on,
        })
    }
}

/// A placement of a trainee.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Placement {
    /// The placement's id, assigned by the service when it is recorded.
    pub id: Uuid,
    /// The cohort the placement was recorded under.
    pub cohort_id: Uuid,
    /// The trainee (a member of the cohort) the placement is for.
    pub member_id: Uuid,
    /// The form of the placement; only `temporary_post` has `post` and `unit`.
    pub kind: PlacementKind,
    /// The post (temporary posts).
    pub post: Option<String>,
    /// The unit (temporary posts).
    pub unit: Option<String>,
    /// The note recorded with the placement; `null` when none was given.
    pub note: Option<String>,
    /// The first day.
    pub starts_on: NaiveDate,
    /// The last day.
    pub ends_on: NaiveDate,
    /// Who recorded it.
    pub created_by: String,
    /// When the placement was recorded.
    pub created_at: DateTime<Utc>,
}

/// Closing a cohort (committee).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseCohort {
    /// Why (1-500 characters); also the end reason of its open mentorships.
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$",
        example = "年度培养结束"
    )]
    pub reason: String,
}

/// A trainee's mentor, as the roster shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RosterMentor {
    /// The open mentorship.
    pub mentorship_id: Uuid,
    /// The mentor (a member of the center branch).
    pub mentor_id: Uuid,
    /// The mentor's current name, from the member record.
    pub mentor_name: String,
    /// Since when.
    pub started_on: NaiveDate,
}

/// One trainee in the roster.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RosterEntry {
    /// The member who is the trainee.
    pub member_id: Uuid,
    /// The trainee's current name; the roster is sorted by it.
    pub name: String,
    /// Village or community.
    pub village: Option<String>,
    /// Why eligible.
    pub eligible_as: EligibleAs,
    /// Placements, by start date.
    pub placements: Vec<Placement>,
    /// The open mentorship, if any.
    pub mentor: Option<RosterMentor>,
    /// Activities of the cohort's year with a recorded roll that the trainee had to attend.
    pub attendance_required: i64,
    /// Of those, how many they attended.
    pub attendance_present: i64,
    /// Of those, how many they were excused from (请假).
    pub attendance_excused: i64,
    /// present / required (0 to 1, four decimals): excused leave counts as not attended;
    /// `null` when nothing was required yet.
    pub attendance_rate: Option<f64>,
    /// present / (required - excused): excused leave left out; `null` when every
    /// required activity was excused or nothing was required yet.
    pub attendance_rate_without_excused: Option<f64>,
}

/// The roster of a cohort: each trainee with placements, mentor and attendance (art. 17).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Roster {
    /// The cohort the roster lists, with its status and size bounds.
    pub cohort: Cohort,
    /// The trainees, by name.
    pub trainees: Vec<RosterEntry>,
}

/// A member's own training: their cohorts, placements and mentor (`/me/training`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyTraining {
    /// The cohorts the member is (or was) a trainee of, newest first.
    pub cohorts: Vec<MyCohort>,
    /// The member's open mentorship, if any.
    pub mentor: Option<RosterMentor>,
}

/// One of a member's cohorts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyCohort {
    /// The id of the cohort the member is (or was) a trainee of.
    pub cohort_id: Uuid,
    /// The cohort's training year (one cohort per town and year).
    pub year: i32,
    /// Where it stands.
    pub status: CohortStatus,
    /// The member's placements in it.
    pub placements: Vec<Placement>,
}

/// 409 when the cohort no longer takes trainee changes.
pub fn check_selecting(status: CohortStatus) -> Result<(), ApiError> {
    match status {
        CohortStatus::Selecting => Ok(()),
        CohortStatus::Confirmed => Err(confirmed()),
        CohortStatus::Closed => Err(closed()),
    }
}

/// 409 `cohort_confirmed`.
pub fn confirmed() -> ApiError {
    crate::error::constraints::COHORT_CONFIRMED.into()
}

/// 409 `cohort_closed`.
pub fn closed() -> ApiError {
    ApiError::conflict(
        "cohort_closed",
        msg!("本期培养已结束。", "The cohort is closed."),
    )
}

/// 409 `cohort_full`.
pub fn full() -> ApiError {
    crate::error::constraints::COHORT_FULL.into()
}

/// 409 `cohort_too_small`.
pub fn too_small() -> ApiError {
    crate::error::constraints::COHORT_TOO_SMALL.into()
}

/// Whether one more trainee fits.
pub fn check_room(count: i32, max: i32) -> Result<(), ApiError> {
    if count >= max { Err(full()) } else { Ok(()) }
}

/// Whether the cohort can be confirmed now.
pub fn check_confirm(status: CohortStatus, count: i32, min: i32) -> Result<(), ApiError> {
    check_selecting(status)?;
    if count < min {
        return Err(too_small());
    }
    Ok(())
}

/// Whether the cohort can be closed now (from selecting or confirmed).
pub fn check_close(status: CohortStatus) -> Result<(), ApiError> {
    if status == CohortStatus::Closed {
        return Err(closed());
    }
    Ok(())
}

/// Whether a member can be selected: active (409 `member_not_active`) and an
/// outstanding young member or a reserve cadre (422 `not_eligible`).
pub fn check_eligible(
    active: bool,
    outstanding_young: bool,
    reserve_cadre: bool,
) -> Result<EligibleAs, ApiError> {
    let Some(eligible) = EligibleAs::of(outstanding_young, reserve_cadre) else {
        return Err(ApiError::Unprocessable {
            code: "not_eligible",
            detail: msg!(
                "学员须为优秀青年党员或村后备干部。",
                "A trainee must be an outstanding young member or a village reserve cadre."
            ),
        });
    };
    if !active {
        return Err(ApiError::conflict(
            "member_not_active",
            msg!(
                "该党员当前不在本镇支部中。",
                "The member is not active in a branch of this town."
            ),
        ));
    }
    Ok(eligible)
}

/// present / required, four decimals; `None` when nothing was required.
pub fn attendance_rate(present: i64, required: i64) -> Option<f64> {
    if required <= 0 {
        return None;
    }
    let rate = present as f64 / required as f64;
    Some((rate * 10_000.0).round() / 10_000.0)
}

/// The roster's column headings in the CSV export.
pub const ROSTER_HEADINGS: [&str; 9] = [
    "姓名",
    "党员编号",
    "村（社区）",
    "入选条件",
    "培养安排",
    "结对导师",
    "出勤次数/应出勤次数",
    "出勤率（请假计为未出勤）",
    "出勤率（不含请假）",
];

/// The roster as CSV: UTF-8 with a byte order mark (so spreadsheet programs read the
/// Chinese right), one row per trainee, placements joined with "；".
pub fn roster_csv(roster: &Roster) -> Result<Vec<u8>, ApiError> {
    crate::http::formats::csv(&ROSTER_HEADINGS, &roster_rows(roster))
}

/// The roster's rows, under [`ROSTER_HEADINGS`], for CSV and XLSX alike.
pub fn roster_rows(roster: &Roster) -> Vec<Vec<String>> {
    let mut rows = Vec::with_capacity(roster.trainees.len());
    for t in &roster.trainees {
        let placements = t
            .placements
            .iter()
            .map(|p| {
                let what = match (&p.post, &p.unit) {
                    (Some(post), Some(unit)) => format!("{}（{}，{}）", p.kind.label(), unit, post),
                    _ => p.kind.label().to_owned(),
                };
                format!("{what} {}至{}", p.starts_on, p.ends_on)
            })
            .collect::<Vec<_>>()
            .join("；");
        let percent = |rate: Option<f64>| {
            rate.map(|r| format!("{:.1}%", r * 100.0))
                .unwrap_or_default()
        };
        rows.push(vec![
            t.name.clone(),
            t.member_id.to_string(),
            t.village.clone().unwrap_or_default(),
            t.eligible_as.label().to_owned(),
            placements,
            t.mentor
                .as_ref()
                .map_or(String::new(), |m| m.mentor_name.clone()),
            format!("{}/{}", t.attendance_present, t.attendance_required),
            percent(t.attendance_rate),
            percent(t.attendance_rate_without_excused),
        ]);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn trainees_are_young_members_or_reserve_cadres_and_active() {
        assert_eq!(
            check_eligible(true, true, false).unwrap(),
            EligibleAs::OutstandingYoung
        );
        assert_eq!(
            check_eligible(true, false, true).unwrap(),
            EligibleAs::ReserveCadre
        );
        assert_eq!(check_eligible(true, true, true).unwrap(), EligibleAs::Both);
        assert_eq!(
            check_eligible(true, false, false).unwrap_err().code(),
            "not_eligible"
        );
        assert_eq!(
            check_eligible(false, true, false).unwrap_err().code(),
            "member_not_active"
        );
    }

    #[test]
    fn a_cohort_is_bounded_and_confirmed_once() {
        assert!(check_room(14, 15).is_ok());
        assert_eq!(check_room(15, 15).unwrap_err().code(), "cohort_full");
        assert_eq!(
            check_confirm(CohortStatus::Selecting, 9, 10)
                .unwrap_err()
                .code(),
            "cohort_too_small"
        );
        assert!(check_confirm(CohortStatus::Selecting, 10, 10).is_ok());
        assert_eq!(
            check_confirm(CohortStatus::Confirmed, 12, 10)
                .unwrap_err()
                .code(),
            "cohort_confirmed"
        );
        assert_eq!(
            check_selecting(CohortStatus::Closed).unwrap_err().code(),
            "cohort_closed"
        );
        assert!(check_close(CohortStatus::Selecting).is_ok());
        assert!(check_close(CohortStatus::Confirmed).is_ok());
        assert_eq!(
            check_close(CohortStatus::Closed).unwrap_err().code(),
            "cohort_closed"
        );
    }

    #[test]
    fn the_year_is_this_year_or_the_next() {
        let today = date("2026-12-31");
        assert_eq!(NewCohort { year: None }.year(today).unwrap(), 2026);
        assert_eq!(NewCohort { year: Some(2027) }.year(today).unwrap(), 2027);
        assert!(NewCohort { year: Some(2025) }.year(today).is_err());
        assert!(NewCohort { year: Some(2028) }.year(today).is_err());
    }

    fn placement(kind: PlacementKind, post: Option<&str>, from: &str, to: &str) -> NewPlacement {
        NewPlacement {
            kind,
            post: post.map(str::to_owned),
            unit: post.map(|_| "新村村委会".to_owned()),
            note: None,
            starts_on: date(from),
            ends_on: date(to),
        }
    }

    fn fields(e: ApiError) -> Vec<(String, &'static str)> {
        match e {
            ApiError::Validation(errors) => errors.into_iter().map(|e| (e.field, e.code)).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn placements_have_their_shape_and_ordered_dates_in_the_year() {
        let ok = placement(
            PlacementKind::TemporaryPost,
            Some("村主任助理"),
            "2026-03-01",
            "2026-03-31",
        );
        assert_eq!(
            ok.validate(2026).unwrap().post.as_deref(),
            Some("村主任助理")
        );
        assert!(
            placement(PlacementKind::Lecture, None, "2026-03-01", "2026-03-01")
                .validate(2026)
                .is_ok()
        );
        assert_eq!(
            fields(
                placement(
                    PlacementKind::TemporaryPost,
                    None,
                    "2026-03-01",
                    "2026-03-31"
                )
                .validate(2026)
                .unwrap_err()
            ),
            vec![("post".into(), "required"), ("unit".into(), "required")]
        );
        assert_eq!(
            fields(
                placement(
                    PlacementKind::Lecture,
                    Some("x"),
                    "2026-03-01",
                    "2026-03-31"
                )
                .validate(2026)
                .unwrap_err()
            ),
            vec![
                ("post".into(), "not_allowed"),
                ("unit".into(), "not_allowed")
            ]
        );
        assert_eq!(
            fields(
                placement(PlacementKind::CentralWork, None, "2025-12-01", "2025-11-30")
                    .validate(2026)
                    .unwrap_err()
            ),
            vec![
                ("starts_on".into(), "outside_cohort_year"),
                ("ends_on".into(), "before_start")
            ]
        );
    }

    #[test]
    fn attendance_rate_is_null_until_something_was_required() {
        assert_eq!(attendance_rate(0, 0), None);
        assert_eq!(attendance_rate(2, 3), Some(0.6667));
        assert_eq!(attendance_rate(3, 3), Some(1.0));
    }

    #[test]
    fn the_roster_csv_has_a_bom_and_chinese_headings() {
        let now = Utc::now();
        let cohort = Cohort {
            id: Uuid::nil(),
            town_id: Uuid::nil(),
            year: 2026,
            status: CohortStatus::Confirmed,
            policy_version: 1,
            min_size: 10,
            max_size: 15,
            trainee_count: 1,
            created_by: "c".into(),
            confirmed_on: None,
            confirmed_by: None,
            closed_on: None,
            closed_by: None,
            close_reason: None,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let roster = Roster {
            cohort,
            trainees: vec![RosterEntry {
                member_id: Uuid::nil(),
                name: "张三".into(),
                village: Some("新村".into()),
                eligible_as: EligibleAs::ReserveCadre,
                placements: vec![Placement {
                    id: Uuid::nil(),
                    cohort_id: Uuid::nil(),
                    member_id: Uuid::nil(),
                    kind: PlacementKind::Lecture,
                    post: None,
                    unit: None,
                    note: None,
                    starts_on: date("2026-03-01"),
                    ends_on: date("2026-03-02"),
                    created_by: "s".into(),
                    created_at: now,
                }],
                mentor: None,
                attendance_required: 5,
                attendance_present: 3,
                attendance_excused: 1,
                attendance_rate: attendance_rate(3, 5),
                attendance_rate_without_excused: attendance_rate(3, 4),
            }],
        };
        let bytes = roster_csv(&roster).unwrap();
        assert!(bytes.starts_with("\u{feff}".as_bytes()));
        let mut r = csv::Reader::from_reader(&bytes[3..]);
        let headings: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
        assert_eq!(headings, ROSTER_HEADINGS);
        let row = r.records().next().unwrap().unwrap();
        assert_eq!(&row[0], "张三");
        assert_eq!(&row[3], "村后备干部");
        assert_eq!(&row[4], "上党课 2026-03-01至2026-03-02");
        assert_eq!(&row[6], "3/5");
        assert_eq!(&row[7], "60.0%", "excused leave counts as not attended");
        assert_eq!(&row[8], "75.0%", "excused leave left out");
    }
}
