//! Tasks (art. 21) and objections to ledger entries: pure types and rules.

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::calendar::domain::WorkCalendar;
use crate::error::{ApiError, FieldError};
use crate::msg;
use crate::scores::LedgerEntry;
use crate::scores::domain::{CaseStatus, EntryKind};
use crate::validate::Checks;

crate::text_enum! {
    /// What became of a task: recorded once.
    pub enum TaskOutcome {
        /// Completed: + one step (art. 21).
        Completed = "completed",
        /// Not completed: - one step (art. 21).
        NotCompleted = "not_completed",
    }
}

impl TaskOutcome {
    /// The kind of ledger entry this outcome earns.
    pub fn entry_kind(self) -> EntryKind {
        match self {
            TaskOutcome::Completed => EntryKind::TaskCompleted,
            TaskOutcome::NotCompleted => EntryKind::TaskNotCompleted,
        }
    }
}

crate::text_enum! {
    /// Where an objection stands.
    pub enum ObjectionStatus {
        /// Lodged, waiting for the committee.
        Open = "open",
        /// Upheld: the entry was reversed.
        Upheld = "upheld",
        /// Rejected: the entry stands.
        Rejected = "rejected",
    }
}

crate::text_enum! {
    /// The committee's decision on an objection.
    pub enum Decision {
        /// The objection is right: the entry is reversed.
        Upheld = "upheld",
        /// The objection is not right: the entry stands.
        Rejected = "rejected",
    }
}

impl Decision {
    /// The status an objection takes with this decision.
    pub fn status(self) -> ObjectionStatus {
        match self {
            Decision::Upheld => ObjectionStatus::Upheld,
            Decision::Rejected => ObjectionStatus::Rejected,
        }
    }
}

/// A task of a transformation case.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Task {
    /// The task's id, the `{task}` in its paths.
    pub id: Uuid,
    /// The town of its case.
    pub town_id: Uuid,
    /// The case it is assigned to.
    pub case_id: Uuid,
    /// What to do.
    #[schema(example = "参加村环境整治志愿服务")]
    pub title: String,
    /// More about it.
    pub description: Option<String>,
    /// By when (town calendar date).
    pub due_on: NaiveDate,
    /// Who assigned it (token subject).
    pub assigned_by: String,
    /// With which role.
    pub assigned_role: String,
    /// The outcome, once recorded; `null` while pending.
    pub outcome: Option<TaskOutcome>,
    /// The note given with the outcome.
    pub outcome_note: Option<String>,
    /// The ledger entry the outcome wrote.
    pub outcome_entry_id: Option<Uuid>,
    /// Who recorded the outcome (token subject).
    pub outcome_by: Option<String>,
    /// When the outcome was recorded.
    pub outcome_at: Option<DateTime<Utc>>,
    /// When it was assigned.
    pub created_at: DateTime<Utc>,
    /// When it last changed (assigned, or its outcome recorded).
    pub updated_at: DateTime<Utc>,
    /// Version; the `ETag` is this number in quotes.
    pub version: i64,
}

/// A task to assign (staff, committee).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTask {
    /// What to do, 1 to 200 characters, not blank.
    #[schema(
        example = "参加村环境整治志愿服务",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub title: String,
    /// More about it, 1 to 2000 characters.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub description: Option<String>,
    /// By when: today or later (town calendar date).
    #[schema(value_type = crate::types::CalendarDate)]
    pub due_on: NaiveDate,
}

/// The checked fields of a new task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidTask {
    /// What to do, trimmed.
    pub title: String,
    /// More about it, trimmed.
    pub description: Option<String>,
    /// By when: today or later (town calendar date).
    pub due_on: NaiveDate,
}

impl NewTask {
    /// Checks every field against `today` in the town; a 422 names each bad one.
    pub fn validate(&self, today: NaiveDate) -> Result<ValidTask, ApiError> {
        let mut c = Checks::new();
        let title = c.text("title", &self.title, 1, 200);
        let description = self
            .description
            .as_deref()
            .map(|d| c.long_text("description", d, 1, 2000));
        if c.date("due_on", self.due_on) && self.due_on < today {
            c.push(FieldError::new(
                "due_on",
                "in_past",
                msg!("期限不能早于今天。", "The due date cannot be in the past."),
            ));
        }
        c.finish()?;
        Ok(ValidTask {
            title,
            description,
            due_on: self.due_on,
        })
    }
}

/// A task's outcome (staff, committee): recorded once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOutcome {
    /// Completed or not.
    pub outcome: TaskOutcome,
    /// A note, 1 to 1000 characters.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 1000,
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub note: Option<String>,
}

impl NewOutcome {
    /// The checked note.
    pub fn validate(&self) -> Result<Option<String>, ApiError> {
        let mut c = Checks::new();
        let note = self
            .note
            .as_deref()
            .map(|n| c.long_text("note", n, 1, 1000));
        c.finish()?;
        Ok(note)
    }
}

/// What recording an outcome did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OutcomeRecorded {
    /// The task, with its outcome.
    pub task: Task,
    /// The ledger entry the outcome wrote.
    pub entry: LedgerEntry,
    /// The case's status after it.
    pub case_status: CaseStatus,
}

/// A member's objection to a ledger entry of their own case.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Objection {
    /// The objection's id, the `{objection}` in its paths.
    pub id: Uuid,
    /// The town of the case.
    pub town_id: Uuid,
    /// The case of the entry.
    pub case_id: Uuid,
    /// The entry objected to.
    pub entry_id: Uuid,
    /// The member who objected.
    pub member_id: Uuid,
    /// Why the member objects.
    pub reason: String,
    /// Where it stands.
    pub status: ObjectionStatus,
    /// The committee's reason for its decision.
    pub decision_reason: Option<String>,
    /// Who decided (token subject).
    pub decided_by: Option<String>,
    /// When the committee decided.
    pub decided_at: Option<DateTime<Utc>>,
    /// For an upheld objection: the reversal entry that carried it out.
    pub reversal_entry_id: Option<Uuid>,
    /// When it was lodged.
    pub created_at: DateTime<Utc>,
    /// When it last changed (lodged, or decided).
    pub updated_at: DateTime<Utc>,
    /// Version; the `ETag` is this number in quotes.
    pub version: i64,
}

/// An objection to lodge (member).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewObjection {
    /// The ledger entry of your own case you object to.
    pub entry_id: Uuid,
    /// Why, 1 to 1000 characters.
    #[schema(
        min_length = 1,
        max_length = 1000,
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub reason: String,
}

impl NewObjection {
    /// The checked reason.
    pub fn validate(&self) -> Result<String, ApiError> {
        let mut c = Checks::new();
        let reason = c.long_text("reason", &self.reason, 1, 1000);
        c.finish()?;
        Ok(reason)
    }
}

/// The committee's decision on an objection.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDecision {
    /// Upheld (the entry is reversed) or rejected (it stands).
    pub decision: Decision,
    /// Why, 1 to 1000 characters.
    #[schema(
        min_length = 1,
        max_length = 1000,
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub reason: String,
}

impl NewDecision {
    /// The checked reason.
    pub fn validate(&self) -> Result<String, ApiError> {
        let mut c = Checks::new();
        let reason = c.long_text("reason", &self.reason, 1, 1000);
        c.finish()?;
        Ok(reason)
    }
}

/// What deciding an objection did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Decided {
    /// The decided objection.
    pub objection: Objection,
    /// For an upheld objection: the reversal entry written.
    pub entry: Option<LedgerEntry>,
    /// For an upheld objection: the case's status after the reversal.
    pub case_status: Option<CaseStatus>,
}

/// The last day of an objection period of `working_days` working days after an entry
/// recorded on `recorded_on`: the `working_days`-th working day of `calendar` after that
/// date. `None` when the policy gives no period at all (0 days).
pub fn objection_deadline(
    recorded_on: NaiveDate,
    working_days: u32,
    calendar: &WorkCalendar,
) -> Option<NaiveDate> {
    if working_days == 0 {
        return None;
    }
    let mut day = recorded_on;
    let mut left = working_days;
    while left > 0 {
        day = day.checked_add_days(Days::new(1))?;
        if calendar.is_working_day(day) {
            left -= 1;
        }
    }
    Some(day)
}

/// Whether an objection made on `today` to an entry recorded on `recorded_on` is within a
/// period of `working_days` working days of `calendar` (both dates in the town's zone).
pub fn within_objection_period(
    recorded_on: NaiveDate,
    today: NaiveDate,
    working_days: u32,
    calendar: &WorkCalendar,
) -> bool {
    objection_deadline(recorded_on, working_days, calendar).is_some_and(|last| today <= last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// Monday to Friday, no holidays.
    fn is_working_day(day: NaiveDate) -> bool {
        WorkCalendar::default().is_working_day(day)
    }

    fn deadline(recorded_on: NaiveDate, n: u32) -> Option<NaiveDate> {
        objection_deadline(recorded_on, n, &WorkCalendar::default())
    }

    fn within(recorded_on: NaiveDate, today: NaiveDate, n: u32) -> bool {
        within_objection_period(recorded_on, today, n, &WorkCalendar::default())
    }

    #[test]
    fn working_days_are_monday_to_friday() {
        // 2026-11-23 is a Monday.
        assert!(is_working_day(d("2026-11-23")));
        assert!(is_working_day(d("2026-11-27")));
        assert!(!is_working_day(d("2026-11-28")));
        assert!(!is_working_day(d("2026-11-29")));
    }

    #[test]
    fn the_period_counts_working_days_after_the_entry() {
        // Monday: Tuesday, Wednesday, Thursday.
        assert_eq!(deadline(d("2026-11-23"), 3), Some(d("2026-11-26")));
        // Thursday: Friday, Monday, Tuesday (the weekend does not count).
        assert_eq!(deadline(d("2026-11-26"), 3), Some(d("2026-12-01")));
        // Friday: Monday, Tuesday, Wednesday.
        assert_eq!(deadline(d("2026-11-27"), 3), Some(d("2026-12-02")));
        // Saturday and Sunday: the same as Friday.
        assert_eq!(deadline(d("2026-11-28"), 3), Some(d("2026-12-02")));
        assert_eq!(deadline(d("2026-11-29"), 3), Some(d("2026-12-02")));
        // One day after a Friday is the Monday.
        assert_eq!(deadline(d("2026-11-27"), 1), Some(d("2026-11-30")));
        // Ten working days are two calendar weeks.
        assert_eq!(deadline(d("2026-11-23"), 10), Some(d("2026-12-07")));
        assert_eq!(deadline(d("2026-11-23"), 0), None);
    }

    #[test]
    fn an_objection_is_in_time_from_the_entry_to_the_last_day() {
        let monday = d("2026-11-23");
        assert!(within(monday, monday, 3), "the same day");
        assert!(within(monday, d("2026-11-26"), 3), "the last day");
        assert!(!within(monday, d("2026-11-27"), 3), "the day after");
        let friday = d("2026-11-27");
        assert!(within(friday, d("2026-11-29"), 1), "over the weekend");
        assert!(within(friday, d("2026-11-30"), 1));
        assert!(!within(friday, d("2026-12-01"), 1));
        assert!(
            !within(monday, monday, 0),
            "no period: no objection, even the same day"
        );
    }

    #[test]
    fn holidays_do_not_count_and_worked_weekend_days_do() {
        use crate::calendar::domain::DayKind::{Holiday, Workday};
        // National Day: Thursday 1 to Wednesday 7 October off, Saturday 10 worked.
        let mut days: Vec<_> = (1..=7)
            .map(|n| (d(&format!("2026-10-0{n}")), Holiday))
            .collect();
        days.push((d("2026-10-10"), Workday));
        let calendar = WorkCalendar::new(days);
        // An entry on Wednesday 30 September: Thursday 8, Friday 9, Saturday 10.
        assert_eq!(
            objection_deadline(d("2026-09-30"), 3, &calendar),
            Some(d("2026-10-10"))
        );
        // Without the calendar, the holidays would have counted: 1, 2 and 5 October.
        assert_eq!(deadline(d("2026-09-30"), 3), Some(d("2026-10-05")));
        assert!(within_objection_period(
            d("2026-09-30"),
            d("2026-10-09"),
            3,
            &calendar
        ));
        assert!(!within_objection_period(
            d("2026-09-30"),
            d("2026-10-11"),
            3,
            &calendar
        ));
    }

    #[test]
    fn the_period_ends_exactly_when_the_last_working_day_ends() {
        // Every start day of two weeks, every period up to 30 days: the deadline is a
        // working day, later than the start, with exactly `n` working days in (start, deadline].
        for start in 0..14u64 {
            let recorded = d("2026-11-23") + Days::new(start);
            for n in 1..=30u32 {
                let last = deadline(recorded, n).unwrap();
                assert!(is_working_day(last));
                let mut count = 0;
                let mut day = recorded;
                while day < last {
                    day = day + Days::new(1);
                    if is_working_day(day) {
                        count += 1;
                    }
                }
                assert_eq!(count, n, "from {recorded}, {n} days");
                assert!(within(recorded, last, n));
                assert!(!within(recorded, last + Days::new(1), n));
            }
        }
    }

    #[test]
    fn outcomes_earn_their_kind_of_entry() {
        assert_eq!(
            TaskOutcome::Completed.entry_kind(),
            EntryKind::TaskCompleted
        );
        assert_eq!(
            TaskOutcome::NotCompleted.entry_kind(),
            EntryKind::TaskNotCompleted
        );
        assert_eq!(Decision::Upheld.status(), ObjectionStatus::Upheld);
        assert_eq!(Decision::Rejected.status(), ObjectionStatus::Rejected);
    }

    #[test]
    fn the_schemas_say_what_the_checks_check() {
        let schema = |s: utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>| {
            serde_json::to_value(s).unwrap()
        };
        let long = crate::desk::domain::LONG_TEXT_PATTERN;
        let pattern = |v: &serde_json::Value, field: &str| {
            v["properties"][field]["pattern"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let task = schema(<NewTask as utoipa::PartialSchema>::schema());
        assert_eq!(pattern(&task, "title"), crate::validate::TEXT_PATTERN);
        assert_eq!(pattern(&task, "description"), long);
        let outcome = schema(<NewOutcome as utoipa::PartialSchema>::schema());
        assert_eq!(pattern(&outcome, "note"), long);
        let objection = schema(<NewObjection as utoipa::PartialSchema>::schema());
        assert_eq!(pattern(&objection, "reason"), long);
        let decision = schema(<NewDecision as utoipa::PartialSchema>::schema());
        assert_eq!(pattern(&decision, "reason"), long);
    }

    #[test]
    fn a_task_is_due_today_or_later_and_names_bad_fields() {
        let today = d("2026-11-27");
        let ok = NewTask {
            title: "  走访  ".into(),
            description: Some("第一行\n第二行".into()),
            due_on: today,
        }
        .validate(today)
        .unwrap();
        assert_eq!(ok.title, "走访");
        let bad = NewTask {
            title: " ".into(),
            description: Some("x\u{7}".into()),
            due_on: d("2026-11-26"),
        };
        let ApiError::Validation(errors) = bad.validate(today).unwrap_err() else {
            panic!("expected 422");
        };
        let got: Vec<_> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            got,
            [
                ("title", "required"),
                ("description", "control_characters"),
                ("due_on", "in_past")
            ]
        );
        let long = NewTask {
            title: "长".repeat(201),
            description: None,
            due_on: today,
        };
        assert!(long.validate(today).is_err());
    }
}
