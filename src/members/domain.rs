//! Members (党员): pure types and rules.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};
use uuid::Uuid;

use crate::error::{ApiError, FieldError};
use crate::msg;
use crate::validate::Checks;

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
        let birth = NaiveDate::parse_from_str(&s[6..14], "%Y%m%d")
            .map_err(|_| NationalIdError::BirthDate)?;
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

/// The OpenAPI pattern of a phone number: what [`Phone::parse`] accepts.
pub const PHONE_PATTERN: &str = "^(1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8})$";

/// A mobile (11 digits, `1[3-9]…`) or landline (`0`, a 2-3 digit area code, an optional
/// dash, 7-8 digits) telephone number: exactly what the OpenAPI pattern
/// `^(1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8})$` says.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    /// Parses a phone number (surrounding spaces are ignored).
    pub fn parse(input: &str) -> Option<Phone> {
        let s = input.trim();
        let b = s.as_bytes();
        let digits = |x: &[u8]| x.iter().all(u8::is_ascii_digit);
        let mobile = b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) && digits(b);
        let landline = b.first() == Some(&b'0') && {
            let rest = &b[1..];
            (2..=3).any(|area| {
                rest.len() > area && digits(&rest[..area]) && {
                    let number = rest[area..].strip_prefix(b"-").unwrap_or(&rest[area..]);
                    (7..=8).contains(&number.len()) && digits(number)
                }
            })
        };
        (mobile || landline).then(|| Phone(s.to_owned()))
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

crate::text_enum! {
    /// Where a member stands: in a branch of the town, arriving by letter, gone by letter,
    /// removed from the party, or deceased.
    pub enum MemberStatus {
        /// In a branch of the town.
        Active = "active",
        /// Arriving from outside with an introduction letter, not yet received.
        Incoming = "incoming",
        /// Left the town: their letter's receipt came back.
        TransferredOut = "transferred_out",
        /// Removed from the party (除名), by a committee disposition.
        Removed = "removed",
        /// Died; the record is kept.
        Deceased = "deceased",
    }
}

crate::text_enum! {
    /// A member's standing in the party: probationary (预备党员) from the committee's
    /// approval of their admission, full (正式党员) from their conversion. Apart from
    /// `status`: a probationary member is in a branch like any other, but has no vote.
    pub enum Standing {
        /// A probationary member: no vote, not a contact person or introducer.
        Probationary = "probationary",
        /// A full member.
        Full = "full",
    }
}

crate::text_enum! {
    /// Sex, as the national ID number's 17th digit records it.
    pub enum Sex {
        /// Odd 17th digit.
        Male = "male",
        /// Even 17th digit.
        Female = "female",
    }
}

impl NationalId {
    /// The sex the number records.
    pub fn sex(&self) -> Sex {
        if (self.0.as_bytes()[16] - b'0') % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }
}

/// How much of a member's sensitive numbers an answer may show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disclosure {
    /// Masked: `3201**********1234`, `138****5678`.
    Masked,
    /// In full: only for the committee, on request, and audited.
    Revealed,
}

/// A member as stored.
#[derive(Debug, Clone)]
pub struct MemberRow {
    /// The member's id, unique across towns.
    pub id: Uuid,
    /// The town they belong to.
    pub town_id: Uuid,
    /// The member's name, trimmed (1 to 50 characters).
    pub name: String,
    /// National ID number.
    pub national_id: String,
    /// Their phone number in full, if any; shown masked unless revealed.
    pub phone: Option<String>,
    /// The village or community they live in.
    pub village: Option<String>,
    /// The branch they are in; none for a newcomer still `incoming`.
    pub branch_id: Option<Uuid>,
    /// Where their membership stands.
    pub status: MemberStatus,
    /// Date joined the party.
    pub joined_party_on: Option<NaiveDate>,
    /// Probationary or full.
    pub standing: Standing,
    /// The day party standing counts from (the end of the probation), when known.
    pub full_member_since: Option<NaiveDate>,
    /// Village reserve cadre (后备干部).
    pub reserve_cadre: bool,
    /// Outstanding young member.
    pub outstanding_young: bool,
    /// When the record was created.
    pub created_at: DateTime<Utc>,
    /// When the record last changed.
    pub updated_at: DateTime<Utc>,
    /// Version (ETag).
    pub version: i64,
    /// Holds a valid floating member certificate.
    pub floating: bool,
    /// Has an open transformation case.
    pub under_transformation: bool,
}

/// A party member of a town.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Member {
    /// The member's id, the `{member}` in its paths.
    pub id: Uuid,
    /// The town they belong to.
    pub town_id: Uuid,
    /// The member's name, trimmed (1 to 50 characters).
    #[schema(example = "张建国")]
    pub name: String,
    /// National ID number, masked (`1101**********002X`) unless the committee asked to see it.
    #[schema(example = "1101**********002X")]
    pub national_id: String,
    /// Whether `national_id` and `phone` are shown in full.
    pub revealed: bool,
    /// Sex, from the national ID number.
    pub sex: Sex,
    /// Birth date, from the national ID number.
    pub birth_date: Option<NaiveDate>,
    /// Phone, masked (`138****5678`) unless revealed.
    pub phone: Option<String>,
    /// The village or community the member lives in.
    pub village: Option<String>,
    /// The current branch: always the destination of the member's last completed transfer.
    pub branch_id: Option<Uuid>,
    /// Where their membership stands.
    pub status: MemberStatus,
    /// The day they joined the party.
    pub joined_party_on: Option<NaiveDate>,
    /// `probationary` (预备党员: no vote) or `full` (正式党员).
    pub standing: Standing,
    /// The day party standing (党龄) counts from: the end of the probation, for members
    /// who became full through the development pipeline; unknown for others.
    pub full_member_since: Option<NaiveDate>,
    /// Whether they are a village reserve cadre (村级后备干部).
    pub reserve_cadre: bool,
    /// Whether they are an outstanding young member (优秀年轻党员).
    pub outstanding_young: bool,
    /// Holds a valid floating member certificate (流动党员).
    pub floating: bool,
    /// Under transformation management: has an open case (转化党员).
    pub under_transformation: bool,
    /// When the record was created.
    pub created_at: DateTime<Utc>,
    /// When the record last changed.
    pub updated_at: DateTime<Utc>,
    /// Version; the `ETag` is this number in quotes.
    pub version: i64,
}

impl MemberRow {
    /// The member as an answer shows it.
    pub fn view(self, disclosure: Disclosure) -> Member {
        let id = NationalId::from_trusted(self.national_id);
        let phone = self.phone.map(Phone::from_trusted);
        let revealed = disclosure == Disclosure::Revealed;
        Member {
            id: self.id,
            town_id: self.town_id,
            name: self.name,
            sex: id.sex(),
            birth_date: id.birth_date(),
            national_id: if revealed {
                id.as_str().to_owned()
            } else {
                id.masked()
            },
            revealed,
            phone: phone.map(|p| {
                if revealed {
                    p.as_str().to_owned()
                } else {
                    p.masked()
                }
            }),
            village: self.village,
            branch_id: self.branch_id,
            status: self.status,
            joined_party_on: self.joined_party_on,
            standing: self.standing,
            full_member_since: self.full_member_since,
            reserve_cadre: self.reserve_cadre,
            outstanding_young: self.outstanding_young,
            floating: self.floating,
            under_transformation: self.under_transformation,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        }
    }
}

/// A member to register (staff, committee): the branch is where they are registered,
/// recorded as their first transfer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    /// Name, 1 to 50 characters.
    #[schema(
        example = "张建国",
        min_length = 1,
        max_length = 50,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub name: String,
    /// National ID number; unique in the town.
    pub national_id: NationalIdInput,
    /// Mobile or landline number; unique in the town.
    #[serde(default)]
    #[schema(
        example = "13812345678",
        pattern = "^(1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8})$"
    )]
    pub phone: Option<String>,
    /// Village or community.
    #[serde(default)]
    #[schema(example = "新村", max_length = 50)]
    pub village: Option<String>,
    /// The branch of this town the member is registered in.
    pub branch_id: Uuid,
    /// When they joined the party (not in the future).
    #[serde(default)]
    #[schema(value_type = Option<crate::types::CalendarDate>)]
    pub joined_party_on: Option<NaiveDate>,
    /// Whether they are a village reserve cadre (村级后备干部); default no.
    #[serde(default)]
    pub reserve_cadre: bool,
    /// Whether they are an outstanding young member (优秀年轻党员); default no.
    #[serde(default)]
    pub outstanding_young: bool,
}

/// Checked fields of a new member.
#[derive(Debug, Clone)]
pub struct ValidMember {
    /// Their name, trimmed.
    pub name: String,
    /// National ID number.
    pub national_id: NationalId,
    /// Their phone number, checked and normalized.
    pub phone: Option<Phone>,
    /// The village or community they live in, trimmed.
    pub village: Option<String>,
    /// The branch of the town they are registered in.
    pub branch_id: Uuid,
    /// The day they joined the party; not in the future.
    pub joined_party_on: Option<NaiveDate>,
    /// Whether they are a reserve cadre of their village.
    pub reserve_cadre: bool,
    /// Whether they are an outstanding young member.
    pub outstanding_young: bool,
}

/// Checks a national ID number field, recording what is wrong.
pub fn check_national_id(
    c: &mut Checks,
    field: &str,
    input: &str,
    today: NaiveDate,
) -> Option<NationalId> {
    match NationalId::parse(input, today) {
        Ok(id) => Some(id),
        Err(e) => {
            let (code, message) = match e {
                NationalIdError::Format => (
                    "invalid_national_id",
                    msg!(
                        "身份证号须为 17 位数字加 1 位数字或 X。",
                        "A national ID number is 17 digits and a digit or X."
                    ),
                ),
                NationalIdError::BirthDate => (
                    "invalid_birth_date",
                    msg!(
                        "身份证号中的出生日期无效。",
                        "The birth date in the national ID number is not a real past date."
                    ),
                ),
                NationalIdError::CheckDigit => (
                    "invalid_check_digit",
                    msg!(
                        "身份证号校验位不符。",
                        "The national ID number's check digit does not match."
                    ),
                ),
            };
            c.push(FieldError::new(field, code, message));
            None
        }
    }
}

/// Checks a phone field.
pub fn check_phone(c: &mut Checks, field: &str, input: &str) -> Option<Phone> {
    let phone = Phone::parse(input);
    if phone.is_none() {
        c.push(FieldError::new(
            field,
            "invalid_phone",
            msg!(
                "电话号码须为手机号或带区号的固定电话。",
                "A phone number is a mobile number or a landline with its area code."
            ),
        ));
    }
    phone
}

/// Checks a date that must not be after `today` (nor outside [`Checks::date`]'s bounds).
pub fn check_past_date(c: &mut Checks, field: &str, date: NaiveDate, today: NaiveDate) {
    if c.date(field, date) && date > today {
        c.push(FieldError::new(
            field,
            "date_in_future",
            msg!(
                ("{} 不能晚于今天。", field),
                ("`{}` cannot be after today.", field)
            ),
        ));
    }
}

impl NewMember {
    /// Checks every field against `today` in the town's zone.
    pub fn validate(&self, today: NaiveDate) -> Result<ValidMember, ApiError> {
        let mut c = Checks::new();
        let name = c.text("name", &self.name, 1, 50);
        let national_id = check_national_id(&mut c, "national_id", &self.national_id.0, today);
        let phone = self
            .phone
            .as_deref()
            .and_then(|p| check_phone(&mut c, "phone", p));
        let village = self.village.as_deref().map(|v| c.text("village", v, 1, 50));
        if let Some(d) = self.joined_party_on {
            check_past_date(&mut c, "joined_party_on", d, today);
        }
        c.finish()?;
        Ok(ValidMember {
            name,
            national_id: national_id.expect("checked"),
            phone,
            village,
            branch_id: self.branch_id,
            joined_party_on: self.joined_party_on,
            reserve_cadre: self.reserve_cadre,
            outstanding_young: self.outstanding_young,
        })
    }
}

/// A change to a member (staff, committee); absent fields stay. The national ID number
/// and the branch are not changed here: the branch moves only by transfers.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberPatch {
    /// Their new name, 1 to 50 characters.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 50,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub name: Option<String>,
    /// Their new phone number: a mobile or a landline with its area code.
    #[serde(default)]
    #[schema(pattern = "^(1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8})$")]
    pub phone: Option<String>,
    /// The village or community they now live in, 1 to 50 characters.
    #[serde(default)]
    #[schema(max_length = 50)]
    pub village: Option<String>,
    /// The day they joined the party; not in the future.
    #[serde(default)]
    #[schema(value_type = Option<crate::types::CalendarDate>)]
    pub joined_party_on: Option<NaiveDate>,
    /// Whether they are a village reserve cadre (村级后备干部).
    #[serde(default)]
    pub reserve_cadre: Option<bool>,
    /// Whether they are an outstanding young member (优秀年轻党员).
    #[serde(default)]
    pub outstanding_young: Option<bool>,
}

/// Checked fields of a member change.
#[derive(Debug, Clone, Default)]
pub struct ValidPatch {
    /// The new name, trimmed.
    pub name: Option<String>,
    /// The new phone number, checked and normalized.
    pub phone: Option<Phone>,
    /// The new village, trimmed.
    pub village: Option<String>,
    /// The new party joining day; not in the future.
    pub joined_party_on: Option<NaiveDate>,
    /// Whether they are now a reserve cadre.
    pub reserve_cadre: Option<bool>,
    /// Whether they are now an outstanding young member.
    pub outstanding_young: Option<bool>,
}

impl MemberPatch {
    /// Checks the fields present.
    pub fn validate(&self, today: NaiveDate) -> Result<ValidPatch, ApiError> {
        let mut c = Checks::new();
        let name = self.name.as_deref().map(|n| c.text("name", n, 1, 50));
        let phone = self
            .phone
            .as_deref()
            .and_then(|p| check_phone(&mut c, "phone", p));
        let village = self.village.as_deref().map(|v| c.text("village", v, 1, 50));
        if let Some(d) = self.joined_party_on {
            check_past_date(&mut c, "joined_party_on", d, today);
        }
        c.finish()?;
        Ok(ValidPatch {
            name,
            phone,
            village,
            joined_party_on: self.joined_party_on,
            reserve_cadre: self.reserve_cadre,
            outstanding_young: self.outstanding_young,
        })
    }

    /// The names of the fields this patch changes (for the audit trail).
    pub fn fields(&self) -> Vec<&'static str> {
        [
            ("name", self.name.is_some()),
            ("phone", self.phone.is_some()),
            ("village", self.village.is_some()),
            ("joined_party_on", self.joined_party_on.is_some()),
            ("reserve_cadre", self.reserve_cadre.is_some()),
            ("outstanding_young", self.outstanding_young.is_some()),
        ]
        .into_iter()
        .filter_map(|(f, set)| set.then_some(f))
        .collect()
    }
}

/// A name search: the grams an index lookup needs, and the text to recheck.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameSearch {
    /// The characters (for a one-character search) or character pairs the name must contain.
    pub grams: Vec<String>,
    /// The lower-cased search text, which the name must contain.
    pub needle: String,
}

impl NameSearch {
    /// Splits a search text the way `name_grams()` in the database splits names; `None`
    /// for a blank search.
    pub fn new(q: &str) -> Option<NameSearch> {
        let needle: String = q.trim().to_lowercase();
        let chars: Vec<char> = needle.chars().collect();
        if chars.is_empty() {
            return None;
        }
        let mut grams: Vec<String> = if chars.len() == 1 {
            vec![needle.clone()]
        } else {
            chars
                .windows(2)
                .map(|w| w.iter().collect())
                .filter(|g: &String| !g.chars().any(char::is_whitespace))
                .collect()
        };
        grams.sort();
        grams.dedup();
        Some(NameSearch { grams, needle })
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
        assert_eq!(
            NationalId::parse("110105194912310021", today()),
            Err(NationalIdError::CheckDigit)
        );
        assert_eq!(
            NationalId::parse("11010519491331002X", today()),
            Err(NationalIdError::BirthDate)
        );
        assert_eq!(
            NationalId::parse("11010520300101002X", today()),
            Err(NationalIdError::BirthDate)
        );
        assert_eq!(
            NationalId::parse("1101051949123100", today()),
            Err(NationalIdError::Format)
        );
        assert_eq!(
            NationalId::parse("11010519491231002Y", today()),
            Err(NationalIdError::Format)
        );
    }

    #[test]
    fn sensitive_numbers_are_masked_to_their_ends() {
        let id = NationalId::parse("11010519491231002X", today()).unwrap();
        assert_eq!(id.masked(), "1101**********002X");
        assert_eq!(Phone::parse("13812345678").unwrap().masked(), "138****5678");
    }

    #[test]
    fn searches_split_like_the_database_splits_names() {
        assert_eq!(NameSearch::new(" 张 ").unwrap().grams, ["张"]);
        assert_eq!(NameSearch::new("张建国").unwrap().grams, ["建国", "张建"]);
        assert_eq!(NameSearch::new("Li Na").unwrap().grams, ["li", "na"]);
        assert!(NameSearch::new("  ").is_none());
    }

    #[test]
    fn the_17th_digit_records_the_sex() {
        let id = NationalId::parse("11010519491231002X", today()).unwrap();
        assert_eq!(id.sex(), Sex::Female);
    }

    #[test]
    fn a_future_joining_date_is_refused_with_every_other_mistake() {
        let m = NewMember {
            name: "".into(),
            national_id: NationalIdInput("110105194912310021".into()),
            phone: Some("123".into()),
            village: None,
            branch_id: Uuid::nil(),
            joined_party_on: NaiveDate::from_ymd_opt(2027, 1, 1),
            reserve_cadre: false,
            outstanding_young: false,
        };
        let ApiError::Validation(errors) = m.validate(today()).unwrap_err() else {
            panic!("422")
        };
        let got: Vec<_> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            got,
            [
                ("name", "required"),
                ("national_id", "invalid_check_digit"),
                ("phone", "invalid_phone"),
                ("joined_party_on", "date_in_future"),
            ]
        );
    }

    #[test]
    fn phones_are_mobiles_or_landlines() {
        assert!(Phone::parse("13812345678").is_some());
        assert!(Phone::parse("025-84561234").is_some());
        assert!(Phone::parse("02584561234").is_some());
        assert!(Phone::parse("12812345678").is_none());
        assert!(Phone::parse("1381234567").is_none());
        assert!(Phone::parse("025--8456123").is_none());
        assert!(
            Phone::parse("138 1234 5678").is_none(),
            "no inner spaces: the schema says so"
        );
        assert!(Phone::parse("0571-8888888").is_some());
        assert!(Phone::parse("0-12345678").is_none());
        assert!(Phone::parse("abc").is_none());
    }
}
