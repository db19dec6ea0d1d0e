//! Small value types shared by several parts of the domain: each parses, so that a value
//! of the type is valid wherever it is used.

use std::borrow::Cow;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::{PartialSchema, ToSchema};

/// The first calendar date a request may carry.
pub const FIRST_DATE: NaiveDate = NaiveDate::from_ymd_opt(1900, 1, 1).expect("a date");
/// The last calendar date a request may carry.
pub const LAST_DATE: NaiveDate = NaiveDate::from_ymd_opt(2099, 12, 31).expect("a date");

/// The schema of every date a request carries: `YYYY-MM-DD` from [`FIRST_DATE`] to
/// [`LAST_DATE`], the pattern saying the same. A date field's own rules (not in the
/// future, not before the case opened, ...) narrow this further and are stated on the
/// field. Fields take it with `#[schema(value_type = CalendarDate)]`; their validation
/// checks the bounds ([`crate::validate::Checks::date`]), as the query check does for
/// query parameters.
pub struct CalendarDate;

/// The text of the bounds, for descriptions and messages.
pub const DATE_BOUNDS: &str = "1900-01-01 … 2099-12-31";

impl PartialSchema for CalendarDate {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
            .pattern(Some(
                "^(19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
            ))
            .description(Some(
                "A calendar date, `YYYY-MM-DD`, from 1900-01-01 to 2099-12-31; a field may narrow \
                 it further (its description says how). 日期，格式 YYYY-MM-DD，范围 1900-01-01 至 \
                 2099-12-31；个别字段另有更窄的限制，见该字段说明。",
            ))
            .examples(["2026-12-07"])
            .build()
            .into()
    }
}

impl ToSchema for CalendarDate {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("CalendarDate")
    }
}

/// Whether `day` is one a request may carry: chrono alone takes `0000-01-01` or
/// `+10000-01-01`, which no record of this service can mean. [`crate::validate::Checks::date`]
/// checks it with the other fields of a request, so a client hears of every problem at once.
pub fn admits_date(day: NaiveDate) -> bool {
    (FIRST_DATE..=LAST_DATE).contains(&day)
}

/// An IANA time zone name, such as `Asia/Shanghai`: the zone a town's calendar dates are in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZoneName(String);

impl TimeZoneName {
    /// The default zone of a town.
    pub fn shanghai() -> TimeZoneName {
        TimeZoneName("Asia/Shanghai".to_owned())
    }

    /// The zone's IANA name, e.g. `Asia/Shanghai`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The zone, for date arithmetic.
    pub fn tz(&self) -> chrono_tz::Tz {
        self.0.parse().unwrap_or(chrono_tz::Asia::Shanghai)
    }
}

impl TryFrom<String> for TimeZoneName {
    type Error = String;

    fn try_from(name: String) -> Result<TimeZoneName, String> {
        match name.parse::<chrono_tz::Tz>() {
            Ok(tz) => Ok(TimeZoneName(tz.name().to_owned())),
            Err(_) => Err(format!(
                "`{name}` is not an IANA time zone name such as Asia/Shanghai"
            )),
        }
    }
}

impl From<TimeZoneName> for String {
    fn from(tz: TimeZoneName) -> String {
        tz.0
    }
}

impl PartialSchema for TimeZoneName {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "An IANA time zone name. The server's database must know it too: a name it \
                 does not know is a 422 `unknown_time_zone` on `time_zone`. \
                 IANA 时区名；服务器的数据库也须认识它，否则返回 422 `unknown_time_zone`。",
            ))
            .enum_values(Some(chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())))
            .examples(["Asia/Shanghai"])
            .build()
            .into()
    }
}

impl ToSchema for TimeZoneName {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("TimeZone")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_date_pattern_says_what_the_checks_check() {
        let RefOr::T(Schema::Object(schema)) = CalendarDate::schema() else {
            panic!("an object schema")
        };
        let pattern = regex::Regex::new(schema.pattern.as_deref().unwrap()).unwrap();
        for (text, ok) in [
            ("1900-01-01", true),
            ("2099-12-31", true),
            ("1899-12-31", false),
            ("2100-01-01", false),
            ("0000-01-01", false),
        ] {
            assert_eq!(pattern.is_match(text), ok, "{text}");
            let parsed = NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok_and(admits_date);
            assert_eq!(parsed, ok, "{text}");
        }
    }

    #[test]
    fn only_iana_names_parse() {
        let tz: TimeZoneName = serde_json::from_str("\"Asia/Urumqi\"").unwrap();
        assert_eq!(tz.as_str(), "Asia/Urumqi");
        assert!(serde_json::from_str::<TimeZoneName>("\"Mars/Olympus\"").is_err());
        assert_eq!(TimeZoneName::shanghai().tz(), chrono_tz::Asia::Shanghai);
    }
}
