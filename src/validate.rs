//! Field checks that collect every problem of a request before answering, so a client
//! sees all its mistakes in one 422 rather than one per round trip.

use crate::error::{ApiError, FieldError};
use crate::msg;

/// The OpenAPI pattern of a name-like text: not blank, no control characters. It says
/// in the schema what [`Checks::text`] checks.
pub const TEXT_PATTERN: &str = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$";

/// The OpenAPI pattern of a code: what [`Checks::code`] checks.
pub const CODE_PATTERN: &str = "^[0-9A-Za-z-]{1,32}$";

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

    /// A trimmed, single-line text of `min..=max` characters with no control characters;
    /// returns it trimmed (or the input unchanged, when it is invalid and reported).
    pub fn text(&mut self, field: &str, value: &str, min: usize, max: usize) -> String {
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
        } else if trimmed.chars().any(char::is_control) {
            self.push(FieldError::new(
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
    fn chinese_names_count_characters_not_bytes() {
        let mut c = Checks::new();
        c.text("name", &"党".repeat(100), 1, 100);
        assert!(c.finish().is_ok());
    }
}
