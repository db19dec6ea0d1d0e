//! Working days: Monday to Friday, except the town's holidays, plus the weekend days it
//! works instead (调休). Pure rules; the days come from the town's calendar.

use std::collections::HashSet;

use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, FieldError};
use crate::msg;
use crate::validate::Checks;

crate::text_enum! {
    /// What a calendar day is.
    pub enum DayKind {
        /// A weekday off (法定节假日).
        Holiday = "holiday",
        /// A weekend day worked (调休上班).
        Workday = "workday",
    }
}

/// A day of a town's calendar that is not what its weekday says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CalendarDay {
    /// The date, in the town's time zone.
    pub day: NaiveDate,
    /// A weekday off, or a weekend day worked.
    pub kind: DayKind,
    /// What it is, e.g. `国庆节` or `国庆节调休`.
    #[schema(example = "国庆节")]
    pub name: String,
    /// Who set it.
    pub set_by: String,
    /// When it was set, UTC.
    pub set_at: DateTime<Utc>,
}

/// A year of a town's calendar.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CalendarYear {
    /// The calendar year listed (2000 to 2099); by default the town's current year.
    pub year: i32,
    /// Its holidays and worked weekend days, in order.
    pub days: Vec<CalendarDay>,
}

/// A day to set.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetDay {
    /// `holiday` (a Monday to Friday) or `workday` (a Saturday or Sunday).
    pub kind: DayKind,
    /// What it is, 1 to 50 characters.
    #[schema(
        example = "国庆节",
        min_length = 1,
        max_length = 50,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub name: String,
}

/// The years a calendar day may be in.
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2099;

fn is_weekend(day: NaiveDate) -> bool {
    matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
}

impl SetDay {
    /// The name, trimmed, once the kind fits the day: a holiday on a weekday, a worked day
    /// on a weekend (anything else would change nothing).
    pub fn validate(&self, day: NaiveDate) -> Result<String, ApiError> {
        let mut c = Checks::new();
        let name = c.text("name", &self.name, 1, 50);
        match self.kind {
            DayKind::Holiday if is_weekend(day) => c.push(FieldError::new(
                "kind",
                "not_a_weekday",
                msg!(
                    "周六、周日本就休息，不能设为节假日；调休上班请用 workday。",
                    "A Saturday or Sunday is off anyway: it cannot be a holiday (a worked weekend day is `workday`)."
                ),
            )),
            DayKind::Workday if !is_weekend(day) => c.push(FieldError::new(
                "kind",
                "not_a_weekend_day",
                msg!(
                    "周一至周五本就上班，只有周六、周日可设为调休上班日。",
                    "Monday to Friday are working days anyway: only a Saturday or Sunday can be a `workday`."
                ),
            )),
            _ => {}
        }
        c.finish()?;
        Ok(name)
    }
}

/// 400 unless a calendar day is in [`YEARS`].
pub fn check_year(year: i32) -> Result<(), ApiError> {
    if YEARS.contains(&year) {
        return Ok(());
    }
    Err(ApiError::bad_request(
        "invalid_path",
        msg!(
            "日期须在 2000 年至 2099 年之间。",
            "The day must be in the years 2000 to 2099."
        ),
    ))
}

/// Which days a town works.
#[derive(Debug, Clone, Default)]
pub struct WorkCalendar {
    holidays: HashSet<NaiveDate>,
    workdays: HashSet<NaiveDate>,
}

impl WorkCalendar {
    /// Monday to Friday and the exceptions `days`.
    pub fn new(days: impl IntoIterator<Item = (NaiveDate, DayKind)>) -> WorkCalendar {
        let mut calendar = WorkCalendar::default();
        for (day, kind) in days {
            match kind {
                DayKind::Holiday => calendar.holidays.insert(day),
                DayKind::Workday => calendar.workdays.insert(day),
            };
        }
        calendar
    }

    /// Whether the town works on `day`.
    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        if is_weekend(day) {
            self.workdays.contains(&day)
        } else {
            !self.holidays.contains(&day)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn weekdays_work_unless_a_holiday_and_weekends_rest_unless_worked() {
        let plain = WorkCalendar::default();
        assert!(plain.is_working_day(d("2026-10-01")));
        assert!(!plain.is_working_day(d("2026-10-10")));
        let calendar = WorkCalendar::new([
            (d("2026-10-01"), DayKind::Holiday),
            (d("2026-10-10"), DayKind::Workday),
        ]);
        assert!(!calendar.is_working_day(d("2026-10-01")));
        assert!(calendar.is_working_day(d("2026-10-02")));
        assert!(calendar.is_working_day(d("2026-10-10")));
        assert!(!calendar.is_working_day(d("2026-10-11")));
    }

    #[test]
    fn a_day_set_must_change_something() {
        let day = |kind, name: &str| SetDay {
            kind,
            name: name.into(),
        };
        // 2026-10-01 is a Thursday, 2026-10-10 a Saturday.
        assert_eq!(
            day(DayKind::Holiday, " 国庆节 ")
                .validate(d("2026-10-01"))
                .unwrap(),
            "国庆节"
        );
        assert!(
            day(DayKind::Workday, "调休")
                .validate(d("2026-10-10"))
                .is_ok()
        );
        let codes = |e: ApiError| match e {
            ApiError::Validation(errors) => errors
                .into_iter()
                .map(|e| (e.field, e.code))
                .collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            codes(
                day(DayKind::Holiday, "x")
                    .validate(d("2026-10-10"))
                    .unwrap_err()
            ),
            [("kind".to_owned(), "not_a_weekday")]
        );
        assert_eq!(
            codes(
                day(DayKind::Workday, "x")
                    .validate(d("2026-10-01"))
                    .unwrap_err()
            ),
            [("kind".to_owned(), "not_a_weekend_day")]
        );
        assert_eq!(
            codes(
                day(DayKind::Holiday, " ")
                    .validate(d("2026-10-01"))
                    .unwrap_err()
            ),
            [("name".to_owned(), "required")]
        );
        assert!(check_year(2099).is_ok() && check_year(2100).is_err() && check_year(1999).is_err());
    }
}
