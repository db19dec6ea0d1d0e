//! Field checks that collect every problem of a request before answering, so a client
//! sees all its mistakes in one 422 rather than one per round trip.

use crate::error::{ApiError, FieldError};
use crate::msg;

/// The OpenAPI pattern of a name-like text: not blank, no control characters and no
/// invisible formatting characters ([`is_hidden`]). It says in the schema what
/// [`Checks::text`] checks.
pub const TEXT_PATTERN: &str = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$";

/// Whether `c` is an invisible formatting character that can make a text display other
/// than it reads: the bidirectional embeddings, overrides, isolates and marks (U+202A to
/// U+202E, U+2066 to U+2069, U+200E, U+200F, U+061C), zero-width spaces and joiners
/// (U+200B to U+200D, U+2060 to U+2064) and the byte order mark (U+FEFF). Names and
/// other texts refuse them, like control characters: a name with U+202E in it shows
/// reversed in reports and on screens.
pub fn is_hidden(c: char) -> bool {
    matches!(c,
        '\u{061c}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// The OpenAPI pattern of a long text (a request, a note): not blank, tabs and line
/// breaks allowed, no other control characters and no invisible formatting characters.
/// It says in the schema what [`Checks::long_text`] checks.
pub const LONG_TEXT_PATTERN: &str = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$";

/// The OpenAPI pattern of a code: what [`Checks::code`] checks.
pub const CODE_PATTERN: &str = "^[0-9A-Za-z-]{1,32}$";

/// 422 `control_characters`: a text with control characters or invisible formatting
/// characters ([`is_hidden`]).
pub fn control_characters(field: &str) -> FieldError {
    FieldError::new(
        field,
        "control_characters",
        msg!(
            ("{} 不能包含控制字符或不可见的格式字符。", field),
            (
                "`{}` must not contain control characters or invisible formatting characters (such as bidirectional overrides).",
                field
            )
        ),
    )
}

/// Collects field errors; [`Checks::finish`] turns them into one 422.
#[derive(Debug, Default)]
pub struct Checks {
    errors: Vec<FieldError>,
}

impl Checks {
    /// A new, empty set of checks.
    pub fn new() -> Checks {
        Checks::default()
    }

    /// Records a field error.
    pub fn push(&mut self, error: FieldError) {
        self.errors.push(error);
    }

    /// A single-line text of `min..=max` characters (not counting surrounding spaces for
    /// the minimum) with no control characters and no hidden formatting characters
    /// anywhere; returns it trimmed.
    pub fn text(&mut self, field: &str, value: &str, min: usize, max: usize) -> String {
        self.checked_text(field, value, min, max, |c| c.is_control())
    }

    /// A trimmed text of `min..=max` characters that may hold tabs and line breaks but no
    /// other control characters ([`LONG_TEXT_PATTERN`]); the same codes as [`Checks::text`].
    pub fn long_text(&mut self, field: &str, value: &str, min: usize, max: usize) -> String {
        self.checked_text(field, value, min, max, |c| {
            c.is_control() && !matches!(c, '\t' | '\n' | '\r')
        })
    }

    fn checked_text(
        &mut self,
        field: &str,
        value: &str,
        min: usize,
        max: usize,
        control: impl Fn(char) -> bool,
    ) -> String {
        let trimmed = value.trim();
        let len = trimmed.chars().count();
        // The upper bound holds for the text as sent, as the schema's maxLength says.
        if len < min {
            self.push(FieldError::new(
                field,
                "required",
                msg!(("{} 不能为空。", field), ("`{}` must not be empty.", field)),
            ));
        } else if value.chars().count() > max {
            self.push(FieldError::new(
                field,
                "too_long",
                msg!(
                    ("{} 最多 {} 个字符。", field, max),
                    ("`{}` is at most {} characters.", field, max)
                ),
            ));
        } else if value.chars().any(|c| control(c) || is_hidden(c)) {
            // As sent, like the schema's pattern: a trailing tab or NUL is refused, not
            // trimmed away unseen.
            self.push(control_characters(field));
        }
        trimmed.to_owned()
    }

    /// A code of 1 to 32 letters, digits or dashes.
    pub fn code(&mut self, field: &str, value: &str) -> String {
        let ok = (1..=32).contains(&value.len())
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !ok {
            self.push(FieldError::new(
                field,
                "invalid_code",
                msg!(
                    ("{} 须为 1 至 32 个字母、数字或短横线。", field),
                    ("`{}` must be 1 to 32 letters, digits or dashes.", field)
                ),
            ));
        }
        value.to_owned()
    }

    /// Ok when every check passed; a 422 listing every failure otherwise.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_is_reported_at_once() {
        let mut c = Checks::new();
        assert_eq!(c.text("name", "  镇  ", 1, 10), "镇");
        c.text("empty", "   ", 1, 10);
        c.text("long", &"长".repeat(11), 1, 10);
        c.text("ctl", "a\u{7}b", 1, 10);
        c.code("code", "a b");
        let ApiError::Validation(errors) = c.finish().unwrap_err() else {
            panic!("expected a validation error");
        };
        let got: Vec<_> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            got,
            vec![
                ("empty", "required"),
                ("long", "too_long"),
                ("ctl", "control_characters"),
                ("code", "invalid_code"),
            ]
        );
    }

    #[test]
    fn bidirectional_overrides_and_zero_width_characters_are_refused() {
        for hidden in [
            '\u{202e}', '\u{2066}', '\u{200f}', '\u{200b}', '\u{feff}', '\u{061c}',
        ] {
            let mut c = Checks::new();
            c.text("name", &format!("张{hidden}三"), 1, 10);
            c.long_text("note", &format!("第一行\n{hidden}第二行"), 1, 100);
            let ApiError::Validation(errors) = c.finish().unwrap_err() else {
                panic!("expected a validation error");
            };
            let codes: Vec<_> = errors.iter().map(|e| e.code).collect();
            assert_eq!(
                codes,
                ["control_characters", "control_characters"],
                "{hidden:?}"
            );
        }
        let mut c = Checks::new();
        c.text("name", "张三\t", 1, 10);
        let ApiError::Validation(errors) = c.finish().unwrap_err() else {
            panic!("a trailing tab is a control character, as the pattern says");
        };
        assert_eq!(errors[0].code, "control_characters");
        let mut c = Checks::new();
        c.long_text("note", "第一行\r\n\t第二行", 1, 100);
        c.text("name", "Zoë 张三", 1, 10);
        assert!(c.finish().is_ok());
    }

    #[test]
    fn the_schema_patterns_exclude_every_hidden_character_the_checks_refuse() {
        // Each run of hidden characters starts with its first code point, written as the
        // patterns write it.
        let starts = (0..=0xffff_u32)
            .filter_map(char::from_u32)
            .filter(|c| is_hidden(*c) && !is_hidden(char::from_u32(*c as u32 - 1).unwrap_or('a')));
        for start in starts {
            let escape = format!("\\u{:04x}", start as u32);
            for pattern in [TEXT_PATTERN, LONG_TEXT_PATTERN] {
                let classes = pattern.matches(&*escape).count();
                assert_eq!(classes, 3, "{escape} in each of the 3 classes of {pattern}");
            }
        }
    }

    #[test]
    fn chinese_names_count_characters_not_bytes() {
        let mut c = Checks::new();
        c.text("name", &"党".repeat(100), 1, 100);
        assert!(c.finish().is_ok());
    }
}

// --- added by records ---

impl Checks {
    /// `value` when it is there; a `required` error naming `field` when it is not. For a
    /// field that only some requests take, so the body's type cannot require it.
    pub fn required<T>(&mut self, field: &str, value: Option<T>) -> Option<T> {
        if value.is_none() {
            self.push(FieldError::new(
                field,
                "required",
                msg!(
                    ("缺少必填字段：{}。", field),
                    ("Missing required field `{}`.", field)
                ),
            ));
        }
        value
    }

    /// A `not_allowed` error when `present`: `field` is one this request does not take
    /// (it belongs to another kind of request to the same endpoint).
    pub fn not_allowed(&mut self, field: &str, present: bool) {
        if present {
            self.push(FieldError::new(
                field,
                "not_allowed",
                msg!(
                    ("此请求不接受字段 {}。", field),
                    ("This request does not take `{}`.", field)
                ),
            ));
        }
    }

    /// A date within the bounds every request date keeps ([`crate::types::FIRST_DATE`]
    /// to [`crate::types::LAST_DATE`], the `CalendarDate` schema): 422 `out_of_range`.
    /// Whether it is, so that a field's own rules add no second error to the first.
    pub fn date(&mut self, field: &str, date: chrono::NaiveDate) -> bool {
        let admitted = crate::types::admits_date(date);
        if !admitted {
            let bounds = crate::types::DATE_BOUNDS;
            self.push(FieldError::new(
                field,
                "out_of_range",
                msg!(
                    ("{} 的日期 {} 超出范围（{}）。", field, date, bounds),
                    ("`{}`: the date {} is outside {}.", field, date, bounds)
                ),
            ));
        }
        admitted
    }

    /// An `in_the_future` error when `date` is after `today`, both in the town's calendar;
    /// and the bounds of [`Checks::date`].
    pub fn not_in_future(
        &mut self,
        field: &str,
        date: chrono::NaiveDate,
        today: chrono::NaiveDate,
    ) {
        if self.date(field, date) && date > today {
            self.push(FieldError::new(
                field,
                "in_the_future",
                msg!(
                    ("{} 不能晚于今天。", field),
                    ("`{}` cannot be in the future.", field)
                ),
            ));
        }
    }
}

#[cfg(test)]
mod records_tests {
    use super::*;

    #[test]
    fn dates_keep_the_bounds_of_every_request_date() {
        let day = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
        let mut c = Checks::new();
        c.date("a", day("1900-01-01"));
        c.date("b", day("2099-12-31"));
        c.date("c", day("1899-12-31"));
        c.date("d", day("2100-01-01"));
        c.not_in_future("e", day("0001-01-01"), day("2026-12-07"));
        let Err(ApiError::Validation(errors)) = c.finish() else {
            panic!("three dates are out of range")
        };
        let got: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            got,
            [
                ("c", "out_of_range"),
                ("d", "out_of_range"),
                ("e", "out_of_range")
            ]
        );
        assert!(errors[0].message.zh.contains("1900-01-01 … 2099-12-31"));
    }

    #[test]
    fn conditional_fields_are_required_or_refused_by_name() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let mut c = Checks::new();
        assert_eq!(c.required("to_branch_id", Some(1)), Some(1));
        assert_eq!(c.required::<u8>("letter_serial", None), None);
        c.not_allowed("valid_days", false);
        c.not_allowed("external_org", true);
        c.not_in_future("decided_on", day, day);
        c.not_in_future("received_on", day.succ_opt().unwrap(), day);
        let ApiError::Validation(errors) = c.finish().unwrap_err() else {
            panic!("expected a validation error");
        };
        let got: Vec<_> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            got,
            [
                ("letter_serial", "required"),
                ("external_org", "not_allowed"),
                ("received_on", "in_the_future"),
            ]
        );
    }
}
