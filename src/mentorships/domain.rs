//! One-on-one mentoring (art. 18): pure types and rules.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiError, FieldError};
use crate::msg;
use crate::validate::Checks;

crate::text_enum! {
    /// Why the mentee is one: a trainee of this year's cohort, or a member under
    /// transformation (an open case).
    pub enum MenteeBasis {
        /// A trainee of the current cohort.
        Trainee = "trainee",
        /// A member under transformation.
        Transformation = "transformation",
    }
}

impl MenteeBasis {
    /// The Chinese label, for exports.
    pub fn label(self) -> &'static str {
        match self {
            MenteeBasis::Trainee => "培养学员",
            MenteeBasis::Transformation => "转化党员",
        }
    }
}

/// A mentorship: a center staff member and one mentee.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Mentorship {
    /// The mentorship's id, the `{mentorship}` in its paths.
    pub id: Uuid,
    /// The town the mentorship belongs to, the `{town}` in its paths.
    pub town_id: Uuid,
    /// The mentor: a member of the center branch.
    pub mentor_id: Uuid,
    /// The mentor's token subject: only a `staff` token with this `sub` writes the log.
    pub mentor_subject: String,
    /// The mentee: a trainee of the current cohort or a member under transformation.
    pub mentee_id: Uuid,
    /// Why the mentee is one.
    pub basis: MenteeBasis,
    /// The mentee's cohort (basis `trainee`).
    pub cohort_id: Option<Uuid>,
    /// The mentee's case (basis `transformation`).
    pub case_id: Option<Uuid>,
    /// The policy version of the limit.
    pub policy_version: i32,
    /// The mentor limit of that policy.
    pub mentor_limit: i32,
    /// The first day.
    pub started_on: NaiveDate,
    /// Who paired them.
    pub created_by: String,
    /// The last day, once ended.
    pub ended_on: Option<NaiveDate>,
    /// Who ended it.
    pub ended_by: Option<String>,
    /// Why it ended.
    pub end_reason: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Its version; the `ETag` is this number in quotes.
    pub version: i64,
}

/// A pairing to make (committee).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMentorship {
    /// The mentor: an active member of the town's center branch who is not under transformation.
    pub mentor_id: Uuid,
    /// The mentor's token subject (`sub`), so that they can write the log (1-200 characters).
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$",
        example = "staff-wang"
    )]
    pub mentor_subject: String,
    /// The mentee: a trainee of this year's cohort, or a member with an open case.
    pub mentee_id: Uuid,
    /// The first day (default today; not in the future).
    #[serde(default)]
    #[schema(value_type = Option<crate::types::CalendarDate>)]
    pub started_on: Option<NaiveDate>,
}

/// Ending a mentorship (committee).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndMentorship {
    /// Why (1-500 characters).
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$",
        example = "学员结业"
    )]
    pub reason: String,
    /// The last day (default today; not in the future, not before the start).
    #[serde(default)]
    #[schema(value_type = Option<crate::types::CalendarDate>)]
    pub ended_on: Option<NaiveDate>,
}

/// A meeting to log (the mentor).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLog {
    /// When they met: not in the future, not before the mentorship began.
    #[schema(value_type = crate::types::CalendarDate)]
    pub met_on: NaiveDate,
    /// The topic (1-200 characters).
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$",
        example = "学习党章"
    )]
    pub topic: String,
    /// Notes on the mentee's study (1-4000 characters).
    #[serde(default)]
    #[schema(min_length = 1, max_length = 4000)]
    pub study_notes: Option<String>,
    /// Notes on the mentee's work (1-4000 characters).
    #[serde(default)]
    #[schema(min_length = 1, max_length = 4000)]
    pub work_notes: Option<String>,
}

/// A checked log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidLog {
    /// The day they met, checked: not in the future, not before the mentorship began.
    pub met_on: NaiveDate,
    /// The topic, trimmed (1-200 characters).
    pub topic: String,
    /// Notes on the mentee's study, trimmed (1-4000 characters), if given.
    pub study_notes: Option<String>,
    /// Notes on the mentee's work, trimmed (1-4000 characters), if given.
    pub work_notes: Option<String>,
}

/// A logged meeting.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MentorshipLog {
    /// The log entry's id, assigned by the service when it is written.
    pub id: Uuid,
    /// The mentorship this meeting was logged under.
    pub mentorship_id: Uuid,
    /// When they met.
    pub met_on: NaiveDate,
    /// The topic of the meeting (1-200 characters).
    pub topic: String,
    /// Notes on study.
    pub study_notes: Option<String>,
    /// Notes on work.
    pub work_notes: Option<String>,
    /// Who wrote it (the mentor's subject).
    pub written_by: String,
    /// When the entry was written (not the day they met).
    pub created_at: DateTime<Utc>,
}

/// One of a mentor's mentees in the loads report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LoadMentee {
    /// The open mentorship.
    pub mentorship_id: Uuid,
    /// The member being mentored under this open mentorship.
    pub member_id: Uuid,
    /// The mentee's current name, from the member record.
    pub name: String,
    /// Why they are a mentee.
    pub basis: MenteeBasis,
    /// Since when.
    pub started_on: NaiveDate,
}

/// One mentor in the loads report, with their open mentorships.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MentorLoad {
    /// The mentor: an eligible member of the center branch, or anyone with open mentorships.
    pub mentor_id: Uuid,
    /// The mentor's current name; the report is sorted by it.
    pub name: String,
    /// How many open mentorships they have.
    pub open_count: i64,
    /// The current policy's limit.
    pub limit: i32,
    /// The mentees of the mentor's open mentorships, by start date.
    pub mentees: Vec<LoadMentee>,
}

/// Mentor loads: every eligible mentor of the center branch and anyone with open mentorships.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MentorLoads {
    /// The mentors, by name.
    pub items: Vec<MentorLoad>,
}

/// Checks a pairing's fields; returns the trimmed subject and the start date.
pub fn check_new(m: &NewMentorship, today: NaiveDate) -> Result<(String, NaiveDate), ApiError> {
    let mut c = Checks::new();
    let subject = c.text("mentor_subject", &m.mentor_subject, 1, 200);
    let started_on = m.started_on.unwrap_or(today);
    crate::members::domain::check_past_date(&mut c, "started_on", started_on, today);
    if m.mentor_id == m.mentee_id {
        c.push(FieldError::new(
            "mentee_id",
            "same_as_mentor",
            msg!("导师不能与自己结对。", "A mentor cannot mentor themselves."),
        ));
    }
    c.finish()?;
    Ok((subject, started_on))
}

/// Checks an end: reason, date not in the future and not before the start.
pub fn check_end(
    e: &EndMentorship,
    started_on: NaiveDate,
    today: NaiveDate,
) -> Result<(String, NaiveDate), ApiError> {
    let mut c = Checks::new();
    let reason = c.text("reason", &e.reason, 1, 500);
    let ended_on = e.ended_on.unwrap_or(today);
    crate::members::domain::check_past_date(&mut c, "ended_on", ended_on, today);
    if ended_on < started_on {
        c.push(FieldError::new(
            "ended_on",
            "before_start",
            msg!(
                "结束日期不能早于结对开始日期。",
                "ended_on cannot be before the mentorship began."
            ),
        ));
    }
    c.finish()?;
    Ok((reason, ended_on))
}

/// Checks a log entry against the mentorship's start and today.
pub fn check_log(
    l: &NewLog,
    started_on: NaiveDate,
    today: NaiveDate,
) -> Result<ValidLog, ApiError> {
    let mut c = Checks::new();
    let topic = c.text("topic", &l.topic, 1, 200);
    let study_notes = l
        .study_notes
        .as_deref()
        .map(|n| notes(&mut c, "study_notes", n));
    let work_notes = l
        .work_notes
        .as_deref()
        .map(|n| notes(&mut c, "work_notes", n));
    crate::members::domain::check_past_date(&mut c, "met_on", l.met_on, today);
    if l.met_on < started_on {
        c.push(FieldError::new(
            "met_on",
            "before_start",
            msg!(
                "谈话日期不能早于结对开始日期。",
                "met_on cannot be before the mentorship began."
            ),
        ));
    }
    c.finish()?;
    Ok(ValidLog {
        met_on: l.met_on,
        topic,
        study_notes,
        work_notes,
    })
}

/// Multi-line notes: 1-4000 characters, not blank (line breaks allowed).
fn notes(c: &mut Checks, field: &str, value: &str) -> String {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        c.push(FieldError::new(
            field,
            "required",
            msg!(("{} 不能为空。", field), ("`{}` must not be empty.", field)),
        ));
    } else if value.chars().count() > 4000 {
        c.push(FieldError::new(
            field,
            "too_long",
            msg!(
                ("{} 最多 4000 个字符。", field),
                ("`{}` is at most 4000 characters.", field)
            ),
        ));
    } else if trimmed.chars().any(|ch| {
        ch.is_control() && ch != '\n' && ch != '\r' && ch != '\t' || crate::validate::is_hidden(ch)
    }) {
        c.push(FieldError::new(
            field,
            "control_characters",
            msg!(
                ("{} 不能包含控制字符。", field),
                ("`{}` must not contain control characters.", field)
            ),
        ));
    }
    trimmed.to_owned()
}

/// 409 `mentorship_ended`.
pub fn ended() -> ApiError {
    crate::error::constraints::MENTORSHIP_ENDED.into()
}

/// 422 `mentor_not_in_center`.
pub fn not_in_center() -> ApiError {
    ApiError::Unprocessable {
        code: "mentor_not_in_center",
        detail: msg!(
            "导师须为服务转化中心支部的在职党员（且不在转化期内）。",
            "The mentor must be an active member of the center branch who is not under transformation."
        ),
    }
}

/// 422 `not_a_mentee`.
pub fn not_a_mentee() -> ApiError {
    ApiError::Unprocessable {
        code: "not_a_mentee",
        detail: msg!(
            "结对对象须为本年度培养学员或转化党员。",
            "The mentee must be a trainee of this year's cohort or a member under transformation."
        ),
    }
}

/// The mentor loads' column headings in the CSV export.
pub const LOAD_HEADINGS: [&str; 5] = ["导师姓名", "导师编号", "在带人数", "人数上限", "结对对象"];

/// The loads as CSV (UTF-8 with a byte order mark).
pub fn loads_csv(loads: &MentorLoads) -> Result<Vec<u8>, ApiError> {
    crate::http::formats::csv(&LOAD_HEADINGS, &loads_rows(loads))
}

/// The loads' rows, under [`LOAD_HEADINGS`], for CSV and XLSX alike.
pub fn loads_rows(loads: &MentorLoads) -> Vec<Vec<String>> {
    loads
        .items
        .iter()
        .map(|l| {
            let mentees = l
                .mentees
                .iter()
                .map(|m| format!("{}（{}）", m.name, m.basis.label()))
                .collect::<Vec<_>>()
                .join("、");
            vec![
                l.name.clone(),
                l.mentor_id.to_string(),
                l.open_count.to_string(),
                l.limit.to_string(),
                mentees,
            ]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_pairing_names_a_subject_and_two_people_and_starts_by_today() {
        let today = date("2026-05-01");
        let m = NewMentorship {
            mentor_id: Uuid::now_v7(),
            mentor_subject: " staff-wang ".into(),
            mentee_id: Uuid::now_v7(),
            started_on: None,
        };
        assert_eq!(check_new(&m, today).unwrap(), ("staff-wang".into(), today));
        let same = NewMentorship {
            mentee_id: m.mentor_id,
            started_on: Some(date("2026-05-02")),
            mentor_subject: "".into(),
            ..m
        };
        let ApiError::Validation(errors) = check_new(&same, today).unwrap_err() else {
            panic!("expected a validation error");
        };
        let codes: Vec<_> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            codes,
            vec![
                ("mentor_subject", "required"),
                ("started_on", "date_in_future"),
                ("mentee_id", "same_as_mentor")
            ]
        );
    }

    #[test]
    fn logs_are_dated_between_the_start_and_today() {
        let start = date("2026-03-01");
        let today = date("2026-05-01");
        let log = |d: &str| NewLog {
            met_on: date(d),
            topic: "学习党章".into(),
            study_notes: Some("第一行\n第二行".into()),
            work_notes: None,
        };
        assert!(check_log(&log("2026-03-01"), start, today).is_ok());
        assert!(check_log(&log("2026-05-01"), start, today).is_ok());
        assert!(check_log(&log("2026-05-02"), start, today).is_err());
        assert!(check_log(&log("2026-02-28"), start, today).is_err());
    }

    #[test]
    fn an_end_is_between_the_start_and_today_with_a_reason() {
        let start = date("2026-03-01");
        let today = date("2026-05-01");
        let end = |r: &str, d: Option<&str>| EndMentorship {
            reason: r.into(),
            ended_on: d.map(date),
        };
        assert_eq!(
            check_end(&end("结业", None), start, today).unwrap(),
            ("结业".into(), today)
        );
        assert!(check_end(&end(" ", None), start, today).is_err());
        assert!(check_end(&end("x", Some("2026-02-01")), start, today).is_err());
        assert!(check_end(&end("x", Some("2026-06-01")), start, today).is_err());
    }

    #[test]
    fn the_loads_csv_has_chinese_headings() {
        let loads = MentorLoads {
            items: vec![MentorLoad {
                mentor_id: Uuid::nil(),
                name: "王老师".into(),
                open_count: 2,
                limit: 2,
                mentees: vec![LoadMentee {
                    mentorship_id: Uuid::nil(),
                    member_id: Uuid::nil(),
                    name: "张三".into(),
                    basis: MenteeBasis::Trainee,
                    started_on: date("2026-03-01"),
                }],
            }],
        };
        let bytes = loads_csv(&loads).unwrap();
        let text = std::str::from_utf8(&bytes).unwrap();
        let text = text.strip_prefix('\u{feff}').unwrap();
        let mut r = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(r.headers().unwrap(), LOAD_HEADINGS.as_slice());
        let row = r.records().next().unwrap().unwrap();
        assert_eq!(&row[4], "张三（培养学员）");
    }
}
