//! Floating party member activity certificates (流动党员活动证): pure types and rules.
//!
//! A certificate is valid from its issue date to `valid_until` (at most a year after
//! issue); a yearly review may extend it by at most a year from the review's date. It
//! ends by being returned or revoked, both final. `expired` is never stored: a valid
//! certificate whose `valid_until` is before today (in the town's zone) reads as expired.

use chrono::{DateTime, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiError, FieldError};
use crate::msg;
use crate::validate::Checks;

crate::text_enum! {
    /// A certificate's status as of today in the town's zone. Only `valid`, `returned`
    /// and `revoked` are stored; `expired` is a valid certificate whose `valid_until`
    /// has passed.
    pub enum CertificateStatus {
        /// In force: today is not after `valid_until`.
        Valid = "valid",
        /// Not returned or revoked, but `valid_until` has passed.
        Expired = "expired",
        /// Handed back by the holder (final).
        Returned = "returned",
        /// Withdrawn by the center, with a reason (final).
        Revoked = "revoked",
    }
}

impl CertificateStatus {
    /// The status to show on `today` of a certificate stored with this status.
    pub fn as_of(self, valid_until: NaiveDate, today: NaiveDate) -> CertificateStatus {
        match self {
            CertificateStatus::Valid if valid_until < today => CertificateStatus::Expired,
            other => other,
        }
    }
}

/// What can be done to an issued certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The yearly review, which may extend the validity.
    Review,
    /// The holder hands it back.
    Return,
    /// The center withdraws it.
    Revoke,
}

/// The state machine: `valid -> returned | revoked`, both final. A review needs a
/// certificate still in force; an expired one (stored as valid) may still be returned
/// or revoked, which closes it. Anything else is a 409 `certificate_not_valid`.
pub fn check_action(status: CertificateStatus, action: Action) -> Result<(), ApiError> {
    use CertificateStatus::{Expired, Valid};
    let allowed = match action {
        Action::Review => status == Valid,
        Action::Return | Action::Revoke => matches!(status, Valid | Expired),
    };
    if allowed {
        return Ok(());
    }
    let detail = match status {
        Expired => msg!(
            "该流动党员活动证已过期，不能再审验；请收回或撤销后重新发证。",
            "This certificate has expired and can no longer be reviewed: return or revoke it and issue a new one."
        ),
        _ => msg!(
            ("该流动党员活动证状态为 {}，已不能再办理此操作。", status),
            (
                "This certificate is {} and final: nothing more can be done to it.",
                status
            )
        ),
    };
    Err(ApiError::conflict("certificate_not_valid", detail))
}

/// The earliest date accepted anywhere on a certificate: the party's founding day. It
/// keeps dates within what the database stores, and no certificate can be older.
pub fn earliest_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(1921, 7, 1).unwrap_or(NaiveDate::MIN)
}

/// One year after `date` (29 February + 1 year = 28 February, as in PostgreSQL).
pub fn one_year_after(date: NaiveDate) -> Option<NaiveDate> {
    date.checked_add_months(Months::new(12))
}

/// An issued certificate as the API shows it: `status` is as of today in the town's zone.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Certificate {
    /// The certificate's id, the `{certificate}` in its paths.
    pub id: Uuid,
    /// The town that issued it.
    pub town_id: Uuid,
    /// Its number, unique in the town.
    #[schema(example = "LD-2026-001")]
    pub number: String,
    /// The holder: a member of the town.
    pub member_id: Uuid,
    /// Where the member went (流入地).
    #[schema(example = "江苏省南京市江宁区")]
    pub destination: String,
    /// Why they went (外出原因).
    #[schema(example = "务工")]
    pub purpose: String,
    /// The day it was issued, in the town's zone.
    pub issued_on: NaiveDate,
    /// The validity it was issued with (at most a year after `issued_on`).
    pub initial_valid_until: NaiveDate,
    /// The last day it is valid, as extended by reviews.
    pub valid_until: NaiveDate,
    /// Its status today: `expired` when `valid_until` has passed and it was neither
    /// returned nor revoked.
    pub status: CertificateStatus,
    /// The day it was handed back, when `returned`.
    pub returned_on: Option<NaiveDate>,
    /// The day it was revoked, when `revoked`.
    pub revoked_on: Option<NaiveDate>,
    /// Why it was revoked, when `revoked`.
    pub revocation_reason: Option<String>,
    /// Who issued it (the token subject).
    pub issued_by: String,
    /// Who recorded its return or revocation (the token subject).
    pub closed_by: Option<String>,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Its version; the `ETag` is this number in quotes.
    pub version: i64,
}

impl Certificate {
    /// The certificate with its status read on `today`.
    pub fn as_of(mut self, today: NaiveDate) -> Certificate {
        self.status = self.status.as_of(self.valid_until, today);
        self
    }
}

/// One yearly review (年度审验) of a certificate. Reviews are never changed or removed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CertificateReview {
    /// The review's id, assigned by the service when it is recorded.
    pub id: Uuid,
    /// The certificate reviewed.
    pub certificate_id: Uuid,
    /// The day of the review, in the town's zone.
    pub reviewed_on: NaiveDate,
    /// What the review found.
    pub note: String,
    /// Who recorded it (the token subject).
    pub reviewer: String,
    /// The certificate's `valid_until` before the review.
    pub previous_valid_until: NaiveDate,
    /// Its `valid_until` after the review (the same when not extended).
    pub valid_until: NaiveDate,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
}

/// A certificate with its reviews, oldest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CertificateDetail {
    /// The certificate's own fields, flattened into this object.
    #[serde(flatten)]
    pub certificate: Certificate,
    /// Its yearly reviews, in the order of their dates.
    pub reviews: Vec<CertificateReview>,
}

/// A certificate to issue (staff, committee).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCertificate {
    /// The printed number: 1 to 50 characters, unique in the town.
    #[schema(example = "LD-2026-001")]
    #[schema(
        min_length = 1,
        max_length = 50,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub number: String,
    /// The holder: an active member of this town with no other valid certificate.
    pub member_id: Uuid,
    /// Where the member went: 1 to 200 characters.
    #[schema(example = "江苏省南京市江宁区")]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub destination: String,
    /// Why they went: 1 to 500 characters.
    #[schema(example = "务工")]
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub purpose: String,
    /// The issue date in the town's zone: not in the future, not before 1921-07-01.
    #[schema(value_type = crate::types::CalendarDate)]
    pub issued_on: NaiveDate,
    /// The last valid day: after `issued_on`, at most one year after it.
    #[schema(value_type = crate::types::CalendarDate)]
    pub valid_until: NaiveDate,
}

/// A checked [`NewCertificate`], texts trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidCertificate {
    /// The printed number, trimmed (1 to 50 characters).
    pub number: String,
    /// The member to hold the certificate, as given in the request.
    pub member_id: Uuid,
    /// Where they went.
    pub destination: String,
    /// Why the member went (外出原因), trimmed (1 to 500 characters).
    pub purpose: String,
    /// The issue date: not in the future, not before 1921-07-01.
    pub issued_on: NaiveDate,
    /// The last valid day: after `issued_on`, at most one year after it.
    pub valid_until: NaiveDate,
}

fn date_error(field: &str, code: &'static str, zh: String, en: String) -> FieldError {
    FieldError::new(field, code, crate::error::Msg::new(zh, en))
}

/// Checks a date that must not be after `today` (nor before [`earliest_date`]).
fn check_past_date(c: &mut Checks, field: &str, date: NaiveDate, today: NaiveDate) {
    if date > today {
        c.push(date_error(
            field,
            "in_future",
            format!("{field} 不能晚于今天（{today}）。"),
            format!("`{field}` cannot be after today ({today})."),
        ));
    } else if date < earliest_date() {
        c.push(date_error(
            field,
            "too_early",
            format!("{field} 不能早于 {}。", earliest_date()),
            format!("`{field}` cannot be before {}.", earliest_date()),
        ));
    }
}

/// Checks that a validity end `until` is at most one year after `from`.
fn check_within_a_year(c: &mut Checks, field: &str, until: NaiveDate, from: NaiveDate) {
    if one_year_after(from).is_none_or(|limit| until > limit) {
        c.push(date_error(
            field,
            "over_one_year",
            format!("{field} 最多为 {from} 之后一年。"),
            format!("`{field}` is at most one year after {from}."),
        ));
    }
}

impl NewCertificate {
    /// Checks the fields; `today` is the town's today.
    pub fn validate(&self, today: NaiveDate) -> Result<ValidCertificate, ApiError> {
        let mut c = Checks::new();
        let number = c.text("number", &self.number, 1, 50);
        let destination = c.text("destination", &self.destination, 1, 200);
        let purpose = c.text("purpose", &self.purpose, 1, 500);
        check_past_date(&mut c, "issued_on", self.issued_on, today);
        if self.valid_until <= self.issued_on {
            c.push(date_error(
                "valid_until",
                "not_after_issued_on",
                "valid_until 须晚于 issued_on。".into(),
                "`valid_until` must be after `issued_on`.".into(),
            ));
        } else {
            check_within_a_year(&mut c, "valid_until", self.valid_until, self.issued_on);
        }
        c.finish()?;
        Ok(ValidCertificate {
            number,
            member_id: self.member_id,
            destination,
            purpose,
            issued_on: self.issued_on,
            valid_until: self.valid_until,
        })
    }
}

/// A yearly review to record (staff, committee).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReview {
    /// The day of the review in the town's zone: not before the issue date, not in the
    /// future.
    #[schema(value_type = crate::types::CalendarDate)]
    pub reviewed_on: NaiveDate,
    /// What the review found: 1 to 1000 characters.
    #[schema(example = "按时参加流入地党组织生活，表现良好。")]
    #[schema(
        min_length = 1,
        max_length = 1000,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub note: String,
    /// A new last valid day, to extend the certificate: after its current
    /// `valid_until`, at most one year after `reviewed_on`. Omit to keep it.
    #[serde(default)]
    #[schema(value_type = Option<crate::types::CalendarDate>)]
    pub valid_until: Option<NaiveDate>,
}

/// A checked review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidReview {
    /// The day of the review.
    pub reviewed_on: NaiveDate,
    /// The note, trimmed.
    pub note: String,
    /// The certificate's validity before the review.
    pub previous_valid_until: NaiveDate,
    /// Its validity after the review.
    pub valid_until: NaiveDate,
}

impl NewReview {
    /// Checks the review against the certificate (issued on `issued_on`, valid until
    /// `valid_until`) and the town's `today`.
    pub fn validate(
        &self,
        issued_on: NaiveDate,
        valid_until: NaiveDate,
        today: NaiveDate,
    ) -> Result<ValidReview, ApiError> {
        let mut c = Checks::new();
        let note = c.text("note", &self.note, 1, 1000);
        check_past_date(&mut c, "reviewed_on", self.reviewed_on, today);
        if self.reviewed_on < issued_on {
            c.push(date_error(
                "reviewed_on",
                "before_issued_on",
                format!("reviewed_on 不能早于发证日期（{issued_on}）。"),
                format!("`reviewed_on` cannot be before the issue date ({issued_on})."),
            ));
        }
        if let Some(new) = self.valid_until {
            if new <= valid_until {
                c.push(date_error(
                    "valid_until",
                    "not_an_extension",
                    format!("valid_until 须晚于当前的有效期（{valid_until}）。"),
                    format!("`valid_until` must be after the current one ({valid_until})."),
                ));
            } else {
                check_within_a_year(&mut c, "valid_until", new, self.reviewed_on);
            }
        }
        c.finish()?;
        Ok(ValidReview {
            reviewed_on: self.reviewed_on,
            note,
            previous_valid_until: valid_until,
            valid_until: self.valid_until.unwrap_or(valid_until),
        })
    }
}

/// The return of a certificate by its holder.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnCertificate {
    /// The day it was handed back, in the town's zone: not before the issue date, not
    /// in the future.
    #[schema(value_type = crate::types::CalendarDate)]
    pub returned_on: NaiveDate,
}

impl ReturnCertificate {
    /// Checks the date against the issue date and the town's `today`.
    pub fn validate(&self, issued_on: NaiveDate, today: NaiveDate) -> Result<NaiveDate, ApiError> {
        let mut c = Checks::new();
        check_past_date(&mut c, "returned_on", self.returned_on, today);
        if self.returned_on < issued_on {
            c.push(date_error(
                "returned_on",
                "before_issued_on",
                format!("returned_on 不能早于发证日期（{issued_on}）。"),
                format!("`returned_on` cannot be before the issue date ({issued_on})."),
            ));
        }
        c.finish()?;
        Ok(self.returned_on)
    }
}

/// The revocation of a certificate by the center; it takes effect today.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeCertificate {
    /// Why it is revoked: 1 to 500 characters.
    #[schema(example = "持证人已将组织关系转出本镇。")]
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub reason: String,
}

impl RevokeCertificate {
    /// Checks the reason and returns it trimmed.
    pub fn validate(&self) -> Result<String, ApiError> {
        let mut c = Checks::new();
        let reason = c.text("reason", &self.reason, 1, 500);
        c.finish()?;
        Ok(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn fields(e: ApiError) -> Vec<(String, &'static str)> {
        match e {
            ApiError::Validation(errors) => errors.into_iter().map(|e| (e.field, e.code)).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    fn new_cert(issued_on: &str, valid_until: &str) -> NewCertificate {
        NewCertificate {
            number: " LD-1 ".into(),
            member_id: Uuid::nil(),
            destination: "南京".into(),
            purpose: "务工".into(),
            issued_on: d(issued_on),
            valid_until: d(valid_until),
        }
    }

    #[test]
    fn expired_is_read_from_the_date_never_stored() {
        let until = d("2026-03-01");
        use CertificateStatus::*;
        assert_eq!(
            Valid.as_of(until, d("2026-03-01")),
            Valid,
            "the last day is valid"
        );
        assert_eq!(Valid.as_of(until, d("2026-03-02")), Expired);
        assert_eq!(Returned.as_of(until, d("2027-01-01")), Returned);
        assert_eq!(Revoked.as_of(until, d("2027-01-01")), Revoked);
    }

    #[test]
    fn the_state_machine_closes_valid_certificates_once() {
        use CertificateStatus::*;
        for action in [Action::Review, Action::Return, Action::Revoke] {
            assert!(check_action(Valid, action).is_ok());
            for end in [Returned, Revoked] {
                assert_eq!(
                    check_action(end, action).unwrap_err().code(),
                    "certificate_not_valid"
                );
            }
        }
        assert_eq!(
            check_action(Expired, Action::Review).unwrap_err().code(),
            "certificate_not_valid"
        );
        assert!(check_action(Expired, Action::Return).is_ok());
        assert!(check_action(Expired, Action::Revoke).is_ok());
    }

    #[test]
    fn a_certificate_is_issued_for_at_most_a_year_from_a_past_day() {
        let today = d("2026-11-27");
        let ok = new_cert("2026-11-27", "2027-11-27")
            .validate(today)
            .unwrap();
        assert_eq!(ok.number, "LD-1");
        assert!(new_cert("2024-02-29", "2025-02-28").validate(today).is_ok());
        assert_eq!(
            fields(
                new_cert("2024-02-29", "2025-03-01")
                    .validate(today)
                    .unwrap_err()
            ),
            vec![("valid_until".into(), "over_one_year")]
        );
        assert_eq!(
            fields(
                new_cert("2026-11-28", "2027-01-01")
                    .validate(today)
                    .unwrap_err()
            ),
            vec![("issued_on".into(), "in_future")]
        );
        assert_eq!(
            fields(
                new_cert("2026-11-01", "2026-11-01")
                    .validate(today)
                    .unwrap_err()
            ),
            vec![("valid_until".into(), "not_after_issued_on")]
        );
        assert_eq!(
            fields(
                new_cert("2026-11-01", "2027-11-02")
                    .validate(today)
                    .unwrap_err()
            ),
            vec![("valid_until".into(), "over_one_year")]
        );
        assert_eq!(
            fields(
                new_cert("1900-01-01", "1900-06-01")
                    .validate(today)
                    .unwrap_err()
            ),
            vec![("issued_on".into(), "too_early")]
        );
    }

    #[test]
    fn a_review_extends_by_at_most_a_year_from_its_own_date() {
        let today = d("2026-11-27");
        let (issued, until) = (d("2026-01-10"), d("2027-01-10"));
        let review = |on: &str, new: Option<&str>| NewReview {
            reviewed_on: d(on),
            note: "良好".into(),
            valid_until: new.map(d),
        };
        let kept = review("2026-11-20", None)
            .validate(issued, until, today)
            .unwrap();
        assert_eq!(kept.valid_until, until);
        let extended = review("2026-11-20", Some("2027-11-20"))
            .validate(issued, until, today)
            .unwrap();
        assert_eq!(
            (extended.previous_valid_until, extended.valid_until),
            (until, d("2027-11-20"))
        );
        let e = review("2026-11-20", Some("2027-11-21")).validate(issued, until, today);
        assert_eq!(
            fields(e.unwrap_err()),
            vec![("valid_until".into(), "over_one_year")]
        );
        let e = review("2026-11-20", Some("2027-01-10")).validate(issued, until, today);
        assert_eq!(
            fields(e.unwrap_err()),
            vec![("valid_until".into(), "not_an_extension")]
        );
        let e = review("2026-01-09", None).validate(issued, until, today);
        assert_eq!(
            fields(e.unwrap_err()),
            vec![("reviewed_on".into(), "before_issued_on")]
        );
        let e = review("2026-11-28", None).validate(issued, until, today);
        assert_eq!(
            fields(e.unwrap_err()),
            vec![("reviewed_on".into(), "in_future")]
        );
    }

    #[test]
    fn returns_and_revocations_check_their_fields() {
        let today = d("2026-11-27");
        let issued = d("2026-01-10");
        let ret = |on: &str| ReturnCertificate { returned_on: d(on) };
        assert_eq!(ret("2026-11-27").validate(issued, today).unwrap(), today);
        assert_eq!(
            fields(ret("2026-01-09").validate(issued, today).unwrap_err()),
            vec![("returned_on".into(), "before_issued_on")]
        );
        assert_eq!(
            fields(ret("2026-11-28").validate(issued, today).unwrap_err()),
            vec![("returned_on".into(), "in_future")]
        );
        let revoke = |r: &str| RevokeCertificate { reason: r.into() };
        assert_eq!(revoke(" 转出 ").validate().unwrap(), "转出");
        assert_eq!(
            fields(revoke("  ").validate().unwrap_err()),
            vec![("reason".into(), "required")]
        );
    }

    #[test]
    fn texts_are_checked_as_sent_and_kept_trimmed() {
        let today = d("2026-11-27");
        let mut cert = new_cert("2026-11-01", "2027-01-01");
        cert.number = format!("{} ", "号".repeat(50));
        cert.destination = "南京\n".into();
        cert.purpose = "   ".into();
        assert_eq!(
            fields(cert.validate(today).unwrap_err()),
            vec![
                ("number".into(), "too_long"),
                ("destination".into(), "control_characters"),
                ("purpose".into(), "required"),
            ]
        );
        cert.number = "号".repeat(50);
        cert.destination = " 南京 ".into();
        cert.purpose = "务工".into();
        let ok = cert.validate(today).unwrap();
        assert_eq!(
            (ok.number.chars().count(), ok.destination.as_str()),
            (50, "南京")
        );
    }

    #[test]
    fn statuses_round_trip_as_snake_case_text() {
        for s in CertificateStatus::ALL {
            assert_eq!(s.as_str().parse::<CertificateStatus>().unwrap(), *s);
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }
}
