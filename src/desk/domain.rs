//! The service desk register: pure types and rules. Who may see what, what a registration
//! must hold, and the state machine an entry's handling follows.

use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Role;
use crate::error::{ApiError, FieldError};
use crate::members::domain::{Phone, check_phone};
use crate::msg;
use crate::validate::Checks;

/// The OpenAPI pattern of the register's long texts (a request, a note), the one
/// [`Checks::long_text`] checks.
pub use crate::validate::LONG_TEXT_PATTERN;

crate::text_enum! {
    /// What a visitor came for (articles 3-14). The list is extensible by a migration.
    pub enum DeskCategory {
        /// Transferring their organizational relation (接转党员关系, art. 3, 12).
        RelationTransfer = "relation_transfer",
        /// A question (咨询, art. 3).
        Consultation = "consultation",
        /// Asking for help (求助, art. 3).
        HelpRequest = "help_request",
        /// A heart-to-heart talk or psychological counselling (art. 11): confidential.
        Counselling = "counselling",
        /// A floating party member activity certificate (流动党员活动证, art. 12).
        FloatingCertificate = "floating_certificate",
        /// Party reports, books and materials (art. 10).
        Materials = "materials",
        /// Help for a branch's organizational life, or a non-public enterprise branch (art. 10, 13).
        BranchSupport = "branch_support",
        /// Help for a weak branch to recruit members (art. 13).
        RecruitmentHelp = "recruitment_help",
        /// Anything that fits none of the other categories.
        Other = "other",
    }
}

crate::text_enum! {
    /// Where an entry's handling stands: `registered` -> `in_progress` -> `resolved` or
    /// `referred`; a referred entry comes back (with its follow-up) to `in_progress` or
    /// straight to `resolved`. Every status but `resolved` is open.
    pub enum DeskStatus {
        /// Registered, not yet taken up.
        Registered = "registered",
        /// Someone at the center is handling it.
        InProgress = "in_progress",
        /// Handled, with its outcome. Final.
        Resolved = "resolved",
        /// Referred elsewhere (to whom, why), awaiting its follow-up.
        Referred = "referred",
    }
}

/// An entry of the register.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeskEntry {
    /// The register entry's id, the `{entry}` in its paths.
    pub id: Uuid,
    /// The town whose center registered it.
    pub town_id: Uuid,
    /// The visitor's name as registered (1 to 50 characters).
    #[schema(example = "张建国")]
    pub visitor_name: String,
    /// The visitor's member record, when they are a member of this town.
    pub member_id: Option<Uuid>,
    /// The visitor's phone; masked (`138****5678`) for `county`.
    #[schema(example = "13812345678")]
    pub visitor_phone: Option<String>,
    /// Where the visitor is from, as they said it.
    #[schema(example = "江宁区秣陵街道")]
    pub jurisdiction: Option<String>,
    /// What they came for.
    pub category: DeskCategory,
    /// What they asked.
    pub request: String,
    /// The `sub` of whoever received them.
    pub received_by: String,
    /// When they came.
    pub received_at: DateTime<Utc>,
    /// Counselling entries are confidential: seen only by their author and the committee.
    pub confidential: bool,
    /// Where the handling stands.
    pub status: DeskStatus,
    /// The outcome, once `resolved`.
    pub outcome: Option<String>,
    /// Whom it was last referred to.
    pub referred_to: Option<String>,
    /// Why it was last referred.
    pub referral_reason: Option<String>,
    /// What came back from the last referral.
    pub follow_up: Option<String>,
    /// Who made the last status change (the registration is the first).
    pub status_changed_by: String,
    /// When the last status change was made.
    pub status_changed_at: DateTime<Utc>,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Its version; the `ETag` is this number in quotes. Each status change adds one.
    pub version: i64,
}

/// One status an entry took: the registration (version 1) or a change.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeskStatusEvent {
    /// The entry's version this change made.
    pub version: i64,
    /// The status before; `null` for the registration.
    pub from_status: Option<DeskStatus>,
    /// The status after.
    pub status: DeskStatus,
    /// The change's note; when leaving `referred`, the follow-up.
    pub note: Option<String>,
    /// The outcome, for a change to `resolved`.
    pub outcome: Option<String>,
    /// Whom it was referred to, for a change to `referred`.
    pub referred_to: Option<String>,
    /// Why, for a change to `referred`.
    pub reason: Option<String>,
    /// The `sub` of whoever made the change.
    pub changed_by: String,
    /// When, by the server's clock.
    pub changed_at: DateTime<Utc>,
}

/// An entry with the history of its status.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeskEntryDetail {
    /// The entry, as the reader may see it (its fields at the top level).
    #[serde(flatten)]
    pub entry: DeskEntry,
    /// Every status it took, oldest first, the registration included.
    pub history: Vec<DeskStatusEvent>,
}

/// A visit to register (staff, committee). The receiver is the caller.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDeskEntry {
    /// The visitor's name, 1 to 50 characters.
    #[schema(
        example = "张建国",
        min_length = 1,
        max_length = 50,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub visitor_name: String,
    /// Their member record, if they are a member of this town (422 `unknown_member`
    /// otherwise). Anyone else is registered by name and jurisdiction.
    #[serde(default)]
    pub member_id: Option<Uuid>,
    /// A mobile number, or a landline with its area code.
    #[serde(default)]
    #[schema(
        example = "13812345678",
        pattern = "^(1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8})$"
    )]
    pub visitor_phone: Option<String>,
    /// Where they are from, as they say it, 1 to 200 characters.
    #[serde(default)]
    #[schema(
        example = "江宁区秣陵街道",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub jurisdiction: Option<String>,
    /// What they came for.
    pub category: DeskCategory,
    /// What they asked, 1 to 2000 characters; may run over several lines.
    #[schema(
        example = "咨询流动党员活动证的办理",
        min_length = 1,
        max_length = 2000,
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub request: String,
    /// When they came, if not now: never in the future (422 `in_the_future`), and not
    /// before the year 2000 (422 `out_of_range`: a register kept on paper before then is
    /// not entered here).
    #[serde(default)]
    pub received_at: Option<DateTime<Utc>>,
}

/// A checked registration.
#[derive(Debug, Clone)]
pub struct ValidDeskEntry {
    /// The visitor's name, trimmed.
    pub visitor_name: String,
    /// Their member record, when they are a member of this town.
    pub member_id: Option<Uuid>,
    /// Their phone number, checked and normalized.
    pub visitor_phone: Option<Phone>,
    /// Where they are from, trimmed.
    pub jurisdiction: Option<String>,
    /// What they came for.
    pub category: DeskCategory,
    /// What they asked, trimmed; may run over several lines.
    pub request: String,
    /// The time given, or `None` for the server's time.
    pub received_at: Option<DateTime<Utc>>,
}

impl NewDeskEntry {
    /// Checks every field at once; `now` bounds `received_at`.
    pub fn validate(&self, now: DateTime<Utc>) -> Result<ValidDeskEntry, ApiError> {
        let mut c = Checks::new();
        let visitor_name = c.text("visitor_name", &self.visitor_name, 1, 50);
        let visitor_phone = self
            .visitor_phone
            .as_deref()
            .and_then(|p| check_phone(&mut c, "visitor_phone", p));
        let jurisdiction = self
            .jurisdiction
            .as_deref()
            .map(|j| c.text("jurisdiction", j, 1, 200));
        let request = c.long_text("request", &self.request, 1, 2000);
        if self.received_at.is_some_and(|t| t > now) {
            c.push(received_in_the_future());
        }
        if self.received_at.is_some_and(|t| t.year() < 2000) {
            c.push(FieldError::new(
                "received_at",
                "out_of_range",
                msg!(
                    "来访时间不能早于 2000 年。",
                    "`received_at` must not be before the year 2000."
                ),
            ));
        }
        c.finish()?;
        Ok(ValidDeskEntry {
            visitor_name,
            member_id: self.member_id,
            visitor_phone,
            jurisdiction,
            category: self.category,
            request,
            received_at: self.received_at,
        })
    }
}

/// The 422 for a visit dated after now.
pub fn received_in_the_future() -> FieldError {
    crate::error::constraints::RECEIVED_IN_THE_FUTURE.into()
}

/// A status change (staff, committee). Which fields it needs depends on the change:
///
/// | from | to | needs |
/// | --- | --- | --- |
/// | `registered` | `in_progress` | (`note`) |
/// | `in_progress` | `resolved` | `outcome` (`note`) |
/// | `in_progress` | `referred` | `referred_to`, `reason` (`note`) |
/// | `referred` | `in_progress` | `note`: the follow-up |
/// | `referred` | `resolved` | `note`: the follow-up, `outcome` |
///
/// A field the change does not take is refused (422 `not_allowed`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// The status to move to.
    pub status: DeskStatus,
    /// A note on the change; when leaving `referred`, the follow-up (required then).
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub note: Option<String>,
    /// The outcome: required for `resolved`, refused otherwise.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub outcome: Option<String>,
    /// To whom: required for `referred`, refused otherwise.
    #[serde(default)]
    #[schema(
        example = "镇司法所",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub referred_to: Option<String>,
    /// Why it is referred: required for `referred`, refused otherwise.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub reason: Option<String>,
}

/// The part of an entry the state machine moves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handling {
    /// Where the entry stands.
    pub status: DeskStatus,
    /// Outcome, once resolved.
    pub outcome: Option<String>,
    /// Last referral: to whom.
    pub referred_to: Option<String>,
    /// Last referral: why.
    pub referral_reason: Option<String>,
    /// What came back from the last referral.
    pub follow_up: Option<String>,
}

impl DeskEntry {
    /// The part of the entry the state machine moves.
    pub fn handling(&self) -> Handling {
        Handling {
            status: self.status,
            outcome: self.outcome.clone(),
            referred_to: self.referred_to.clone(),
            referral_reason: self.referral_reason.clone(),
            follow_up: self.follow_up.clone(),
        }
    }
}

/// A checked change: the handling after it, and the change's note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextHandling {
    /// The handling after the change.
    pub handling: Handling,
    /// The change's trimmed note (1 to 2000 characters); when leaving `referred`, the follow-up.
    pub note: Option<String>,
}

/// Whether a change takes a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Takes {
    Required,
    Optional,
    Refused,
}

/// What one allowed change takes: its note, its outcome, its referral (to whom and why).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rule {
    note: Takes,
    outcome: Takes,
    referral: Takes,
}

/// The state machine: the rule of the change `from -> to`, or `None` when it is not allowed.
fn rule(from: DeskStatus, to: DeskStatus) -> Option<Rule> {
    use DeskStatus::*;
    use Takes::*;
    let (note, outcome, referral) = match (from, to) {
        (Registered, InProgress) => (Optional, Refused, Refused),
        (InProgress, Resolved) => (Optional, Required, Refused),
        (InProgress, Referred) => (Optional, Refused, Required),
        // The referral came back: its follow-up is the note.
        (Referred, InProgress) => (Required, Refused, Refused),
        (Referred, Resolved) => (Required, Required, Refused),
        _ => return None,
    };
    Some(Rule {
        note,
        outcome,
        referral,
    })
}

/// The statuses an entry in `from` may move to.
pub fn next_statuses(from: DeskStatus) -> Vec<DeskStatus> {
    DeskStatus::ALL
        .iter()
        .copied()
        .filter(|to| rule(from, *to).is_some())
        .collect()
}

/// The 409 for a change the state machine does not allow.
pub fn invalid_status_change(from: DeskStatus, to: DeskStatus) -> ApiError {
    let allowed = next_statuses(from)
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let allowed = if allowed.is_empty() {
        "-".to_owned()
    } else {
        allowed
    };
    ApiError::conflict(
        "invalid_status_change",
        msg!(
            ("登记状态不能从 {} 变为 {}；可变为：{}。", from, to, allowed),
            (
                "An entry cannot go from {} to {}; it may go to: {}.",
                from,
                to,
                allowed
            )
        ),
    )
}

impl StatusChange {
    /// Applies the change to `current`: 409 `invalid_status_change` when the state machine
    /// does not allow it, 422 when a field it needs is missing, one it does not take is
    /// given, or a text is invalid.
    pub fn apply(&self, current: &Handling) -> Result<NextHandling, ApiError> {
        let from = current.status;
        let rule =
            rule(from, self.status).ok_or_else(|| invalid_status_change(from, self.status))?;
        let mut c = Checks::new();
        let long = |c: &mut Checks, field: &str, v: &str| c.long_text(field, v, 1, 2000);
        let note = take(&mut c, "note", self.note.as_deref(), rule.note, long);
        let outcome = take(
            &mut c,
            "outcome",
            self.outcome.as_deref(),
            rule.outcome,
            long,
        );
        let referred_to = take(
            &mut c,
            "referred_to",
            self.referred_to.as_deref(),
            rule.referral,
            |c, f, v| c.text(f, v, 1, 200),
        );
        let reason = take(
            &mut c,
            "reason",
            self.reason.as_deref(),
            rule.referral,
            long,
        );
        c.finish()?;
        let mut next = current.clone();
        next.status = self.status;
        if self.status == DeskStatus::Resolved {
            next.outcome = outcome;
        }
        if self.status == DeskStatus::Referred {
            next.referred_to = referred_to;
            next.referral_reason = reason;
        }
        if from == DeskStatus::Referred {
            next.follow_up = note.clone();
        }
        Ok(NextHandling {
            handling: next,
            note,
        })
    }
}

/// Checks a field of a change against what the change takes: a required one that is
/// missing, or a refused one that is given, is a field error; a given one is `check`ed.
fn take(
    c: &mut Checks,
    field: &str,
    value: Option<&str>,
    takes: Takes,
    check: impl FnOnce(&mut Checks, &str, &str) -> String,
) -> Option<String> {
    match takes {
        Takes::Refused => {
            c.not_allowed(field, value.is_some());
            None
        }
        Takes::Required => c.required(field, value).map(|v| check(c, field, v)),
        Takes::Optional => value.map(|v| check(c, field, v)),
    }
}

/// Who is reading the register, and so what they may see of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    role: Role,
    sub: String,
}

impl Viewer {
    /// The viewer a caller is.
    pub fn new(role: Role, sub: &str) -> Viewer {
        Viewer {
            role,
            sub: sub.to_owned(),
        }
    }

    /// Whether they see every confidential entry: the committee.
    pub fn sees_all_confidential(&self) -> bool {
        self.role == Role::Committee
    }

    /// Whose confidential entries they see as their author: a staff member, their own.
    /// Nobody else sees one (county never).
    pub fn confidential_author(&self) -> Option<&str> {
        (self.role == Role::Staff).then_some(self.sub.as_str())
    }

    /// The entry as they may see it: the visitor's phone in full for staff and the
    /// committee, masked for anyone else.
    pub fn present(&self, mut entry: DeskEntry) -> DeskEntry {
        if !matches!(self.role, Role::Staff | Role::Committee) {
            entry.visitor_phone = entry.visitor_phone.map(|p| Phone::from_trusted(p).masked());
        }
        entry
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn change(status: DeskStatus) -> StatusChange {
        StatusChange {
            status,
            note: None,
            outcome: None,
            referred_to: None,
            reason: None,
        }
    }

    fn at(status: DeskStatus) -> Handling {
        Handling {
            status,
            outcome: None,
            referred_to: None,
            referral_reason: None,
            follow_up: None,
        }
    }

    fn fields(e: ApiError) -> Vec<(String, &'static str)> {
        match e {
            ApiError::Validation(errors) => errors.into_iter().map(|e| (e.field, e.code)).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn the_state_machine_allows_exactly_its_five_changes() {
        use DeskStatus::*;
        let mut allowed = Vec::new();
        for from in DeskStatus::ALL {
            for to in DeskStatus::ALL {
                if rule(*from, *to).is_some() {
                    allowed.push((*from, *to));
                }
            }
        }
        assert_eq!(
            allowed,
            vec![
                (Registered, InProgress),
                (InProgress, Resolved),
                (InProgress, Referred),
                (Referred, InProgress),
                (Referred, Resolved),
            ]
        );
        assert!(next_statuses(Resolved).is_empty(), "resolved is final");
    }

    #[test]
    fn a_refused_change_is_a_409_naming_what_is_allowed() {
        let e = change(DeskStatus::Resolved)
            .apply(&at(DeskStatus::Registered))
            .unwrap_err();
        assert_eq!(e.code(), "invalid_status_change");
        let p = e.problem(crate::error::Lang::En);
        assert!(p.detail.contains("in_progress"), "{}", p.detail);
        let e = change(DeskStatus::InProgress)
            .apply(&at(DeskStatus::Resolved))
            .unwrap_err();
        assert_eq!(e.code(), "invalid_status_change");
    }

    #[test]
    fn resolving_needs_an_outcome_and_keeps_it() {
        let mut c = change(DeskStatus::Resolved);
        assert_eq!(
            fields(c.apply(&at(DeskStatus::InProgress)).unwrap_err()),
            vec![("outcome".into(), "required")]
        );
        c.outcome = Some("  已办结  ".into());
        c.note = Some("电话告知".into());
        let next = c.apply(&at(DeskStatus::InProgress)).unwrap();
        assert_eq!(next.handling.status, DeskStatus::Resolved);
        assert_eq!(next.handling.outcome.as_deref(), Some("已办结"));
        assert_eq!(next.note.as_deref(), Some("电话告知"));
        assert_eq!(next.handling.follow_up, None);
    }

    #[test]
    fn referring_needs_whom_and_why_and_refuses_an_outcome() {
        let mut c = change(DeskStatus::Referred);
        c.outcome = Some("x".into());
        assert_eq!(
            fields(c.apply(&at(DeskStatus::InProgress)).unwrap_err()),
            vec![
                ("outcome".into(), "not_allowed"),
                ("referred_to".into(), "required"),
                ("reason".into(), "required"),
            ]
        );
        c.outcome = None;
        c.referred_to = Some("镇司法所".into());
        c.reason = Some("涉及法律援助".into());
        let next = c.apply(&at(DeskStatus::InProgress)).unwrap();
        assert_eq!(next.handling.status, DeskStatus::Referred);
        assert_eq!(next.handling.referred_to.as_deref(), Some("镇司法所"));
        assert_eq!(
            next.handling.referral_reason.as_deref(),
            Some("涉及法律援助")
        );
    }

    #[test]
    fn a_referral_comes_back_with_its_follow_up_and_keeps_the_referral() {
        let referred = Handling {
            status: DeskStatus::Referred,
            referred_to: Some("镇司法所".into()),
            referral_reason: Some("法律援助".into()),
            ..at(DeskStatus::Referred)
        };
        let back = change(DeskStatus::InProgress);
        assert_eq!(
            fields(back.apply(&referred).unwrap_err()),
            vec![("note".into(), "required")]
        );
        let back = StatusChange {
            note: Some("司法所已受理".into()),
            ..back
        };
        let next = back.apply(&referred).unwrap();
        assert_eq!(next.handling.status, DeskStatus::InProgress);
        assert_eq!(next.handling.follow_up.as_deref(), Some("司法所已受理"));
        assert_eq!(next.handling.referred_to.as_deref(), Some("镇司法所"));

        let resolve = StatusChange {
            outcome: Some("已解决".into()),
            note: Some("司法所办结".into()),
            ..change(DeskStatus::Resolved)
        };
        let next = resolve.apply(&referred).unwrap();
        assert_eq!(next.handling.status, DeskStatus::Resolved);
        assert_eq!(next.handling.follow_up.as_deref(), Some("司法所办结"));
        assert_eq!(next.handling.outcome.as_deref(), Some("已解决"));
    }

    #[test]
    fn starting_work_takes_only_a_note() {
        let mut c = change(DeskStatus::InProgress);
        assert!(c.apply(&at(DeskStatus::Registered)).is_ok());
        c.referred_to = Some("x".into());
        c.note = Some(" ".into());
        assert_eq!(
            fields(c.apply(&at(DeskStatus::Registered)).unwrap_err()),
            vec![
                ("note".into(), "required"),
                ("referred_to".into(), "not_allowed")
            ]
        );
    }

    fn entry() -> NewDeskEntry {
        NewDeskEntry {
            visitor_name: " 王芳 ".into(),
            member_id: None,
            visitor_phone: Some("025-84561234".into()),
            jurisdiction: Some("江宁区".into()),
            category: DeskCategory::Consultation,
            request: "第一行\n第二行\t完".into(),
            received_at: None,
        }
    }

    #[test]
    fn a_registration_is_checked_field_by_field() {
        let now = Utc::now();
        let valid = entry().validate(now).unwrap();
        assert_eq!(valid.visitor_name, "王芳");
        assert_eq!(valid.visitor_phone.unwrap().as_str(), "025-84561234");
        assert_eq!(valid.request, "第一行\n第二行\t完");
        let bad = NewDeskEntry {
            visitor_name: "".into(),
            visitor_phone: Some("12345".into()),
            jurisdiction: Some("a\u{7}".into()),
            request: "  \n ".into(),
            received_at: Some(now + Duration::minutes(5)),
            ..entry()
        };
        assert_eq!(
            fields(bad.validate(now).unwrap_err()),
            vec![
                ("visitor_name".into(), "required"),
                ("visitor_phone".into(), "invalid_phone"),
                ("jurisdiction".into(), "control_characters"),
                ("request".into(), "required"),
                ("received_at".into(), "in_the_future"),
            ]
        );
        let past = NewDeskEntry {
            received_at: Some(now - Duration::days(3)),
            ..entry()
        };
        assert!(past.validate(now).is_ok());
        let ancient = NewDeskEntry {
            received_at: "1999-12-31T15:59:59Z".parse().ok(),
            ..entry()
        };
        assert_eq!(
            fields(ancient.validate(now).unwrap_err()),
            vec![("received_at".into(), "out_of_range")]
        );
    }

    #[test]
    fn long_texts_take_line_breaks_but_no_other_control_characters() {
        let mut c = Checks::new();
        assert_eq!(c.long_text("a", " x\r\ny ", 1, 10), "x\r\ny");
        c.long_text("b", "x\u{1b}y", 1, 10);
        c.long_text("c", &"长".repeat(11), 1, 10);
        assert_eq!(
            fields(c.finish().unwrap_err()),
            vec![("b".into(), "control_characters"), ("c".into(), "too_long")]
        );
    }

    #[test]
    fn the_schemas_state_the_patterns_the_checks_apply() {
        let schema = |s: utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>| {
            serde_json::to_value(s).unwrap()
        };
        let new = schema(<NewDeskEntry as utoipa::PartialSchema>::schema());
        let change = schema(<StatusChange as utoipa::PartialSchema>::schema());
        let pattern = |v: &serde_json::Value, field: &str| {
            v["properties"][field]["pattern"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(pattern(&new, "visitor_name"), crate::validate::TEXT_PATTERN);
        assert_eq!(pattern(&new, "jurisdiction"), crate::validate::TEXT_PATTERN);
        assert_eq!(
            pattern(&new, "visitor_phone"),
            crate::members::domain::PHONE_PATTERN
        );
        assert_eq!(pattern(&new, "request"), LONG_TEXT_PATTERN);
        assert_eq!(
            pattern(&change, "referred_to"),
            crate::validate::TEXT_PATTERN
        );
        for field in ["note", "outcome", "reason"] {
            assert_eq!(pattern(&change, field), LONG_TEXT_PATTERN);
        }
    }

    #[test]
    fn counselling_is_seen_by_its_author_and_the_committee_only() {
        let staff = Viewer::new(Role::Staff, "li");
        let committee = Viewer::new(Role::Committee, "secretary");
        let county = Viewer::new(Role::County, "li");
        assert_eq!(staff.confidential_author(), Some("li"));
        assert!(!staff.sees_all_confidential());
        assert!(committee.sees_all_confidential());
        assert_eq!(
            county.confidential_author(),
            None,
            "county never, whatever its sub"
        );
        assert!(!county.sees_all_confidential());
        for role in [Role::Member, Role::Admin] {
            let v = Viewer::new(role, "li");
            assert!(!v.sees_all_confidential() && v.confidential_author().is_none());
        }
    }

    #[test]
    fn the_visitor_phone_is_masked_for_county() {
        let e = DeskEntry {
            id: Uuid::nil(),
            town_id: Uuid::nil(),
            visitor_name: "王芳".into(),
            member_id: None,
            visitor_phone: Some("13812345678".into()),
            jurisdiction: None,
            category: DeskCategory::Other,
            request: "x".into(),
            received_by: "li".into(),
            received_at: Utc::now(),
            confidential: false,
            status: DeskStatus::Registered,
            outcome: None,
            referred_to: None,
            referral_reason: None,
            follow_up: None,
            status_changed_by: "li".into(),
            status_changed_at: Utc::now(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
            version: 1,
        };
        let shown = |role| {
            Viewer::new(role, "x")
                .present(e.clone())
                .visitor_phone
                .unwrap()
        };
        assert_eq!(shown(Role::Staff), "13812345678");
        assert_eq!(shown(Role::Committee), "13812345678");
        assert_eq!(shown(Role::County), "138****5678");
    }
}
