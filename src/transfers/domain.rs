//! Organizational relation transfers (组织关系接转): pure types and rules.
//!
//! Every move of a member's relation is a transfer. Inside the town it completes at once
//! (`registration`, `internal`, `intake`, `return`); into or out of the town it goes by an
//! introduction letter (介绍信) that stays `issued` until its receipt (回执) comes back
//! (`received`), or it is `rejected` by the other side or `revoked` by the committee.
//! "Overdue" is not a stored state: an `issued` letter whose `valid_until` has passed in
//! the town's today reads as overdue.

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiError, FieldError};
use crate::members::domain::{NationalId, NationalIdError, NationalIdInput, Phone};
use crate::msg;
use crate::validate::Checks;

/// How long introduction letters are valid: the town's policy (`letter_validity_default_days`,
/// `letter_validity_max_days`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LetterValidity {
    /// Days a letter is valid when the committee names no `valid_days` (commonly 10 within
    /// the city and 30 outside it).
    pub default_days: u32,
    /// The longest validity (three months by default).
    pub max_days: u32,
}

impl LetterValidity {
    /// The validity a policy gives.
    pub fn of(policy: &crate::policy::Policy) -> LetterValidity {
        LetterValidity {
            default_days: u32::try_from(policy.letter_validity_default_days).unwrap_or(30),
            max_days: u32::try_from(policy.letter_validity_max_days).unwrap_or(90),
        }
    }
}

impl Default for LetterValidity {
    /// A new town's policy: 30 days, at most 90.
    fn default() -> LetterValidity {
        LetterValidity {
            default_days: 30,
            max_days: 90,
        }
    }
}

/// The longest reason, in characters.
pub const REASON_MAX: usize = 500;
/// The longest name of an organization on the other side, in characters.
pub const ORG_MAX: usize = 200;
/// The longest letter serial number, in characters.
pub const SERIAL_MAX: usize = 64;

crate::text_enum! {
    /// What kind of move.
    pub enum TransferKind {
        /// A member's first entry in a branch of the town (written by member registration).
        Registration = "registration",
        /// Between two branches of the town; completes at once.
        Internal = "internal",
        /// Out of the town, by a letter.
        Outflow = "outflow",
        /// Into the town, by a letter.
        Inflow = "inflow",
        /// Into the center branch for transformation (written by transformation cases).
        Intake = "intake",
        /// Back to the original branch after a passed evaluation (written by transformation cases).
        Return = "return",
    }
}

crate::text_enum! {
    /// Where a transfer stands. `completed` is for moves inside the town; a letter is
    /// `issued`, then `received`, `rejected` or `revoked` (all three final).
    pub enum TransferStatus {
        /// Done at once (no letter).
        Completed = "completed",
        /// The letter is out; no receipt yet. The sending side stays responsible.
        Issued = "issued",
        /// The receipt came back: the move is done.
        Received = "received",
        /// The other side refused the letter (with a reason).
        Rejected = "rejected",
        /// The committee withdrew the letter (with a reason).
        Revoked = "revoked",
    }
}

crate::text_enum! {
    /// The kinds of transfer a client may ask for on a member: moves inside the town and
    /// letters out of it. Inflows have their own endpoint; `registration`, `intake` and
    /// `return` are written by member registration and transformation cases.
    pub enum RequestedKind {
        /// Between two branches of the town.
        Internal = "internal",
        /// Out of the town, by a letter.
        Outflow = "outflow",
    }
}

crate::text_enum! {
    /// The kinds of completed transfer other parts of the service record through
    /// [`crate::transfers::repo::record`].
    pub enum RecordKind {
        /// A member's first entry in a branch.
        Registration = "registration",
        /// Between two branches of the town.
        Internal = "internal",
        /// Into the center branch for transformation.
        Intake = "intake",
        /// Back after a passed evaluation.
        Return = "return",
    }
}

impl RecordKind {
    /// The transfer kind it records.
    pub fn kind(self) -> TransferKind {
        match self {
            RecordKind::Registration => TransferKind::Registration,
            RecordKind::Internal => TransferKind::Internal,
            RecordKind::Intake => TransferKind::Intake,
            RecordKind::Return => TransferKind::Return,
        }
    }
}

/// A completed transfer that another part of the service records inside its own
/// transaction (member registration, transformation intake and return), through
/// [`crate::transfers::repo::record`]. The member leaves their current branch (none for
/// a registration); who decided is the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTransferRecord {
    /// The town whose member moves.
    pub town_id: Uuid,
    /// The member who moves.
    pub member_id: Uuid,
    /// What kind of move.
    pub kind: RecordKind,
    /// The branch of the town the member joins.
    pub to_branch_id: Uuid,
    /// Why, 1 to 500 characters.
    pub reason: String,
    /// When it was decided (town calendar date).
    pub decided_on: NaiveDate,
}

/// One move of a member's organizational relation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Transfer {
    /// The transfer's id, the `{transfer}` in its paths.
    pub id: Uuid,
    /// The town it belongs to.
    pub town_id: Uuid,
    /// The member who moves.
    pub member_id: Uuid,
    /// What kind of move.
    pub kind: TransferKind,
    /// The branch the member leaves; `null` for a registration or an inflow.
    pub from_branch_id: Option<Uuid>,
    /// The branch the member joins; `null` for an outflow.
    pub to_branch_id: Option<Uuid>,
    /// The organization on the other side of an outflow (where the member goes) or an
    /// inflow (where they come from).
    #[schema(example = "江宁区秣陵街道党工委")]
    pub external_org: Option<String>,
    /// Why the member moves.
    pub reason: String,
    /// Who decided: the subject of the token that recorded the decision.
    pub decided_by: String,
    /// When it was decided (town calendar date).
    pub decided_on: NaiveDate,
    /// Where it stands.
    pub status: TransferStatus,
    /// The introduction letter's serial number, unique in the town.
    #[schema(example = "雨党介〔2026〕第018号")]
    pub letter_serial: Option<String>,
    /// Party dues paid up to (党费交至), as the letter states.
    pub dues_paid_until: Option<NaiveDate>,
    /// The letter is valid until this date.
    pub valid_until: Option<NaiveDate>,
    /// When the receipt came back (status `received`).
    pub receipt_on: Option<NaiveDate>,
    /// Why the other side refused the letter (status `rejected`).
    pub rejection_reason: Option<String>,
    /// Why the committee withdrew the letter (status `revoked`).
    pub revocation_reason: Option<String>,
    /// Who recorded the receipt, rejection or revocation.
    pub closed_by: Option<String>,
    /// When the receipt, rejection or revocation was recorded.
    pub closed_at: Option<DateTime<Utc>>,
    /// The letter is still `issued` and its `valid_until` has passed (in the town's today).
    pub overdue: bool,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
    /// When its state last changed.
    pub updated_at: DateTime<Utc>,
    /// Its version; the `ETag` is this number in quotes.
    pub version: i64,
}

/// A transfer of a member asked for by a client: `internal` (staff, committee) or
/// `outflow` (committee).
///
/// `internal` takes `to_branch_id`, `reason`, `decided_on`. `outflow` takes
/// `external_org`, `letter_serial`, `dues_paid_until`, `valid_days` (optional),
/// `reason`, `decided_on`. A field of the other kind is refused (422 `not_allowed`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTransfer {
    /// `internal` or `outflow`.
    pub kind: RequestedKind,
    /// internal: the branch of this town the member joins (not their current one).
    #[serde(default)]
    pub to_branch_id: Option<Uuid>,
    /// outflow: the organization the member goes to.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$",
        example = "江宁区秣陵街道党工委"
    )]
    pub external_org: Option<String>,
    /// outflow: the letter's serial number, unique in the town.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$",
        example = "雨党介〔2026〕第018号"
    )]
    pub letter_serial: Option<String>,
    /// outflow: party dues paid up to; at the latest the end of the town's current month.
    #[serde(default)]
    #[schema(value_type = Option<crate::types::CalendarDate>)]
    pub dues_paid_until: Option<NaiveDate>,
    /// outflow: how many days the letter is valid from `decided_on`: 1 to the policy's
    /// `letter_validity_max_days` (90 unless changed; never over 92), default the policy's
    /// `letter_validity_default_days` (30 unless changed).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 92)]
    pub valid_days: Option<u32>,
    /// Why, 1 to 500 characters.
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$",
        example = "工作调动"
    )]
    pub reason: String,
    /// When it was decided; not in the future.
    #[schema(value_type = crate::types::CalendarDate)]
    pub decided_on: NaiveDate,
}

/// A checked outflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidOutflow {
    /// Where the member goes.
    pub external_org: String,
    /// The introduction letter's serial number, trimmed (1 to 64 characters).
    pub letter_serial: String,
    /// Dues paid up to.
    pub dues_paid_until: NaiveDate,
    /// `decided_on` + the validity.
    pub valid_until: NaiveDate,
    /// Why the member leaves, trimmed.
    pub reason: String,
    /// The day the committee decided, in the town's calendar; not in the future.
    pub decided_on: NaiveDate,
}

/// A checked transfer request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValidNewTransfer {
    /// Between two branches of the town.
    Internal {
        /// The branch joined.
        to_branch_id: Uuid,
        /// Why the member moves, trimmed.
        reason: String,
        /// The day it was decided, in the town's calendar; not in the future.
        decided_on: NaiveDate,
    },
    /// Out of the town by a letter.
    Outflow(ValidOutflow),
}

impl NewTransfer {
    /// Checks every field against the kind, with `today` the town's today and the letter
    /// validity of the town's policy.
    pub fn validate(
        &self,
        today: NaiveDate,
        validity: LetterValidity,
    ) -> Result<ValidNewTransfer, ApiError> {
        let mut c = Checks::new();
        let reason = c.text("reason", &self.reason, 1, REASON_MAX);
        c.not_in_future("decided_on", self.decided_on, today);
        match self.kind {
            RequestedKind::Internal => {
                let to = c.required("to_branch_id", self.to_branch_id);
                c.not_allowed("external_org", self.external_org.is_some());
                c.not_allowed("letter_serial", self.letter_serial.is_some());
                c.not_allowed("dues_paid_until", self.dues_paid_until.is_some());
                c.not_allowed("valid_days", self.valid_days.is_some());
                c.finish()?;
                Ok(ValidNewTransfer::Internal {
                    to_branch_id: to.unwrap_or_default(),
                    reason,
                    decided_on: self.decided_on,
                })
            }
            RequestedKind::Outflow => {
                c.not_allowed("to_branch_id", self.to_branch_id.is_some());
                let org = c
                    .required("external_org", self.external_org.as_deref())
                    .map(|o| c.text("external_org", o, 1, ORG_MAX));
                let serial = c
                    .required("letter_serial", self.letter_serial.as_deref())
                    .map(|s| c.text("letter_serial", s, 1, SERIAL_MAX));
                let dues = c.required("dues_paid_until", self.dues_paid_until);
                if let Some(dues) = dues {
                    dues_not_ahead(&mut c, dues, today);
                }
                let days = self.valid_days.unwrap_or(validity.default_days);
                if !(1..=validity.max_days).contains(&days) {
                    c.push(FieldError::new(
                        "valid_days",
                        "out_of_range",
                        msg!(
                            ("介绍信有效期须为 1 至 {} 天。", validity.max_days),
                            ("A letter is valid for 1 to {} days.", validity.max_days)
                        ),
                    ));
                }
                c.finish()?;
                Ok(ValidNewTransfer::Outflow(ValidOutflow {
                    external_org: org.unwrap_or_default(),
                    letter_serial: serial.unwrap_or_default(),
                    dues_paid_until: dues.unwrap_or(today),
                    valid_until: valid_until(self.decided_on, days),
                    reason,
                    decided_on: self.decided_on,
                }))
            }
        }
    }
}

/// A party member arriving from outside the town with an introduction letter (committee).
/// Creates their member record (`incoming`, no branch yet) and the inflow transfer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInflow {
    /// The newcomer's name, 1 to 50 characters.
    #[schema(
        min_length = 1,
        max_length = 50,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$",
        example = "王建国"
    )]
    pub name: String,
    /// The newcomer's resident ID number.
    pub national_id: NationalIdInput,
    /// A mobile (11 digits) or landline number.
    #[serde(default)]
    #[schema(pattern = r"^[0-9 -]{7,20}$", example = "13812345678")]
    pub phone: Option<String>,
    /// The village or community they live in, 1 to 100 characters.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub village: Option<String>,
    /// The organization they come from, as the letter names it.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$",
        example = "江宁区秣陵街道党工委"
    )]
    pub external_org: String,
    /// The letter's serial number, unique in the town.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$",
        example = "宁党介〔2026〕第102号"
    )]
    pub letter_serial: String,
    /// The letter is valid until (from the letter): not before `decided_on`, and at most the
    /// policy's `letter_validity_max_days` (90 unless changed) after it.
    #[schema(value_type = crate::types::CalendarDate)]
    pub valid_until: NaiveDate,
    /// Party dues paid up to, from the letter; at the latest the end of the current month.
    #[schema(value_type = crate::types::CalendarDate)]
    pub dues_paid_until: NaiveDate,
    /// The branch of this town they will join when the receipt is sent.
    pub to_branch_id: Uuid,
    /// Why, 1 to 500 characters.
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$",
        example = "返乡创业"
    )]
    pub reason: String,
    /// When the committee accepted the letter; not in the future. Default: today.
    #[serde(default)]
    #[schema(value_type = Option<crate::types::CalendarDate>)]
    pub decided_on: Option<NaiveDate>,
}

/// A checked inflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidInflow {
    /// The newcomer's name, trimmed.
    pub name: String,
    /// Resident ID number.
    pub national_id: NationalId,
    /// Their phone number, checked and normalized.
    pub phone: Option<Phone>,
    /// The village or community they live in, trimmed.
    pub village: Option<String>,
    /// Where they come from.
    pub external_org: String,
    /// The introduction letter's serial number, trimmed (1 to 64 characters).
    pub letter_serial: String,
    /// The letter's validity.
    pub valid_until: NaiveDate,
    /// Dues paid up to.
    pub dues_paid_until: NaiveDate,
    /// The branch joined on receipt.
    pub to_branch_id: Uuid,
    /// Why they come, trimmed.
    pub reason: String,
    /// The day the committee accepted the letter (today by default); not in the future.
    pub decided_on: NaiveDate,
}

impl NewInflow {
    /// Checks every field, with `today` the town's today.
    pub fn validate(
        &self,
        today: NaiveDate,
        validity: LetterValidity,
    ) -> Result<ValidInflow, ApiError> {
        let mut c = Checks::new();
        let name = c.text("name", &self.name, 1, 50);
        let national_id = match NationalId::parse(&self.national_id.0, today) {
            Ok(id) => Some(id),
            Err(e) => {
                c.push(national_id_error(e));
                None
            }
        };
        let phone = self.phone.as_deref().and_then(|p| {
            let parsed = Phone::parse(p);
            if parsed.is_none() {
                c.push(FieldError::new(
                    "phone",
                    "invalid_phone",
                    msg!(
                        "电话须为 11 位手机号或带区号的固定电话。",
                        "`phone` must be an 11-digit mobile or a landline with its area code."
                    ),
                ));
            }
            parsed
        });
        let village = self
            .village
            .as_deref()
            .map(|v| c.text("village", v, 1, 100));
        let external_org = c.text("external_org", &self.external_org, 1, ORG_MAX);
        let letter_serial = c.text("letter_serial", &self.letter_serial, 1, SERIAL_MAX);
        let reason = c.text("reason", &self.reason, 1, REASON_MAX);
        let decided_on = self.decided_on.unwrap_or(today);
        c.not_in_future("decided_on", decided_on, today);
        if self.valid_until < decided_on {
            c.push(FieldError::new(
                "valid_until",
                "letter_expired",
                msg!(
                    "介绍信在接收之日已过有效期。",
                    "The letter had expired when it was accepted (`valid_until` is before `decided_on`)."
                ),
            ));
        } else if self.valid_until > valid_until(decided_on, validity.max_days) {
            c.push(FieldError::new(
                "valid_until",
                "out_of_range",
                msg!(
                    ("介绍信有效期最长 {} 天。", validity.max_days),
                    ("A letter is valid for at most {} days.", validity.max_days)
                ),
            ));
        }
        dues_not_ahead(&mut c, self.dues_paid_until, today);
        c.finish()?;
        Ok(ValidInflow {
            name,
            national_id: national_id.ok_or_else(|| anyhow::anyhow!("checked above"))?,
            phone,
            village,
            external_org,
            letter_serial,
            valid_until: self.valid_until,
            dues_paid_until: self.dues_paid_until,
            to_branch_id: self.to_branch_id,
            reason,
            decided_on,
        })
    }
}

fn national_id_error(e: NationalIdError) -> FieldError {
    let message = match e {
        NationalIdError::Format => msg!(
            "身份证号须为 17 位数字加 1 位数字或 X。",
            "`national_id` must be 17 digits and a digit or X."
        ),
        NationalIdError::BirthDate => msg!(
            "身份证号中的出生日期无效。",
            "`national_id` carries an impossible birth date."
        ),
        NationalIdError::CheckDigit => msg!(
            "身份证号校验位不符。",
            "`national_id` has a wrong check digit."
        ),
    };
    FieldError::new("national_id", "invalid_national_id", message)
}

/// The receipt (回执) of a letter.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// When the receipt came back: not in the future, not before the decision.
    #[schema(value_type = crate::types::CalendarDate)]
    pub receipt_on: NaiveDate,
}

impl Receipt {
    /// Checks the date against the town's today and the transfer's decision date.
    pub fn validate(&self, today: NaiveDate, decided_on: NaiveDate) -> Result<NaiveDate, ApiError> {
        let mut c = Checks::new();
        c.not_in_future("receipt_on", self.receipt_on, today);
        if self.receipt_on < decided_on {
            c.push(FieldError::new(
                "receipt_on",
                "before_decision",
                msg!(
                    "回执日期不能早于开具介绍信的日期。",
                    "`receipt_on` cannot be before the transfer's `decided_on`."
                ),
            ));
        }
        c.finish()?;
        Ok(self.receipt_on)
    }
}

/// Why a letter is rejected or revoked.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Closing {
    /// Why, 1 to 500 characters.
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$",
        example = "接收方组织信息有误"
    )]
    pub reason: String,
}

impl Closing {
    /// The reason, trimmed; 422 when it is blank, too long or has control characters.
    pub fn validate(&self) -> Result<String, ApiError> {
        let mut c = Checks::new();
        let reason = c.text("reason", &self.reason, 1, REASON_MAX);
        c.finish()?;
        Ok(reason)
    }
}

/// What can happen to an open letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LetterAction {
    /// The receipt came back.
    Receive,
    /// The other side refused it.
    Reject,
    /// The committee withdrew it.
    Revoke,
}

impl LetterAction {
    /// The audit trail action recorded for this letter move, e.g. `transfer.received`.
    pub fn audit_action(self) -> &'static str {
        match self {
            LetterAction::Receive => "transfer.received",
            LetterAction::Reject => "transfer.rejected",
            LetterAction::Revoke => "transfer.revoked",
        }
    }
}

/// The state a letter moves to under `action`: only an `issued` letter moves (409
/// `transfer_not_open` otherwise).
pub fn close(current: TransferStatus, action: LetterAction) -> Result<TransferStatus, ApiError> {
    if current != TransferStatus::Issued {
        return Err(transfer_not_open());
    }
    Ok(match action {
        LetterAction::Receive => TransferStatus::Received,
        LetterAction::Reject => TransferStatus::Rejected,
        LetterAction::Revoke => TransferStatus::Revoked,
    })
}

/// A letter's last valid day: `decided_on` + `valid_days` (a 30-day letter issued on the
/// 1st is valid through the 31st).
pub fn valid_until(decided_on: NaiveDate, valid_days: u32) -> NaiveDate {
    decided_on
        .checked_add_days(Days::new(u64::from(valid_days)))
        .unwrap_or(NaiveDate::MAX)
}

/// An open letter whose validity has passed.
pub fn is_overdue(
    status: TransferStatus,
    valid_until: Option<NaiveDate>,
    today: NaiveDate,
) -> bool {
    status == TransferStatus::Issued && valid_until.is_some_and(|v| v < today)
}

/// The last day of `date`'s month.
pub fn end_of_month(date: NaiveDate) -> NaiveDate {
    let (y, m) = if date.month() == 12 {
        (date.year() + 1, 1)
    } else {
        (date.year(), date.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|first| first.pred_opt())
        .unwrap_or(date)
}

/// Dues are paid by the month: "paid up to" may be the end of the current month, not later.
fn dues_not_ahead(c: &mut Checks, dues: NaiveDate, today: NaiveDate) {
    if c.date("dues_paid_until", dues) && dues > end_of_month(today) {
        c.push(FieldError::new(
            "dues_paid_until",
            "in_the_future",
            msg!(
                "党费交至日期不能晚于本月末。",
                "`dues_paid_until` cannot be after the end of the current month."
            ),
        ));
    }
}

/// 409 `open_transfer_exists`.
pub fn open_transfer_exists() -> ApiError {
    crate::error::constraints::OPEN_TRANSFER_EXISTS.into()
}

/// 409 `member_not_active`.
pub fn member_not_active() -> ApiError {
    crate::error::constraints::TRANSFER_MEMBER_NOT_ACTIVE.into()
}

/// 409 `transfer_not_open`.
pub fn transfer_not_open() -> ApiError {
    crate::error::constraints::TRANSFER_NOT_OPEN.into()
}

/// 422 `same_branch` on `to_branch_id`.
pub fn same_branch() -> ApiError {
    crate::error::constraints::SAME_BRANCH.into()
}

/// 422 `unknown_branch` on `to_branch_id`.
pub fn unknown_branch() -> ApiError {
    crate::error::constraints::TRANSFER_UNKNOWN_BRANCH.into()
}

/// 409 `national_id_taken`.
pub fn national_id_taken() -> ApiError {
    ApiError::conflict(
        "national_id_taken",
        msg!(
            "本镇已有该身份证号的党员。",
            "A member of this town has this national ID number already."
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn today() -> NaiveDate {
        d(2026, 11, 27)
    }

    fn outflow() -> NewTransfer {
        NewTransfer {
            kind: RequestedKind::Outflow,
            to_branch_id: None,
            external_org: Some(" 江宁区秣陵街道党工委 ".into()),
            letter_serial: Some("雨党介〔2026〕第018号".into()),
            dues_paid_until: Some(d(2026, 11, 30)),
            valid_days: None,
            reason: "工作调动".into(),
            decided_on: d(2026, 11, 20),
        }
    }

    fn fields(e: ApiError) -> Vec<(String, &'static str)> {
        match e {
            ApiError::Validation(errors) => errors.into_iter().map(|e| (e.field, e.code)).collect(),
            other => panic!("expected 422, got {other:?}"),
        }
    }

    #[test]
    fn an_outflow_letter_is_valid_30_days_by_default_and_90_at_most() {
        let ValidNewTransfer::Outflow(o) = outflow()
            .validate(today(), LetterValidity::default())
            .unwrap()
        else {
            panic!("an outflow");
        };
        assert_eq!(o.valid_until, d(2026, 12, 20));
        assert_eq!(o.external_org, "江宁区秣陵街道党工委");
        let long = NewTransfer {
            valid_days: Some(91),
            ..outflow()
        };
        assert_eq!(
            fields(
                long.validate(today(), LetterValidity::default())
                    .unwrap_err()
            ),
            [("valid_days".into(), "out_of_range")]
        );
        let zero = NewTransfer {
            valid_days: Some(0),
            ..outflow()
        };
        assert!(zero.validate(today(), LetterValidity::default()).is_err());
        let max = NewTransfer {
            valid_days: Some(LetterValidity::default().max_days),
            ..outflow()
        };
        assert!(max.validate(today(), LetterValidity::default()).is_ok());
    }

    #[test]
    fn each_kind_takes_its_own_fields_only() {
        let mixed = NewTransfer {
            to_branch_id: Some(Uuid::nil()),
            letter_serial: None,
            ..outflow()
        };
        assert_eq!(
            fields(
                mixed
                    .validate(today(), LetterValidity::default())
                    .unwrap_err()
            ),
            [
                ("to_branch_id".into(), "not_allowed"),
                ("letter_serial".into(), "required")
            ]
        );
        let internal = NewTransfer {
            kind: RequestedKind::Internal,
            ..outflow()
        };
        let got = fields(
            internal
                .validate(today(), LetterValidity::default())
                .unwrap_err(),
        );
        assert_eq!(got[0], ("to_branch_id".into(), "required"));
        assert!(got.contains(&("letter_serial".into(), "not_allowed")));
        let internal = NewTransfer {
            kind: RequestedKind::Internal,
            to_branch_id: Some(Uuid::nil()),
            external_org: None,
            letter_serial: None,
            dues_paid_until: None,
            valid_days: None,
            ..outflow()
        };
        assert!(matches!(
            internal
                .validate(today(), LetterValidity::default())
                .unwrap(),
            ValidNewTransfer::Internal { .. }
        ));
    }

    #[test]
    fn dates_cannot_be_ahead_of_the_town() {
        let ahead = NewTransfer {
            decided_on: d(2026, 11, 28),
            dues_paid_until: Some(d(2026, 12, 1)),
            ..outflow()
        };
        assert_eq!(
            fields(
                ahead
                    .validate(today(), LetterValidity::default())
                    .unwrap_err()
            ),
            [
                ("decided_on".into(), "in_the_future"),
                ("dues_paid_until".into(), "in_the_future")
            ]
        );
    }

    #[test]
    fn only_an_issued_letter_moves_and_to_where() {
        use LetterAction::*;
        use TransferStatus::*;
        assert_eq!(close(Issued, Receive).unwrap(), Received);
        assert_eq!(close(Issued, Reject).unwrap(), Rejected);
        assert_eq!(close(Issued, Revoke).unwrap(), Revoked);
        for status in [Completed, Received, Rejected, Revoked] {
            for action in [Receive, Reject, Revoke] {
                assert_eq!(
                    close(status, action).unwrap_err().code(),
                    "transfer_not_open"
                );
            }
        }
    }

    #[test]
    fn overdue_is_an_open_letter_past_its_validity() {
        let t = today();
        assert!(is_overdue(TransferStatus::Issued, Some(d(2026, 11, 26)), t));
        assert!(
            !is_overdue(TransferStatus::Issued, Some(t), t),
            "valid through its last day"
        );
        assert!(!is_overdue(
            TransferStatus::Received,
            Some(d(2026, 1, 1)),
            t
        ));
        assert!(!is_overdue(TransferStatus::Completed, None, t));
    }

    #[test]
    fn months_end_where_the_calendar_says() {
        assert_eq!(end_of_month(d(2026, 2, 10)), d(2026, 2, 28));
        assert_eq!(end_of_month(d(2028, 2, 1)), d(2028, 2, 29));
        assert_eq!(end_of_month(d(2026, 12, 31)), d(2026, 12, 31));
        assert_eq!(valid_until(d(2026, 12, 20), 30), d(2027, 1, 19));
    }

    fn inflow() -> NewInflow {
        NewInflow {
            name: "王建国".into(),
            national_id: NationalIdInput("11010519491231002x".into()),
            phone: Some("13812345678".into()),
            village: None,
            external_org: "江宁区秣陵街道党工委".into(),
            letter_serial: "宁党介〔2026〕第102号".into(),
            valid_until: d(2026, 12, 20),
            dues_paid_until: d(2026, 10, 31),
            to_branch_id: Uuid::nil(),
            reason: "返乡".into(),
            decided_on: None,
        }
    }

    #[test]
    fn letter_validity_follows_the_towns_policy() {
        let short = LetterValidity {
            default_days: 10,
            max_days: 45,
        };
        let ValidNewTransfer::Outflow(o) = outflow().validate(today(), short).unwrap() else {
            panic!("an outflow");
        };
        assert_eq!(o.valid_until, outflow().decided_on + Days::new(10));
        let sixty = NewTransfer {
            valid_days: Some(60),
            ..outflow()
        };
        assert_eq!(
            fields(sixty.validate(today(), short).unwrap_err()),
            [("valid_days".into(), "out_of_range")]
        );
        // The same letter is fine under the default policy.
        assert!(sixty.validate(today(), LetterValidity::default()).is_ok());
        // An inflow letter valid for 30 days is too long under a 20-day maximum.
        let strict = LetterValidity {
            default_days: 10,
            max_days: 20,
        };
        assert_eq!(
            fields(inflow().validate(today(), strict).unwrap_err()),
            [("valid_until".into(), "out_of_range")]
        );
    }

    #[test]
    fn an_inflow_letter_must_be_valid_when_accepted() {
        let ok = inflow()
            .validate(today(), LetterValidity::default())
            .unwrap();
        assert_eq!(ok.decided_on, today());
        assert_eq!(ok.national_id.as_str(), "11010519491231002X");
        assert_eq!(ok.phone.unwrap().as_str(), "13812345678");
        let expired = NewInflow {
            valid_until: d(2026, 11, 26),
            ..inflow()
        };
        assert_eq!(
            fields(
                expired
                    .validate(today(), LetterValidity::default())
                    .unwrap_err()
            ),
            [("valid_until".into(), "letter_expired")]
        );
        let too_long = NewInflow {
            valid_until: d(2027, 3, 1),
            ..inflow()
        };
        assert_eq!(
            fields(
                too_long
                    .validate(today(), LetterValidity::default())
                    .unwrap_err()
            ),
            [("valid_until".into(), "out_of_range")]
        );
        let bad = NewInflow {
            national_id: NationalIdInput("110105194912310021".into()),
            phone: Some("123".into()),
            ..inflow()
        };
        assert_eq!(
            fields(
                bad.validate(today(), LetterValidity::default())
                    .unwrap_err()
            ),
            [
                ("national_id".into(), "invalid_national_id"),
                ("phone".into(), "invalid_phone")
            ]
        );
    }

    #[test]
    fn a_receipt_falls_between_the_decision_and_today() {
        let r = |day| Receipt { receipt_on: day };
        assert!(r(today()).validate(today(), d(2026, 11, 1)).is_ok());
        assert_eq!(
            fields(
                r(d(2026, 11, 28))
                    .validate(today(), d(2026, 11, 1))
                    .unwrap_err()
            ),
            [("receipt_on".into(), "in_the_future")]
        );
        assert_eq!(
            fields(
                r(d(2026, 10, 31))
                    .validate(today(), d(2026, 11, 1))
                    .unwrap_err()
            ),
            [("receipt_on".into(), "before_decision")]
        );
    }

    #[test]
    fn record_kinds_are_the_completed_kinds() {
        for k in RecordKind::ALL {
            assert_eq!(k.kind().as_str(), k.as_str());
        }
    }
}
