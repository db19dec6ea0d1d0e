//! Every named constraint of the schema, and what its violation tells the client.
//!
//! The database enforces what it can (unique keys, checks, foreign keys, triggers that
//! raise with a constraint name); this table is the one place that says what each of
//! those refusals means to a client. A constraint a client can trip with a
//! valid-looking request answers with its [`Known`] error; the rest are [`Guarded`]:
//! the request's own checks refuse such input first, or the service's code satisfies
//! them by construction (generated ids, the town's own foreign keys), so tripping one
//! is a bug and answers 500. A test reads `migrations/*.sql` and fails on a constraint
//! without an entry here, or an entry without a constraint.
//!
//! The errors a rule checked in code shares with a constraint (an open transfer, a
//! concluded case) are the constants below, so the two answers cannot drift apart.
//! This module depends on nothing else in the crate.
//!
//! [`Guarded`]: Meaning::Guarded

/// A client error fixed at compile time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    /// 409 Conflict with a stable code.
    Conflict {
        /// The stable `code` the 409 problem answer carries.
        code: &'static str,
        /// The detail in Chinese.
        zh: &'static str,
        /// The detail in English.
        en: &'static str,
    },
    /// 422 `validation_failed` naming one field.
    Invalid(KnownField),
    /// 404 Not Found: the referenced resource is not there (for this caller).
    NotFound,
    /// 403 Forbidden: the caller may not do this.
    Forbidden,
}

/// One invalid field, fixed at compile time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownField {
    /// The field's name in the request.
    pub field: &'static str,
    /// The field error's stable code.
    pub code: &'static str,
    /// The message in Chinese.
    pub zh: &'static str,
    /// The message in English.
    pub en: &'static str,
}

impl Known {
    const fn conflict(code: &'static str, zh: &'static str, en: &'static str) -> Known {
        Known::Conflict { code, zh, en }
    }
}

impl KnownField {
    const fn new(
        field: &'static str,
        code: &'static str,
        zh: &'static str,
        en: &'static str,
    ) -> KnownField {
        KnownField {
            field,
            code,
            zh,
            en,
        }
    }
}

/// What the violation of one constraint means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meaning {
    /// A client can trip it with a well-formed request: this is the answer.
    Client(Known),
    /// The service's checks or its own code keep it from being tripped: a violation is a
    /// bug, answered as a 500 and logged with its cause.
    Guarded,
}

/// What the violation of `constraint` means; `None` for a name the schema does not have.
pub fn meaning(constraint: &str) -> Option<Meaning> {
    CONSTRAINTS
        .iter()
        .find(|(name, _)| *name == constraint)
        .map(|(_, meaning)| *meaning)
}

/// 409 `town_code_taken`.
pub const TOWN_CODE_TAKEN: Known = Known::conflict(
    "town_code_taken",
    "该镇代码已被使用。",
    "A town with this code exists already.",
);

/// 409 `branch_name_taken`.
pub const BRANCH_NAME_TAKEN: Known = Known::conflict(
    "branch_name_taken",
    "本镇已有同名支部。",
    "This town has a branch of that name already.",
);

/// 409 `center_branch_exists`.
pub const CENTER_BRANCH_EXISTS: Known = Known::conflict(
    "center_branch_exists",
    "每个镇只能有一个服务转化中心支部。",
    "A town has exactly one center branch.",
);

/// 409 `national_id_taken`.
pub const NATIONAL_ID_TAKEN: Known = Known::conflict(
    "national_id_taken",
    "本镇已有该身份证号的党员。",
    "A member of this town has this national ID number already.",
);

/// 409 `phone_taken`.
pub const PHONE_TAKEN: Known = Known::conflict(
    "phone_taken",
    "本镇已有使用该电话号码的党员。",
    "A member of this town has this phone number already.",
);

/// 422 `unknown_branch` on `branch_id`.
pub const MEMBER_UNKNOWN_BRANCH: KnownField = KnownField::new(
    "branch_id",
    "unknown_branch",
    "本镇没有该支部。",
    "This town has no such branch.",
);

/// 409 `branch_changes_by_transfer`.
pub const BRANCH_CHANGES_BY_TRANSFER: Known = Known::conflict(
    "branch_changes_by_transfer",
    "党员所在支部只能通过组织关系转接变更。",
    "A member's branch changes only through a transfer.",
);

/// 409 `open_transfer_exists`.
pub const OPEN_TRANSFER_EXISTS: Known = Known::conflict(
    "open_transfer_exists",
    "该党员已有一封未回执的介绍信，回执、退回或撤销之前不能再转接。",
    "This member has an open letter: no other transfer until it is received, rejected or revoked.",
);

/// 409 `letter_serial_taken`.
pub const LETTER_SERIAL_TAKEN: Known = Known::conflict(
    "letter_serial_taken",
    "本镇已有该编号的介绍信。",
    "This town has a letter with this serial number already.",
);

/// 409 `member_not_active`.
pub const TRANSFER_MEMBER_NOT_ACTIVE: Known = Known::conflict(
    "member_not_active",
    "只有正常在册的党员才能转接组织关系。",
    "Only an active member's relation can be transferred.",
);

/// 409 `member_moved`.
pub const MEMBER_MOVED: Known = Known::conflict(
    "member_moved",
    "党员所在支部已变更，请重新读取后再试。",
    "The member's branch changed meanwhile: read it again and retry.",
);

/// 409 `transfer_not_open`.
pub const TRANSFER_NOT_OPEN: Known = Known::conflict(
    "transfer_not_open",
    "只有已开具、尚未回执的介绍信才能回执、退回或撤销。",
    "Only an issued letter without a receipt can be received, rejected or revoked.",
);

/// 422 `same_branch` on `to_branch_id`.
pub const SAME_BRANCH: KnownField = KnownField::new(
    "to_branch_id",
    "same_branch",
    "党员已在该支部，无需转接。",
    "The member is in this branch already.",
);

/// 422 `unknown_branch` on `to_branch_id`.
pub const TRANSFER_UNKNOWN_BRANCH: KnownField = KnownField::new(
    "to_branch_id",
    "unknown_branch",
    "本镇没有该支部。",
    "This town has no such branch.",
);

/// 409 `certificate_number_taken`.
pub const CERTIFICATE_NUMBER_TAKEN: Known = Known::conflict(
    "certificate_number_taken",
    "本镇已有该编号的流动党员活动证。",
    "This town has a certificate with this number already.",
);

/// 409 `member_has_valid_certificate`.
pub const MEMBER_HAS_VALID_CERTIFICATE: Known = Known::conflict(
    "member_has_valid_certificate",
    "该党员已持有有效期重叠的流动党员活动证；须待其过期、收回或撤销后才能再发。",
    "This member holds a certificate valid over these dates: a new one can be issued once it has expired, been returned or been revoked.",
);

/// 409 `certificate_not_valid`.
pub const CERTIFICATE_NOT_VALID: Known = Known::conflict(
    "certificate_not_valid",
    "该流动党员活动证已收回或撤销，不能再更改。",
    "This certificate was returned or revoked and is final.",
);

/// 422 `unknown_member` on `member_id`.
pub const DESK_UNKNOWN_MEMBER: KnownField = KnownField::new(
    "member_id",
    "unknown_member",
    "本镇没有该党员；非本镇党员请只登记姓名和来处。",
    "No member of this town has this id; register anyone else by name and jurisdiction.",
);

/// 422 `in_the_future` on `received_at`.
pub const RECEIVED_IN_THE_FUTURE: KnownField = KnownField::new(
    "received_at",
    "in_the_future",
    "来访时间不能晚于当前时间。",
    "received_at cannot be in the future.",
);

/// 409 `invalid_status_change`.
pub const INVALID_STATUS_CHANGE: Known = Known::conflict(
    "invalid_status_change",
    "登记状态不允许这样变更。",
    "The register does not allow this status change.",
);

/// 409 `case_open`.
pub const CASE_OPEN: Known = Known::conflict(
    "case_open",
    "该党员已有未结的转化档案。",
    "This member has an open case already.",
);

/// 409 `already_scored`.
pub const ALREADY_SCORED: Known = Known::conflict(
    "already_scored",
    "该事项已经记过分，一个来源只能记分一次。",
    "This has been scored already: a source scores at most once.",
);

/// 409 `already_reversed`.
pub const ALREADY_REVERSED: Known = Known::conflict(
    "already_reversed",
    "该记分已被冲销过。",
    "This entry has been reversed already.",
);

/// 409 `case_concluded`.
pub const CASE_CONCLUDED: Known = Known::conflict(
    "case_concluded",
    "该转化档案已结案，不能再记分。",
    "The case is concluded: no more entries can be written.",
);

/// 409 `outcome_recorded`.
pub const OUTCOME_RECORDED: Known = Known::conflict(
    "outcome_recorded",
    "该任务的完成情况已经记录，不能再次记录；如有错误，请由镇党委冲销该记分。",
    "This task's outcome is recorded already; a wrong one is undone by a committee reversal.",
);

/// 409 `objection_exists`.
pub const OBJECTION_EXISTS: Known = Known::conflict(
    "objection_exists",
    "已对这条记分提出过异议，每条记分只能提一次。",
    "This entry has an objection already: one objection per entry.",
);

/// 409 `objection_decided`.
pub const OBJECTION_DECIDED: Known = Known::conflict(
    "objection_decided",
    "该异议已作出决定。",
    "The committee has decided this objection already.",
);

/// 409 `roll_recorded`.
pub const ROLL_RECORDED: Known = Known::conflict(
    "roll_recorded",
    "本次活动的考勤已经记录，不能更改；记分有误请由镇党委冲销更正。",
    "This activity's roll is recorded and cannot change; wrong points are corrected by a committee reversal.",
);

/// 422 `not_required` on `items`.
pub const NOT_REQUIRED: KnownField = KnownField::new(
    "items",
    "not_required",
    "考勤中有不在应到名单中的党员。",
    "The roll names a member who was not required to attend.",
);

/// 422 `unknown_member` on `other_member_ids`.
pub const ATTENDEE_UNKNOWN_MEMBER: KnownField = KnownField::new(
    "other_member_ids",
    "unknown_member",
    "本镇没有该党员。",
    "This town has no such member.",
);

/// 409 `group_name_taken`.
pub const GROUP_NAME_TAKEN: Known = Known::conflict(
    "group_name_taken",
    "本支部已有同名的党小组。",
    "The branch has a party group of that name already.",
);

/// 409 `member_in_other_group`.
pub const MEMBER_IN_OTHER_GROUP: Known = Known::conflict(
    "member_in_other_group",
    "有党员已在另一个党小组中；请先将其移出。",
    "A member is in another party group already; take them out of it first.",
);

/// 409 `evaluation_open`.
pub const EVALUATION_OPEN: Known = Known::conflict(
    "evaluation_open",
    "该档案已有一次未结束的民主评议。",
    "The case has an open evaluation already.",
);

/// 422 `duplicate_subject` on `panel`.
pub const PANEL_DUPLICATE_SUBJECT: KnownField = KnownField::new(
    "panel",
    "duplicate_subject",
    "同一评议人在小组中出现了两次。",
    "An evaluator is on the panel twice.",
);

/// 422 `duplicate_member` on `panel`.
pub const PANEL_DUPLICATE_MEMBER: KnownField = KnownField::new(
    "panel",
    "duplicate_member",
    "同一党员在小组中出现了两次。",
    "A member is on the panel twice.",
);

/// 422 `member_under_evaluation` on `panel`.
pub const PANEL_MEMBER_UNDER_EVALUATION: KnownField = KnownField::new(
    "panel",
    "member_under_evaluation",
    "被评议的党员不能参加对自己的评议。",
    "The member under evaluation cannot sit on the panel.",
);

/// 422 `unknown_member` on `panel`.
pub const PANEL_UNKNOWN_MEMBER: KnownField = KnownField::new(
    "panel",
    "unknown_member",
    "本镇没有该党员。",
    "This town has no such member.",
);

/// 409 `already_voted`.
pub const ALREADY_VOTED: Known = Known::conflict(
    "already_voted",
    "您已在本次民主评议中投过票，每人只能投一票。",
    "You have voted in this evaluation already: one vote each.",
);

/// 409 `evaluation_closed`.
pub const EVALUATION_CLOSED: Known = Known::conflict(
    "evaluation_closed",
    "该民主评议已结束，结果为最终结果。",
    "The evaluation is closed; its result is final.",
);

/// 409 `cohort_exists`.
pub const COHORT_EXISTS: Known = Known::conflict(
    "cohort_exists",
    "本年度的培养学员班已建立。",
    "This year's cohort exists already.",
);

/// 409 `cohort_full`.
pub const COHORT_FULL: Known = Known::conflict(
    "cohort_full",
    "本期学员已达上限。",
    "The cohort holds the most trainees it can.",
);

/// 409 `cohort_too_small`.
pub const COHORT_TOO_SMALL: Known = Known::conflict(
    "cohort_too_small",
    "学员人数不足下限，不能确认。",
    "The cohort has fewer trainees than the minimum and cannot be confirmed.",
);

/// 409 `cohort_confirmed`.
pub const COHORT_CONFIRMED: Known = Known::conflict(
    "cohort_confirmed",
    "本期学员名单已确认，不能再增减学员。",
    "The cohort is confirmed: trainees can no longer be added or removed.",
);

/// 409 `already_a_trainee`.
pub const ALREADY_A_TRAINEE: Known = Known::conflict(
    "already_a_trainee",
    "该党员已是本年度的培养学员。",
    "The member is a trainee of this year's cohort already.",
);

/// 409 `placement_overlap`.
pub const PLACEMENT_OVERLAP: Known = Known::conflict(
    "placement_overlap",
    "该学员在这段时间已有其他培养安排。",
    "The trainee has another placement in these dates.",
);

/// 409 `trainee_has_placements`.
pub const TRAINEE_HAS_PLACEMENTS: Known = Known::conflict(
    "trainee_has_placements",
    "该学员已有培养安排，不能移出。",
    "The trainee has placements and cannot be removed.",
);

/// 409 `mentee_has_mentor`.
pub const MENTEE_HAS_MENTOR: Known = Known::conflict(
    "mentee_has_mentor",
    "该结对对象已有导师。",
    "The mentee has an open mentorship already.",
);

/// 409 `mentor_full`.
pub const MENTOR_FULL: Known = Known::conflict(
    "mentor_full",
    "该导师结对人数已达上限。",
    "The mentor has as many open mentorships as the policy allows.",
);

/// 409 `mentorship_ended`.
pub const MENTORSHIP_ENDED: Known = Known::conflict(
    "mentorship_ended",
    "该结对已结束。",
    "The mentorship has ended.",
);

/// 409 `application_open`.
pub const APPLICATION_OPEN: Known = Known::conflict(
    "application_open",
    "此人在本镇已有一份正在办理的入党申请。",
    "This person has an application on its way in the town already.",
);

/// 422 on `time_zone`: an IANA name this service knows, but its database does not.
pub const TIME_ZONE_UNKNOWN: KnownField = KnownField::new(
    "time_zone",
    "unknown_time_zone",
    "数据库不认识该时区，请改用另一个 IANA 时区名（如 Asia/Shanghai）。",
    "The database does not know this time zone; use another IANA name, such as Asia/Shanghai.",
);

/// Every constraint the migrations create, in the order they create them.
pub const CONSTRAINTS: &[(&str, Meaning)] = &[
    // migrations/*_foundation.sql
    ("towns_pkey", Meaning::Guarded),
    ("towns_code_key", Meaning::Client(TOWN_CODE_TAKEN)),
    ("towns_code_format", Meaning::Guarded),
    ("towns_name_length", Meaning::Guarded),
    ("towns_county_code_format", Meaning::Guarded),
    ("branches_town_id_fkey", Meaning::Guarded),
    ("branches_pkey", Meaning::Guarded),
    ("branches_id_key", Meaning::Guarded),
    ("branches_name_key", Meaning::Client(BRANCH_NAME_TAKEN)),
    ("branches_kind_valid", Meaning::Guarded),
    ("branches_name_length", Meaning::Guarded),
    ("branches_one_center", Meaning::Client(CENTER_BRANCH_EXISTS)),
    ("towns_have_center_branch", Meaning::Guarded),
    ("branches_center_is_permanent", Meaning::Guarded),
    ("audit_log_pkey", Meaning::Guarded),
    ("audit_log_town_id_fkey", Meaning::Guarded),
    ("idempotency_keys_pkey", Meaning::Guarded),
    // migrations/*_members_transfers.sql
    ("members_town_id_fkey", Meaning::Guarded),
    ("members_pkey", Meaning::Guarded),
    ("members_id_key", Meaning::Guarded),
    (
        "members_national_id_key",
        Meaning::Client(NATIONAL_ID_TAKEN),
    ),
    ("members_phone_key", Meaning::Client(PHONE_TAKEN)),
    (
        "members_branch_fk",
        Meaning::Client(Known::Invalid(MEMBER_UNKNOWN_BRANCH)),
    ),
    ("members_status_valid", Meaning::Guarded),
    ("members_national_id_format", Meaning::Guarded),
    ("members_name_length", Meaning::Guarded),
    ("members_branch_when_active", Meaning::Guarded),
    ("transfers_town_id_fkey", Meaning::Guarded),
    ("transfers_pkey", Meaning::Guarded),
    ("transfers_id_key", Meaning::Guarded),
    ("transfers_member_fk", Meaning::Client(Known::NotFound)),
    ("transfers_from_fk", Meaning::Guarded),
    (
        "transfers_to_fk",
        Meaning::Client(Known::Invalid(TRANSFER_UNKNOWN_BRANCH)),
    ),
    ("transfers_kind_valid", Meaning::Guarded),
    ("transfers_status_valid", Meaning::Guarded),
    (
        "transfers_not_to_same_branch",
        Meaning::Client(Known::Invalid(SAME_BRANCH)),
    ),
    ("transfers_kind_shape", Meaning::Guarded),
    ("transfers_rejection_has_reason", Meaning::Guarded),
    ("transfers_revocation_has_reason", Meaning::Guarded),
    ("transfers_receipt_when_received", Meaning::Guarded),
    (
        "transfers_letter_serial_key",
        Meaning::Client(LETTER_SERIAL_TAKEN),
    ),
    ("transfers_one_open", Meaning::Client(OPEN_TRANSFER_EXISTS)),
    (
        "members_branch_only_by_transfer",
        Meaning::Client(BRANCH_CHANGES_BY_TRANSFER),
    ),
    ("transfers_final", Meaning::Client(TRANSFER_NOT_OPEN)),
    // migrations/*_certificates.sql
    ("certificates_town_id_fkey", Meaning::Guarded),
    ("certificates_pkey", Meaning::Guarded),
    ("certificates_id_key", Meaning::Guarded),
    (
        "certificates_number_key",
        Meaning::Client(CERTIFICATE_NUMBER_TAKEN),
    ),
    ("certificates_member_fk", Meaning::Guarded),
    ("certificates_status_valid", Meaning::Guarded),
    ("certificates_number_length", Meaning::Guarded),
    ("certificates_destination_length", Meaning::Guarded),
    ("certificates_purpose_length", Meaning::Guarded),
    ("certificates_initial_validity", Meaning::Guarded),
    ("certificates_validity_extends", Meaning::Guarded),
    ("certificates_returned_shape", Meaning::Guarded),
    ("certificates_revoked_shape", Meaning::Guarded),
    ("certificates_closed_by", Meaning::Guarded),
    ("certificates_end_dates", Meaning::Guarded),
    (
        "certificates_one_valid",
        Meaning::Client(MEMBER_HAS_VALID_CERTIFICATE),
    ),
    ("certificates_final", Meaning::Client(CERTIFICATE_NOT_VALID)),
    ("certificate_reviews_pkey", Meaning::Guarded),
    ("certificate_reviews_id_key", Meaning::Guarded),
    ("certificate_reviews_certificate_fk", Meaning::Guarded),
    ("certificate_reviews_REFERENCES_fkey", Meaning::Guarded),
    ("certificate_reviews_note_length", Meaning::Guarded),
    ("certificate_reviews_extension", Meaning::Guarded),
    // migrations/*_desk.sql
    ("desk_entries_town_id_fkey", Meaning::Guarded),
    ("desk_entries_pkey", Meaning::Guarded),
    ("desk_entries_id_key", Meaning::Guarded),
    (
        "desk_entries_member_fk",
        Meaning::Client(Known::Invalid(DESK_UNKNOWN_MEMBER)),
    ),
    ("desk_entries_category_valid", Meaning::Guarded),
    ("desk_entries_status_valid", Meaning::Guarded),
    ("desk_entries_visitor_name_length", Meaning::Guarded),
    ("desk_entries_visitor_phone_format", Meaning::Guarded),
    ("desk_entries_jurisdiction_length", Meaning::Guarded),
    ("desk_entries_request_length", Meaning::Guarded),
    (
        "desk_entries_received_not_future",
        Meaning::Client(Known::Invalid(RECEIVED_IN_THE_FUTURE)),
    ),
    ("desk_entries_outcome_when_resolved", Meaning::Guarded),
    ("desk_entries_referral_when_referred", Meaning::Guarded),
    ("desk_entries_handling_length", Meaning::Guarded),
    ("desk_status_events_pkey", Meaning::Guarded),
    ("desk_status_events_entry_fk", Meaning::Guarded),
    ("desk_status_events_status_valid", Meaning::Guarded),
    (
        "desk_entries_status_machine",
        Meaning::Client(INVALID_STATUS_CHANGE),
    ),
    // migrations/*_transfers_letters.sql
    ("transfers_closed_has_who", Meaning::Guarded),
    (
        "transfers_letter_open",
        Meaning::Client(OPEN_TRANSFER_EXISTS),
    ),
    (
        "transfers_member_state",
        Meaning::Client(TRANSFER_MEMBER_NOT_ACTIVE),
    ),
    (
        "transfers_from_current_branch",
        Meaning::Client(MEMBER_MOVED),
    ),
    // migrations/*_policy_cases_ledger.sql
    ("policies_town_id_fkey", Meaning::Guarded),
    ("policies_pkey", Meaning::Guarded),
    ("policies_version_positive", Meaning::Guarded),
    ("policies_points_sane", Meaning::Guarded),
    ("policies_evaluation_sane", Meaning::Guarded),
    ("policies_periods_sane", Meaning::Guarded),
    ("policies_cohort_sane", Meaning::Guarded),
    // migrations/*_meeting_frequencies.sql (the change's own checks refuse first)
    ("policies_meetings_sane", Meaning::Guarded),
    ("towns_have_policy", Meaning::Guarded),
    ("cases_town_id_fkey", Meaning::Guarded),
    ("cases_pkey", Meaning::Guarded),
    ("cases_id_key", Meaning::Guarded),
    ("cases_member_fk", Meaning::Guarded),
    ("cases_original_branch_fk", Meaning::Guarded),
    ("cases_intake_fk", Meaning::Guarded),
    ("cases_policy_fk", Meaning::Guarded),
    ("cases_status_valid", Meaning::Guarded),
    ("cases_conclusion_valid", Meaning::Guarded),
    ("cases_one_open_per_member", Meaning::Client(CASE_OPEN)),
    ("ledger_entries_town_id_fkey", Meaning::Guarded),
    ("ledger_entries_pkey", Meaning::Guarded),
    ("ledger_entries_id_key", Meaning::Guarded),
    ("ledger_entries_case_fk", Meaning::Guarded),
    ("ledger_entries_policy_fk", Meaning::Guarded),
    ("ledger_entries_reverses_fk", Meaning::Guarded),
    ("ledger_entries_kind_valid", Meaning::Guarded),
    ("ledger_entries_nonzero", Meaning::Guarded),
    ("ledger_entries_source_shape", Meaning::Guarded),
    ("ledger_entries_reason_required", Meaning::Guarded),
    ("ledger_entries_reversal_shape", Meaning::Guarded),
    ("ledger_entries_seq_key", Meaning::Guarded),
    (
        "ledger_entries_one_per_source",
        Meaning::Client(ALREADY_SCORED),
    ),
    (
        "ledger_entries_reversed_once",
        Meaning::Client(ALREADY_REVERSED),
    ),
    ("ledger_entries_open_case", Meaning::Client(CASE_CONCLUDED)),
    ("cases_score_matches_ledger", Meaning::Guarded),
    ("committee_matters_town_id_fkey", Meaning::Guarded),
    ("committee_matters_pkey", Meaning::Guarded),
    ("committee_matters_id_key", Meaning::Guarded),
    ("committee_matters_case_fk", Meaning::Guarded),
    ("committee_matters_entry_fk", Meaning::Guarded),
    ("committee_matters_disposition_valid", Meaning::Guarded),
    ("committee_matters_decided_shape", Meaning::Guarded),
    ("committee_matters_one_per_entry", Meaning::Guarded),
    // migrations/*_tasks_objections.sql
    ("tasks_town_id_fkey", Meaning::Guarded),
    ("tasks_pkey", Meaning::Guarded),
    ("tasks_id_key", Meaning::Guarded),
    ("tasks_case_fk", Meaning::Guarded),
    ("tasks_outcome_entry_fk", Meaning::Guarded),
    ("tasks_outcome_entry_key", Meaning::Guarded),
    ("tasks_outcome_valid", Meaning::Guarded),
    ("tasks_outcome_shape", Meaning::Guarded),
    ("tasks_assigned_role_valid", Meaning::Guarded),
    ("tasks_text_length", Meaning::Guarded),
    ("tasks_outcome_once", Meaning::Client(OUTCOME_RECORDED)),
    ("tasks_open_case", Meaning::Client(CASE_CONCLUDED)),
    ("tasks_identity_fixed", Meaning::Guarded),
    ("tasks_outcome_entry_matches", Meaning::Guarded),
    ("objections_town_id_fkey", Meaning::Guarded),
    ("objections_pkey", Meaning::Guarded),
    ("objections_id_key", Meaning::Guarded),
    ("objections_case_fk", Meaning::Guarded),
    ("objections_entry_fk", Meaning::Guarded),
    ("objections_member_fk", Meaning::Guarded),
    ("objections_reversal_fk", Meaning::Guarded),
    (
        "objections_one_per_entry",
        Meaning::Client(OBJECTION_EXISTS),
    ),
    ("objections_status_valid", Meaning::Guarded),
    ("objections_decided_shape", Meaning::Guarded),
    ("objections_text_length", Meaning::Guarded),
    (
        "objections_decided_once",
        Meaning::Client(OBJECTION_DECIDED),
    ),
    ("objections_own_entry", Meaning::Guarded),
    ("objections_identity_fixed", Meaning::Guarded),
    ("objections_reversal_matches", Meaning::Guarded),
    // migrations/*_activities.sql
    ("activities_town_id_fkey", Meaning::Guarded),
    ("activities_pkey", Meaning::Guarded),
    ("activities_id_key", Meaning::Guarded),
    ("activities_kind_valid", Meaning::Guarded),
    ("activities_title_length", Meaning::Guarded),
    ("activities_place_length", Meaning::Guarded),
    ("activities_roll_shape", Meaning::Guarded),
    ("activity_attendees_pkey", Meaning::Guarded),
    ("activity_attendees_activity_fk", Meaning::Guarded),
    (
        "activity_attendees_member_fk",
        Meaning::Client(Known::Invalid(ATTENDEE_UNKNOWN_MEMBER)),
    ),
    ("activity_attendees_case_fk", Meaning::Guarded),
    ("activity_attendees_required_as_valid", Meaning::Guarded),
    ("activity_attendees_case_shape", Meaning::Guarded),
    ("attendance_records_pkey", Meaning::Guarded),
    ("attendance_records_id_key", Meaning::Guarded),
    (
        "attendance_records_one_per_member",
        Meaning::Client(ROLL_RECORDED),
    ),
    (
        "attendance_records_required_fk",
        Meaning::Client(Known::Invalid(NOT_REQUIRED)),
    ),
    ("attendance_records_REFERENCES_fkey", Meaning::Guarded),
    ("attendance_records_status_valid", Meaning::Guarded),
    ("attendance_records_excuse_shape", Meaning::Guarded),
    ("attendance_records_unscored_valid", Meaning::Guarded),
    ("attendance_records_excuse_length", Meaning::Guarded),
    // migrations/*_evaluations.sql
    ("evaluations_town_id_fkey", Meaning::Guarded),
    ("evaluations_pkey", Meaning::Guarded),
    ("evaluations_id_key", Meaning::Guarded),
    ("evaluations_case_fk", Meaning::Guarded),
    ("evaluations_member_fk", Meaning::Guarded),
    ("evaluations_policy_fk", Meaning::Guarded),
    ("evaluations_return_transfer_fk", Meaning::Guarded),
    ("evaluations_reset_entry_fk", Meaning::Guarded),
    ("evaluations_place_length", Meaning::Guarded),
    ("evaluations_rule_sane", Meaning::Guarded),
    ("evaluations_votes_nonnegative", Meaning::Guarded),
    ("evaluations_outcome_shape", Meaning::Guarded),
    (
        "evaluations_one_open_per_case",
        Meaning::Client(EVALUATION_OPEN),
    ),
    ("evaluation_panel_pkey", Meaning::Guarded),
    (
        "evaluation_panel_subject_key",
        Meaning::Client(Known::Invalid(PANEL_DUPLICATE_SUBJECT)),
    ),
    ("evaluation_panel_evaluation_fk", Meaning::Guarded),
    (
        "evaluation_panel_member_fk",
        Meaning::Client(Known::Invalid(PANEL_UNKNOWN_MEMBER)),
    ),
    ("evaluation_panel_kind_valid", Meaning::Guarded),
    ("evaluation_panel_subject_length", Meaning::Guarded),
    ("evaluation_panel_name_length", Meaning::Guarded),
    (
        "evaluation_panel_member_key",
        Meaning::Client(Known::Invalid(PANEL_DUPLICATE_MEMBER)),
    ),
    (
        "evaluation_panel_not_evaluated",
        Meaning::Client(Known::Invalid(PANEL_MEMBER_UNDER_EVALUATION)),
    ),
    ("evaluation_voters_once", Meaning::Client(ALREADY_VOTED)),
    (
        "evaluation_voters_on_panel",
        Meaning::Client(Known::Forbidden),
    ),
    ("evaluation_voters_REFERENCES_fkey", Meaning::Guarded),
    ("evaluation_ballots_pkey", Meaning::Guarded),
    ("evaluation_ballots_evaluation_fk", Meaning::Guarded),
    ("evaluation_ballots_verdict_valid", Meaning::Guarded),
    (
        "evaluation_ballots_open",
        Meaning::Client(EVALUATION_CLOSED),
    ),
    // migrations/*_evaluation_cancel.sql
    ("evaluations_votes_match", Meaning::Guarded),
    // migrations/*_cohorts_mentorships.sql
    ("cohorts_town_id_fkey", Meaning::Guarded),
    ("cohorts_pkey", Meaning::Guarded),
    ("cohorts_id_key", Meaning::Guarded),
    ("cohorts_year_key", Meaning::Guarded),
    ("cohorts_one_per_year", Meaning::Client(COHORT_EXISTS)),
    ("cohorts_policy_fk", Meaning::Guarded),
    ("cohorts_status_valid", Meaning::Guarded),
    ("cohorts_year_sane", Meaning::Guarded),
    ("cohorts_size_bounds", Meaning::Guarded),
    ("cohorts_not_over_max", Meaning::Client(COHORT_FULL)),
    ("cohorts_confirmed_size", Meaning::Client(COHORT_TOO_SMALL)),
    ("cohorts_confirmation_shape", Meaning::Guarded),
    ("cohorts_confirmed_by_shape", Meaning::Guarded),
    ("cohorts_close_shape", Meaning::Guarded),
    ("cohorts_close_reason_length", Meaning::Guarded),
    ("cohort_trainees_pkey", Meaning::Client(ALREADY_A_TRAINEE)),
    ("cohort_trainees_cohort_fk", Meaning::Guarded),
    ("cohort_trainees_REFERENCES_fkey", Meaning::Guarded),
    ("cohort_trainees_member_fk", Meaning::Guarded),
    (
        "cohort_trainees_one_cohort_a_year",
        Meaning::Client(ALREADY_A_TRAINEE),
    ),
    ("cohort_trainees_eligible_as_valid", Meaning::Guarded),
    (
        "cohort_trainees_cohort_selecting",
        Meaning::Client(COHORT_CONFIRMED),
    ),
    ("placements_pkey", Meaning::Guarded),
    ("placements_id_key", Meaning::Guarded),
    (
        "placements_trainee_fk",
        Meaning::Client(TRAINEE_HAS_PLACEMENTS),
    ),
    ("placements_REFERENCES_fkey", Meaning::Guarded),
    ("placements_kind_valid", Meaning::Guarded),
    ("placements_post_shape", Meaning::Guarded),
    ("placements_dates_ordered", Meaning::Guarded),
    ("placements_text_length", Meaning::Guarded),
    ("placements_no_overlap", Meaning::Client(PLACEMENT_OVERLAP)),
    ("mentorships_pkey", Meaning::Guarded),
    ("mentorships_id_key", Meaning::Guarded),
    ("mentorships_town_fk", Meaning::Guarded),
    ("mentorships_mentor_fk", Meaning::Guarded),
    ("mentorships_mentee_fk", Meaning::Guarded),
    ("mentorships_cohort_fk", Meaning::Guarded),
    ("mentorships_case_fk", Meaning::Guarded),
    ("mentorships_policy_fk", Meaning::Guarded),
    ("mentorships_not_self", Meaning::Guarded),
    ("mentorships_basis_shape", Meaning::Guarded),
    ("mentorships_limit_positive", Meaning::Guarded),
    ("mentorships_subject_length", Meaning::Guarded),
    ("mentorships_end_shape", Meaning::Guarded),
    ("mentorships_end_after_start", Meaning::Guarded),
    ("mentorships_end_reason_length", Meaning::Guarded),
    (
        "mentorships_one_open_per_mentee",
        Meaning::Client(MENTEE_HAS_MENTOR),
    ),
    ("mentorships_mentor_limit", Meaning::Client(MENTOR_FULL)),
    ("mentorships_ended", Meaning::Client(MENTORSHIP_ENDED)),
    ("mentorship_logs_pkey", Meaning::Guarded),
    ("mentorship_logs_id_key", Meaning::Guarded),
    ("mentorship_logs_mentorship_fk", Meaning::Guarded),
    ("mentorship_logs_topic_length", Meaning::Guarded),
    ("mentorship_logs_notes_length", Meaning::Guarded),
    // migrations/*_evaluation_cancel.sql
    ("evaluations_status_valid", Meaning::Guarded),
    ("evaluations_closed_shape", Meaning::Guarded),
    ("evaluations_cancel_reason_length", Meaning::Guarded),
    ("evaluations_final", Meaning::Client(EVALUATION_CLOSED)),
    // migrations/*_calendar.sql
    ("calendar_days_town_id_fkey", Meaning::Guarded),
    ("calendar_days_pkey", Meaning::Guarded),
    ("calendar_days_kind_valid", Meaning::Guarded),
    ("calendar_days_kind_fits_day", Meaning::Guarded),
    ("calendar_days_name_length", Meaning::Guarded),
    // migrations/*_ledger_check_in_constant_time.sql
    ("ledger_entries_follow_previous", Meaning::Guarded),
    // migrations/*_member_development.sql: the service checks the branch, the sponsors,
    // the stage and the dates before it writes.
    ("policies_development_sane", Meaning::Guarded),
    ("members_standing_valid", Meaning::Guarded),
    ("members_full_since_when_full", Meaning::Guarded),
    ("applicants_town_id_fkey", Meaning::Guarded),
    ("applicants_pkey", Meaning::Guarded),
    ("applicants_id_key", Meaning::Guarded),
    ("applicants_branch_fk", Meaning::Guarded),
    ("applicants_member_fk", Meaning::Guarded),
    ("applicants_stage_valid", Meaning::Guarded),
    ("applicants_name_length", Meaning::Guarded),
    ("applicants_national_id_format", Meaning::Guarded),
    ("applicants_member_when_approved", Meaning::Guarded),
    ("applicants_ended_shape", Meaning::Guarded),
    ("applicants_dates_in_order", Meaning::Guarded),
    (
        "applicants_one_open_per_person",
        Meaning::Client(APPLICATION_OPEN),
    ),
    ("applicant_steps_town_id_fkey", Meaning::Guarded),
    ("applicant_steps_pkey", Meaning::Guarded),
    ("applicant_steps_id_key", Meaning::Guarded),
    ("applicant_steps_applicant_fk", Meaning::Guarded),
    ("applicant_steps_policy_fk", Meaning::Guarded),
    ("applicant_steps_kind_valid", Meaning::Guarded),
    ("applicant_steps_decided_by_length", Meaning::Guarded),
    ("applicant_sponsors_town_id_fkey", Meaning::Guarded),
    ("applicant_sponsors_pkey", Meaning::Guarded),
    ("applicant_sponsors_applicant_fk", Meaning::Guarded),
    ("applicant_sponsors_member_fk", Meaning::Guarded),
    ("applicant_sponsors_step_fk", Meaning::Guarded),
    ("applicant_sponsors_role_valid", Meaning::Guarded),
    // migrations/*_materials.sql: the service checks the branch and the copies first.
    ("materials_town_id_fkey", Meaning::Guarded),
    ("materials_pkey", Meaning::Guarded),
    ("materials_id_key", Meaning::Guarded),
    ("materials_kind_valid", Meaning::Guarded),
    ("materials_title_length", Meaning::Guarded),
    ("materials_copies_range", Meaning::Guarded),
    ("material_loans_town_id_fkey", Meaning::Guarded),
    ("material_loans_pkey", Meaning::Guarded),
    ("material_loans_id_key", Meaning::Guarded),
    ("material_loans_material_fk", Meaning::Guarded),
    ("material_loans_branch_fk", Meaning::Guarded),
    ("material_loans_copies_positive", Meaning::Guarded),
    ("material_loans_borrower_length", Meaning::Guarded),
    ("material_loans_dates", Meaning::Guarded),
    ("material_loans_returned_shape", Meaning::Guarded),
    // migrations/*_party_groups_officers.sql
    ("party_groups_town_id_fkey", Meaning::Guarded),
    ("party_groups_pkey", Meaning::Guarded),
    ("party_groups_id_key", Meaning::Guarded),
    ("party_groups_branch_key", Meaning::Guarded),
    ("party_groups_name_taken", Meaning::Client(GROUP_NAME_TAKEN)),
    ("party_groups_branch_fk", Meaning::Guarded),
    ("party_groups_leader_fk", Meaning::Guarded),
    ("party_groups_name_length", Meaning::Guarded),
    ("party_group_members_pkey", Meaning::Guarded),
    ("party_group_members_group_fk", Meaning::Guarded),
    ("party_group_members_member_fk", Meaning::Guarded),
    (
        "party_group_members_one_group",
        Meaning::Client(MEMBER_IN_OTHER_GROUP),
    ),
    ("branch_officers_town_id_fkey", Meaning::Guarded),
    ("branch_officers_pkey", Meaning::Guarded),
    ("branch_officers_id_key", Meaning::Guarded),
    ("branch_officers_branch_fk", Meaning::Guarded),
    ("branch_officers_member_fk", Meaning::Guarded),
    ("branch_officers_office_valid", Meaning::Guarded),
    ("branch_officers_term_order", Meaning::Guarded),
    // migrations/*_meetings.sql
    ("meetings_town_id_fkey", Meaning::Guarded),
    ("meetings_pkey", Meaning::Guarded),
    ("meetings_id_key", Meaning::Guarded),
    ("meetings_branch_fk", Meaning::Guarded),
    ("meetings_group_fk", Meaning::Guarded),
    ("meetings_kind_valid", Meaning::Guarded),
    ("meetings_group_shape", Meaning::Guarded),
    ("meetings_center_role_valid", Meaning::Guarded),
    ("meetings_text_length", Meaning::Guarded),
    ("meetings_roll_shape", Meaning::Guarded),
    ("meeting_attendees_pkey", Meaning::Guarded),
    ("meeting_attendees_meeting_fk", Meaning::Guarded),
    ("meeting_attendees_member_fk", Meaning::Guarded),
    ("meeting_attendees_case_fk", Meaning::Guarded),
    ("meeting_attendees_attends_as_valid", Meaning::Guarded),
    ("meeting_attendance_pkey", Meaning::Guarded),
    ("meeting_attendance_id_key", Meaning::Guarded),
    (
        "meeting_attendance_one_per_member",
        Meaning::Client(ROLL_RECORDED),
    ),
    (
        "meeting_attendance_expected_fk",
        Meaning::Client(Known::Invalid(NOT_REQUIRED)),
    ),
    ("meeting_attendance_status_valid", Meaning::Guarded),
    ("meeting_attendance_excuse_shape", Meaning::Guarded),
    ("meeting_attendance_unscored_valid", Meaning::Guarded),
    ("meeting_attendance_excuse_length", Meaning::Guarded),
    ("meeting_minutes_pkey", Meaning::Guarded),
    ("meeting_minutes_meeting_fk", Meaning::Guarded),
    ("meeting_minutes_version_positive", Meaning::Guarded),
    ("meeting_minutes_reason_shape", Meaning::Guarded),
    ("meeting_minutes_length", Meaning::Guarded),
    // migrations/*_time_zones_the_database_knows.sql
    (
        "towns_time_zone_known",
        Meaning::Client(Known::Invalid(TIME_ZONE_UNKNOWN)),
    ),
];
#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The names of the constraints `sql` creates, minus those it drops: named ones
    /// (`CONSTRAINT x`, `CREATE UNIQUE INDEX x`, triggers raising with `CONSTRAINT = 'x'`)
    /// and the names PostgreSQL gives unnamed inline ones (`<table>_pkey`,
    /// `<table>_<column>_fkey`, `_key`, `_check`).
    fn created(sql: &str, names: &mut BTreeSet<String>) {
        let mut table: Option<String> = None;
        for line in sql.lines() {
            let line = line.split("--").next().unwrap_or("");
            let upper = line.to_ascii_uppercase();
            let words: Vec<&str> = line
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| !w.is_empty())
                .collect();
            let after = |keyword: &[&str]| -> Vec<String> {
                let mut found = Vec::new();
                for i in 0..words.len() {
                    let matches = keyword
                        .iter()
                        .enumerate()
                        .all(|(k, w)| words.get(i + k).is_some_and(|x| x.eq_ignore_ascii_case(w)));
                    if matches {
                        let mut next = i + keyword.len();
                        while words.get(next).is_some_and(|w| {
                            ["IF", "NOT", "EXISTS"].contains(&&*w.to_ascii_uppercase())
                        }) {
                            next += 1;
                        }
                        if let Some(name) = words.get(next) {
                            found.push((*name).to_owned());
                        }
                    }
                }
                found
            };
            if let Some(t) = after(&["CREATE", "TABLE"]).pop() {
                table = Some(t);
                continue;
            }
            if line.trim_start().starts_with(");") {
                table = None;
            }
            let dropped: Vec<String> = after(&["DROP", "CONSTRAINT"])
                .into_iter()
                .chain(after(&["DROP", "INDEX"]))
                .collect();
            if !dropped.is_empty() {
                for name in dropped {
                    names.remove(&name);
                }
                continue;
            }
            for name in after(&["CONSTRAINT"]) {
                if name.eq_ignore_ascii_case("TRIGGER") {
                    continue;
                }
                names.insert(name);
            }
            names.extend(after(&["CREATE", "UNIQUE", "INDEX"]));
            if let (Some(t), false) = (&table, upper.contains("CONSTRAINT")) {
                let column = words.first().map(|c| c.to_owned()).unwrap_or_default();
                if upper.contains("PRIMARY KEY") {
                    names.insert(format!("{t}_pkey"));
                } else if upper.contains("REFERENCES") {
                    names.insert(format!("{t}_{column}_fkey"));
                } else if words.contains(&"UNIQUE") {
                    names.insert(format!("{t}_{column}_key"));
                } else if words.contains(&"CHECK") {
                    names.insert(format!("{t}_{column}_check"));
                }
            }
        }
    }

    fn schema_constraints() -> BTreeSet<String> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .expect("migrations folder")
            .map(|e| e.expect("migration entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "sql"))
            .collect();
        files.sort();
        let mut names = BTreeSet::new();
        for f in files {
            created(
                &std::fs::read_to_string(&f).expect("migration text"),
                &mut names,
            );
        }
        names
    }

    #[test]
    fn every_constraint_of_the_migrations_has_exactly_one_entry() {
        let schema = schema_constraints();
        let mut table = BTreeSet::new();
        for (name, _) in CONSTRAINTS {
            assert!(table.insert(name.to_string()), "{name} has two entries");
        }
        let missing: Vec<_> = schema.difference(&table).collect();
        let stale: Vec<_> = table.difference(&schema).collect();
        assert!(
            missing.is_empty(),
            "constraints without an entry: {missing:?}"
        );
        assert!(stale.is_empty(), "entries without a constraint: {stale:?}");
    }

    #[test]
    fn the_parser_sees_named_inline_and_dropped_constraints() {
        let mut names = BTreeSet::new();
        created(
            "CREATE TABLE t (\n    id uuid PRIMARY KEY,\n    town_id uuid NOT NULL REFERENCES towns (id),\n    \
             n int CONSTRAINT t_n_positive CHECK (n > 0),\n    CONSTRAINT t_old UNIQUE (n)\n);\n\
             CREATE UNIQUE INDEX IF NOT EXISTS t_one ON t (n);\n\
             CREATE CONSTRAINT TRIGGER t_trigger AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f();\n\
             -- CONSTRAINT commented_out\n\
             RAISE EXCEPTION 'x' USING CONSTRAINT = 't_raised';\n\
             ALTER TABLE t DROP CONSTRAINT t_old;\n",
            &mut names,
        );
        let expected = [
            "t_n_positive",
            "t_one",
            "t_pkey",
            "t_raised",
            "t_town_id_fkey",
        ];
        assert_eq!(
            names.iter().map(String::as_str).collect::<Vec<_>>(),
            expected
        );
    }

    #[test]
    fn a_mapped_constraint_answers_its_error_and_an_unknown_one_nothing() {
        assert_eq!(
            meaning("transfers_one_open"),
            Some(Meaning::Client(OPEN_TRANSFER_EXISTS))
        );
        assert_eq!(meaning("towns_pkey"), Some(Meaning::Guarded));
        assert_eq!(meaning("no_such_constraint"), None);
    }
}
