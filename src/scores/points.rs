//! Points, exactly: a score is a whole number of half-points (+1 = +0.5).
//!
//! In JSON a score is a number with at most one decimal (`5`, `5.5`, `-0.5`). It is read
//! from the request's text and written as text, never through a float, so no rounding can
//! ever creep in between the HTTP body and the column.

use std::borrow::Cow;
use std::fmt;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

/// A number of half-points: `HalfPoints(11)` is 5.5 points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct HalfPoints(pub i32);

/// The largest amount a single number may carry (a sanity bound: 10,000 points).
pub const MAX_HALF_POINTS: i32 = 20_000;

impl HalfPoints {
    /// Parses `5`, `5.5`, `-0.5`, `5.0`, `5.50`: at most one significant decimal, which must
    /// be 0 or 5. No exponents.
    pub fn parse(text: &str) -> Option<HalfPoints> {
        let t = text.trim();
        let (negative, digits) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || whole.len() > 6 {
            return None;
        }
        if digits.contains('.') && fraction.is_empty() {
            return None;
        }
        if !fraction.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let fraction = fraction.trim_end_matches('0');
        let half = match fraction {
            "" => 0,
            "5" => 1,
            _ => return None,
        };
        let magnitude: i32 = whole
            .parse::<i32>()
            .ok()?
            .checked_mul(2)?
            .checked_add(half)?;
        if magnitude > MAX_HALF_POINTS {
            return None;
        }
        Some(HalfPoints(if negative { -magnitude } else { magnitude }))
    }

    /// The exact decimal text: `5`, `5.5`, `-0.5`.
    pub fn to_text(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        if abs.is_multiple_of(2) {
            format!("{sign}{}", abs / 2)
        } else {
            format!("{sign}{}.5", abs / 2)
        }
    }
}

impl fmt::Display for HalfPoints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl std::ops::Add for HalfPoints {
    type Output = HalfPoints;

    fn add(self, rhs: HalfPoints) -> HalfPoints {
        HalfPoints(self.0 + rhs.0)
    }
}

impl std::ops::Neg for HalfPoints {
    type Output = HalfPoints;

    fn neg(self) -> HalfPoints {
        HalfPoints(-self.0)
    }
}

impl Serialize for HalfPoints {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw = RawValue::from_string(self.to_text()).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for HalfPoints {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<HalfPoints, D::Error> {
        let raw: Box<RawValue> = Deserialize::deserialize(deserializer)?;
        HalfPoints::parse(raw.get()).ok_or_else(|| {
            D::Error::custom(format!(
                "`{}` is not a number of points in steps of 0.5 (such as 5, 0.5 or -1.5)",
                raw.get()
            ))
        })
    }
}

/// Stored as a whole number of half-points (`integer` columns named `*_half_points`).
impl sqlx::Type<sqlx::Postgres> for HalfPoints {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <i32 as sqlx::Type<sqlx::Postgres>>::type_info()
    }

    fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
        <i32 as sqlx::Type<sqlx::Postgres>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Postgres> for HalfPoints {
    fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        Ok(HalfPoints(<i32 as sqlx::Decode<sqlx::Postgres>>::decode(
            value,
        )?))
    }
}

impl sqlx::Encode<'_, sqlx::Postgres> for HalfPoints {
    fn encode_by_ref(
        &self,
        buf: &mut sqlx::postgres::PgArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <i32 as sqlx::Encode<sqlx::Postgres>>::encode(self.0, buf)
    }
}

impl PartialSchema for HalfPoints {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Number)
            .multiple_of(Some(0.5))
            .description(Some(
                "Points in steps of 0.5, such as 5, 5.5 or -0.5; stored exactly as half-points. \
                 A number sent in a request is at most 10000 either way; a score has no bound.",
            ))
            .examples([5.5])
            .build()
            .into()
    }
}

impl ToSchema for HalfPoints {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Points")
    }
}

/// An amount other than zero, such as a correction's: 0 is refused when it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct NonZeroPoints(HalfPoints);

impl NonZeroPoints {
    /// `points`, unless it is zero.
    pub fn new(points: HalfPoints) -> Option<NonZeroPoints> {
        (points.0 != 0).then_some(NonZeroPoints(points))
    }

    /// The amount, never zero.
    pub fn get(self) -> HalfPoints {
        self.0
    }
}

impl<'de> Deserialize<'de> for NonZeroPoints {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<NonZeroPoints, D::Error> {
        NonZeroPoints::new(HalfPoints::deserialize(deserializer)?)
            .ok_or_else(|| D::Error::custom("`0` is not an amount here: it must not be 0"))
    }
}

impl PartialSchema for NonZeroPoints {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Number)
            .multiple_of(Some(0.5))
            .description(Some(
                "Points in steps of 0.5 other than 0, such as 1.5 or -0.5; at most 10000 either way.",
            ))
            .examples([-1.5])
            .build()
            .into()
    }
}

impl ToSchema for NonZeroPoints {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("NonZeroPoints")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_parse_exactly_in_half_steps() {
        assert_eq!(HalfPoints::parse("5"), Some(HalfPoints(10)));
        assert_eq!(HalfPoints::parse("5.5"), Some(HalfPoints(11)));
        assert_eq!(HalfPoints::parse("5.50"), Some(HalfPoints(11)));
        assert_eq!(HalfPoints::parse("-0.5"), Some(HalfPoints(-1)));
        assert_eq!(HalfPoints::parse("0.0"), Some(HalfPoints(0)));
        for bad in [
            "0.25", "0.1", "1e1", "5.", ".5", "", "-", "abc", "1.55", "99999999",
        ] {
            assert_eq!(HalfPoints::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn points_travel_through_json_as_exact_numbers() {
        let p: HalfPoints = serde_json::from_str("-1.5").unwrap();
        assert_eq!(p, HalfPoints(-3));
        assert_eq!(serde_json::to_string(&HalfPoints(11)).unwrap(), "5.5");
        assert_eq!(serde_json::to_string(&HalfPoints(-1)).unwrap(), "-0.5");
        assert_eq!(serde_json::to_string(&HalfPoints(30)).unwrap(), "15");
        assert!(serde_json::from_str::<HalfPoints>("0.3").is_err());
        assert!(serde_json::from_str::<HalfPoints>("\"0.5\"").is_err());
        #[derive(Deserialize)]
        struct Body {
            points: HalfPoints,
        }
        let body: Body = serde_json::from_str(r#"{"points": 2.5}"#).unwrap();
        assert_eq!(body.points, HalfPoints(5));
    }

    #[test]
    fn a_non_zero_amount_refuses_zero_when_read() {
        let p: NonZeroPoints = serde_json::from_str("-0.5").unwrap();
        assert_eq!(p.get(), HalfPoints(-1));
        assert!(serde_json::from_str::<NonZeroPoints>("0.0").is_err());
        assert_eq!(serde_json::to_string(&p).unwrap(), "-0.5");
    }
}

#[cfg(test)]
mod extract_tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        points: HalfPoints,
        reason: String,
    }

    #[test]
    fn points_read_through_the_request_extractor() {
        let b: Body =
            crate::http::extract::parse_json(br#"{"points": -1.5, "reason": "x"}"#).unwrap();
        assert_eq!(b.points, HalfPoints(-3));
    }
}
