//! Towns: the tenants. Pure types and checks.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::ApiError;
use crate::types::TimeZoneName;
use crate::validate::Checks;

/// The name the center branch of a new town gets unless the request names it.
pub const DEFAULT_CENTER_BRANCH_NAME: &str = "党员服务转化中心支部";

/// A town (镇): every other record belongs to one.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Town {
    /// The town's id, the `{town}` in every path under it.
    pub id: Uuid,
    /// Its administrative code, unique across the service.
    #[schema(example = "320114101")]
    pub code: String,
    /// The town's name (1 to 100 characters).
    #[schema(example = "铁心桥街道")]
    pub name: String,
    /// The code of its county; a `county` token reads the towns of its county.
    #[schema(example = "320114")]
    pub county_code: String,
    /// The IANA time zone its calendar dates are in.
    pub time_zone: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Its version; the `ETag` is this number in quotes.
    pub version: i64,
}

/// A town to create (admin). Its center branch is created with it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTown {
    /// Administrative code: 1 to 32 letters, digits or dashes; unique.
    #[schema(example = "320114101", pattern = "^[0-9A-Za-z-]{1,32}$")]
    pub code: String,
    /// Name, 1 to 100 characters, not blank.
    #[schema(example = "铁心桥街道")]
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub name: String,
    /// County code: 1 to 32 letters, digits or dashes.
    #[schema(example = "320114", pattern = "^[0-9A-Za-z-]{1,32}$")]
    pub county_code: String,
    /// IANA time zone; default `Asia/Shanghai`.
    #[serde(default)]
    pub time_zone: Option<TimeZoneName>,
    /// Name of the center branch created with the town; default `党员服务转化中心支部`.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub center_branch_name: Option<String>,
}

/// Checked fields of a new town.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidTown {
    /// The town's code, unique.
    pub code: String,
    /// The town's name, trimmed.
    pub name: String,
    /// The code of the county the town belongs to.
    pub county_code: String,
    /// The town's time zone (Asia/Shanghai unless given), which decides its today.
    pub time_zone: TimeZoneName,
    /// The name for the town's center branch, trimmed (default 党员服务转化中心支部).
    pub center_branch_name: String,
}

impl NewTown {
    /// Checks every field; a 422 lists all that are wrong.
    pub fn validate(&self) -> Result<ValidTown, ApiError> {
        let mut c = Checks::new();
        let town = ValidTown {
            code: c.code("code", &self.code),
            name: c.text("name", &self.name, 1, 100),
            county_code: c.code("county_code", &self.county_code),
            time_zone: self
                .time_zone
                .clone()
                .unwrap_or_else(TimeZoneName::shanghai),
            center_branch_name: c.text(
                "center_branch_name",
                self.center_branch_name
                    .as_deref()
                    .unwrap_or(DEFAULT_CENTER_BRANCH_NAME),
                1,
                100,
            ),
        };
        c.finish()?;
        Ok(town)
    }
}

/// A change to a town (admin); absent fields stay as they are. The code never changes.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TownPatch {
    /// The town's new name, 1 to 100 characters.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub name: Option<String>,
    /// The code of the county the town now belongs to: 1 to 32 letters, digits or dashes.
    #[serde(default)]
    #[schema(pattern = "^[0-9A-Za-z-]{1,32}$")]
    pub county_code: Option<String>,
    /// The town's new IANA time zone; its today and every calendar date follow it.
    #[serde(default)]
    pub time_zone: Option<TimeZoneName>,
}

impl TownPatch {
    /// Checks the fields present and returns them trimmed.
    pub fn validate(&self) -> Result<TownPatch, ApiError> {
        let mut c = Checks::new();
        let patch = TownPatch {
            name: self.name.as_deref().map(|n| c.text("name", n, 1, 100)),
            county_code: self
                .county_code
                .as_deref()
                .map(|n| c.code("county_code", n)),
            time_zone: self.time_zone.clone(),
        };
        c.finish()?;
        Ok(patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_town() -> NewTown {
        NewTown {
            code: "320114101".into(),
            name: " 铁心桥 ".into(),
            county_code: "320114".into(),
            time_zone: None,
            center_branch_name: None,
        }
    }

    #[test]
    fn a_new_town_gets_defaults_for_zone_and_center_branch() {
        let t = new_town().validate().unwrap();
        assert_eq!(t.name, "铁心桥");
        assert_eq!(t.time_zone, TimeZoneName::shanghai());
        assert_eq!(t.center_branch_name, DEFAULT_CENTER_BRANCH_NAME);
    }

    #[test]
    fn every_bad_field_of_a_town_is_named() {
        let bad = NewTown {
            code: "has space".into(),
            name: "".into(),
            county_code: "".into(),
            ..new_town()
        };
        let ApiError::Validation(errors) = bad.validate().unwrap_err() else {
            panic!("expected 422");
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["code", "name", "county_code"]);
    }
}
