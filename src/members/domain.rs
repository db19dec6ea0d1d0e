//! Members (党员): pure types and rules.

use std::borrow::Cow;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

/// A resident identity card number (居民身份证号码): 18 characters, the last a check
/// character over the first 17 (GB 11643), with a real birth date in characters 7-14.
/// Parsing accepts a lower-case `x` and stores it upper-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NationalId(String);

/// Why a string is not a national ID number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NationalIdError {
    /// Not 17 digits and a digit or X.
    Format,
    /// Characters 7-14 are not a real date, or one in the future.
    BirthDate,
    /// The check character does not match.
    CheckDigit,
}

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: &[u8; 11] = b"10X98765432";

impl NationalId {
    /// Parses and checks a number; `today` bounds the birth date.
    pub fn parse(input: &str, today: NaiveDate) -> Result<NationalId, NationalIdError> {
        let s = input.trim().to_ascii_uppercase();
        let bytes = s.as_bytes();
        if bytes.len() != 18
            || !bytes[..17].iter().all(u8::is_ascii_digit)
            || !(bytes[17].is_ascii_digit() || bytes[17] == b'X')
        {
            return Err(NationalIdError::Format);
        }
        let birth = NaiveDate::parse_from_str(&s[6..14], "%Y%m%d").map_err(|_| NationalIdError::BirthDate)?;
        if birth > today || birth < NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(birth) {
            return Err(NationalIdError::BirthDate);
        }
        let sum: u32 = bytes[..17]
            .iter()
            .zip(WEIGHTS)
            .map(|(b, w)| u32::from(b - b'0') * w)
            .sum();
        if CHECK[(sum % 11) as usize] != bytes[17] {
            return Err(NationalIdError::CheckDigit);
        }
        Ok(NationalId(s))
    }

    /// A number read back from the database (checked when it was written).
    pub fn from_trusted(s: String) -> NationalId {
        NationalId(s)
    }

    /// The full number.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number as shown to anyone not entitled to it: the first 4 and last 4
    /// characters, `3201**********1234`.
    pub fn masked(&self) -> String {
        mask(&self.0, 4, 4)
    }

    /// The birth date the number carries.
    pub fn birth_date(&self) -> Option<NaiveDate> {
        NaiveDate::parse_from_str(&self.0[6..14], "%Y%m%d").ok()
    }
}

/// A mobile (11 digits, `1[3-9]…`) or landline (`0` area code, optional dash, 7-8 digits)
/// telephone number, stored without spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    /// Parses a phone number; spaces are dropped.
    pub fn parse(input: &str) -> Option<Phone> {
        let s: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        let b = s.as_bytes();
        let mobile = b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) && b.iter().all(u8::is_ascii_digit);
        let landline = {
            let digits: Vec<u8> = b.iter().copied().filter(|c| *c != b'-').collect();
            b.first() == Some(&b'0')
                && b.iter().filter(|c| **c == b'-').count() <= 1
                && b.last() != Some(&b'-')
                && (10..=12).contains(&digits.len())
                && digits.iter().all(u8::is_ascii_digit)
        };
        (mobile || landline).then_some(Phone(s))
    }

    /// A number read back from the database.
    pub fn from_trusted(s: String) -> Phone {
        Phone(s)
    }

    /// The full number.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number as shown to anyone not entitled to it: `138****5678`.
    pub fn masked(&self) -> String {
        mask(&self.0, 3, 4)
    }
}

/// Keeps `head` and `tail` characters and stars the rest.
fn mask(s: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= head + tail {
        return "*".repeat(chars.len());
    }
    let mut out: String = chars[..head].iter().collect();
    out.extend(std::iter::repeat_n('*', chars.len() - head - tail));
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// The JSON form of a national ID number in a request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NationalIdInput(pub String);

impl PartialSchema for NationalIdInput {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "18-character resident ID number: 17 digits and a check digit or X (GB 11643), with a real birth date.",
            ))
            .pattern(Some("^[0-9]{17}[0-9Xx]$"))
            .examples(["11010519491231002X"])
            .build()
            .into()
    }
}

impl ToSchema for NationalIdInput {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("NationalId")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
    }

    #[test]
    fn national_ids_are_checked_by_their_check_digit_and_birth_date() {
        // The standard's own example.
        let id = NationalId::parse("11010519491231002x", today()).unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id.birth_date(), NaiveDate::from_ymd_opt(1949, 12, 31));
        assert_eq!(NationalId::parse("110105194912310021", today()), Err(NationalIdError::CheckDigit));
        assert_eq!(NationalId::parse("11010519491331002X", today()), Err(NationalIdError::BirthDate));
        assert_eq!(NationalId::parse("11010520300101002X", today()), Err(NationalIdError::BirthDate));
        assert_eq!(NationalId::parse("1101051949123100", today()), Err(NationalIdError::Format));
        assert_eq!(NationalId::parse("11010519491231002Y", today()), Err(NationalIdError::Format));
    }

    #[test]
    fn sensitive_numbers_are_masked_to_their_ends() {
        let id = NationalId::parse("11010519491231002X", today()).unwrap();
        assert_eq!(id.masked(), "1101**********002X");
        assert_eq!(Phone::parse("138 1234 5678").unwrap().masked(), "138****5678");
    }

    #[test]
    fn phones_are_mobiles_or_landlines() {
        assert!(Phone::parse("13812345678").is_some());
        assert!(Phone::parse("025-84561234").is_some());
        assert!(Phone::parse("02584561234").is_some());
        assert!(Phone::parse("12812345678").is_none());
        assert!(Phone::parse("1381234567").is_none());
        assert!(Phone::parse("025--8456123").is_none());
        assert!(Phone::parse("abc").is_none());
    }
}
