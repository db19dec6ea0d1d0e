//! Small value types shared by several parts of the domain: each parses, so that a value
//! of the type is valid wherever it is used.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

/// An IANA time zone name, such as `Asia/Shanghai`: the zone a town's calendar dates are in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZoneName(String);

impl TimeZoneName {
    /// The default zone of a town.
    pub fn shanghai() -> TimeZoneName {
        TimeZoneName("Asia/Shanghai".to_owned())
    }

    /// The name.
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
            .description(Some("An IANA time zone name."))
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
    fn only_iana_names_parse() {
        let tz: TimeZoneName = serde_json::from_str("\"Asia/Urumqi\"").unwrap();
        assert_eq!(tz.as_str(), "Asia/Urumqi");
        assert!(serde_json::from_str::<TimeZoneName>("\"Mars/Olympus\"").is_err());
        assert_eq!(TimeZoneName::shanghai().tz(), chrono_tz::Asia::Shanghai);
    }
}
