//! Every `code` the service can answer, with what it means in both languages.
//!
//! The OpenAPI document makes these the `enum` of a problem's `code` and of a field
//! error's `code`, so a client can switch on them, and lists them as a glossary. A unit
//! test reads `src/` for the codes the error constructors are given and fails on one
//! missing here (or on an entry here that no code uses any more).

/// One code: the value, the status it comes with (0 for a field error's code, whose
/// problem is always the 422 `validation_failed`), and its meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code {
    /// The stable value, as sent.
    pub code: &'static str,
    /// The HTTP status of a problem with this code; 0 for a field error's code.
    pub status: u16,
    /// What it means, in Chinese.
    pub zh: &'static str,
    /// What it means, in English.
    pub en: &'static str,
}

const fn p(code: &'static str, status: u16, zh: &'static str, en: &'static str) -> Code {
    Code {
        code,
        status,
        zh,
        en,
    }
}

const fn f(code: &'static str, zh: &'static str, en: &'static str) -> Code {
    Code {
        code,
        status: 0,
        zh,
        en,
    }
}

/// Every value of a problem's `code`, by status.
#[rustfmt::skip]
pub const PROBLEM_CODES: &[Code] = &[
    p("bad_request", 400, "请求有误", "the request is not valid"),
    p("malformed_json", 400, "请求体不是有效的 JSON", "the body is not valid JSON"),
    p("body_unreadable", 400, "请求体无法读取", "the request body could not be read"),
    p("invalid_path", 400, "路径参数无效", "a path parameter is not valid"),
    p("invalid_query", 400, "查询参数无效或未知", "a query parameter is not valid or unknown"),
    p("invalid_limit", 400, "limit 参数无效", "the `limit` parameter is not valid"),
    p("invalid_cursor", 400, "游标无效", "the cursor is not valid"),
    p("invalid_wait", 400, "wait 参数无效", "the `wait` parameter is not valid"),
    p("invalid_idempotency_key", 400, "Idempotency-Key 格式无效", "the Idempotency-Key is not valid"),
    p("idempotency_key_required", 400, "此写操作须带 Idempotency-Key", "this write needs an Idempotency-Key"),
    p("invalid_if_match", 400, "If-Match 格式无效", "the If-Match header is not valid"),
    p("invalid_characters", 400, "文本含有无法保存的字符", "a text holds a character that cannot be stored"),
    p("missing_token", 401, "缺少令牌", "no token"),
    p("malformed_authorization", 401, "Authorization 请求头格式有误", "the Authorization header is not `Bearer <token>`"),
    p("invalid_token", 401, "令牌无效", "the token is not valid"),
    p("token_expired", 401, "令牌已过期", "the token has expired"),
    p("token_not_yet_valid", 401, "令牌尚未生效", "the token is not valid yet"),
    p("forbidden", 403, "当前角色无权执行此操作", "the token's role may not do this"),
    p("not_on_panel", 403, "不是该民主评议小组的成员，不能投票", "not on the evaluation's panel: no vote"),
    p("not_found", 404, "资源不存在（或属于其他镇）", "no such resource (or one of another town)"),
    p("no_case", 404, "该党员从未转入中心，没有转化档案", "the member has never had a transformation case"),
    p("method_not_allowed", 405, "该路径不支持此 HTTP 方法", "this path does not take this method"),
    p("town_code_taken", 409, "镇代码已被使用", "the town code is taken"),
    p("branch_name_taken", 409, "本镇已有同名支部", "the town has a branch of that name"),
    p("center_branch_exists", 409, "每镇只有一个服务转化中心支部", "a town has exactly one center branch"),
    p("center_branch_is_permanent", 409, "中心支部不能改变类型", "the center branch keeps its kind"),
    p("national_id_taken", 409, "本镇已有该身份证号的党员", "a member of the town has this national ID number"),
    p("phone_taken", 409, "本镇已有使用该电话号码的党员", "a member of the town has this phone number"),
    p("branch_changes_by_transfer", 409, "支部只能通过组织关系接转变更", "a member's branch changes only by a transfer"),
    p("member_not_active", 409, "党员不在册（状态不是正常）", "the member is not active"),
    p("member_moved", 409, "党员的支部已变动，请重新读取", "the member's branch changed meanwhile"),
    p("open_transfer_exists", 409, "该党员有未办结的介绍信", "the member has an open letter"),
    p("letter_serial_taken", 409, "介绍信编号已被使用", "the letter serial number is taken"),
    p("transfer_not_open", 409, "介绍信已办结，不能再回执、退回或撤回", "the letter is no longer open"),
    p("certificate_number_taken", 409, "活动证编号已被使用", "the certificate number is taken"),
    p("member_has_valid_certificate", 409, "该党员在此期间已有有效的活动证", "the member holds a valid certificate over these dates"),
    p("certificate_not_valid", 409, "活动证已交回或收回，或不在有效期内", "the certificate is not in force"),
    p("invalid_status_change", 409, "登记簿不允许此状态变更", "the register does not allow this status change"),
    p("case_open", 409, "该党员已有在管的转化档案", "the member has an open case"),
    p("already_in_center", 409, "该党员的组织关系已在中心支部", "the member's relation is in the center branch already"),
    p("case_concluded", 409, "转化档案已结案", "the case is concluded"),
    p("case_not_due", 409, "档案未到民主评议的分数线，或评议正在进行", "the case is not due for an evaluation"),
    p("already_scored", 409, "该来源已记过分", "this source has been scored already"),
    p("already_reversed", 409, "该记分已被冲销", "the entry has been reversed already"),
    p("cannot_reverse_reversal", 409, "冲销记录不能再被冲销", "a reversal cannot be reversed"),
    p("cannot_object_to_reversal", 409, "不能对冲销记录提出异议", "a reversal takes no objection"),
    p("score_frozen", 409, "按计分办法，待评议后积分不再变动", "by the policy the score no longer moves once an evaluation is due"),
    p("matter_decided", 409, "镇党委已对该事项作出决定", "the committee has decided this matter"),
    p("outcome_recorded", 409, "该任务的完成情况已记录", "the task's outcome is recorded"),
    p("objection_exists", 409, "该记分已有异议", "the entry has an objection already"),
    p("objection_decided", 409, "该异议已作出决定", "the objection has been decided"),
    p("objection_period_over", 409, "异议期已过", "the objection period is over"),
    p("activity_not_started", 409, "活动尚未开始，不能点名", "the activity has not started"),
    p("roll_recorded", 409, "该活动已点过名，且内容不同", "the roll is recorded, and it differs"),
    p("meeting_not_started", 409, "会议尚未开始，不能记录考勤或会议记录", "the meeting has not started"),
    p("group_name_taken", 409, "本支部已有同名的党小组", "the branch has a party group of that name"),
    p("member_in_other_group", 409, "党员已在另一个党小组中", "a member is in another party group"),
    p("officer_term_overlaps", 409, "该党员这段时间已在本支部任职", "the member holds an office in the branch then"),
    p("secretary_term_overlaps", 409, "这段时间本支部已有书记", "the branch has another secretary then"),
    p("evaluation_open", 409, "该档案已有进行中的民主评议", "the case has an open evaluation"),
    p("evaluation_closed", 409, "民主评议已结束或已取消", "the evaluation is closed or cancelled"),
    p("evaluation_not_started", 409, "评议会议尚未开始，不能投票", "the evaluation meeting has not begun: ballots open then"),
    p("already_voted", 409, "已投过票：每人一票", "voted already: one vote each"),
    p("quorum_not_met", 409, "票数未达到法定人数", "fewer votes than the quorum"),
    p("quorum_met", 409, "已达到法定人数，应结束评议而不是取消", "the quorum is met: close it instead"),
    p("cohort_exists", 409, "本年度学员班已建立", "the year's cohort exists"),
    p("cohort_full", 409, "学员班已满员", "the cohort is full"),
    p("cohort_too_small", 409, "学员人数不足下限，不能确认", "fewer trainees than the minimum"),
    p("cohort_confirmed", 409, "学员班名单已确认", "the cohort's list is confirmed"),
    p("cohort_closed", 409, "学员班已结束", "the cohort is closed"),
    p("already_a_trainee", 409, "该党员已是本年度学员", "the member is a trainee this year already"),
    p("placement_overlap", 409, "与该学员的其他培养安排时间重叠", "overlaps another placement of the trainee"),
    p("trainee_has_placements", 409, "该学员已有培养安排，不能移除", "the trainee has placements"),
    p("mentee_has_mentor", 409, "结对对象已有在结对的导师", "the mentee has an open mentorship"),
    p("mentor_full", 409, "导师带人已达上限", "the mentor has as many mentees as allowed"),
    p("mentorship_ended", 409, "结对关系已结束", "the mentorship has ended"),
    p("application_open", 409, "此人在本镇已有一份正在办理的入党申请", "the person has an application on its way in the town"),
    p("already_a_member", 409, "该身份证号已是本镇党员", "a member of the town has this national ID number"),
    p("applicant_closed", 409, "该人员已转为正式党员、撤回申请或被取消资格，不能再记录步骤", "the applicant is full, withdrawn or disqualified: nothing more is recorded"),
    p("wrong_stage", 409, "该步骤不适用于此人目前所处的发展阶段", "the step does not fit the applicant's stage"),
    p("step_recorded", 409, "该步骤已记录过，只能记录一次", "the step is recorded already: once only"),
    p("talk_not_held", 409, "党支部尚未同入党申请人谈话", "the branch has not talked with the applicant yet"),
    p("activist_too_short", 409, "培养教育时间不足，尚不能列为发展对象", "not an activist long enough to become a candidate"),
    p("political_review_missing", 409, "尚未完成政治审查", "the political review comes before the admission"),
    p("training_missing", 409, "尚未完成集中培训", "the training comes before the admission"),
    p("admission_pending", 409, "支部大会已通过接收，正待镇党委审批", "the admission awaits the committee's approval"),
    p("majority_not_reached", 409, "赞成人数未超过有表决权正式党员的规定比例", "too few of the full members with a vote are in favour"),
    p("not_admitted", 409, "支部大会尚未讨论通过接收", "the branch general meeting has not admitted the candidate"),
    p("approval_deadline_passed", 409, "已过镇党委审批期限，须由支部大会重新讨论", "past the approval deadline: the branch general meeting must vote again"),
    p("extension_used", 409, "预备期已延长过一次", "the probation has been extended once already"),
    p("conversion_voted", 409, "支部大会已讨论转正，不能再延长预备期", "the conversion was voted: the probation cannot be extended"),
    p("probation_not_over", 409, "预备期未满，不能讨论转正", "the probation is not over: no conversion vote yet"),
    p("conversion_vote_missing", 409, "支部大会尚未讨论转正", "the branch general meeting has not voted the conversion"),
    p("copies_on_loan", 409, "馆藏份数不能少于借出未还的份数", "fewer copies than are on loan"),
    p("not_enough_copies", 409, "在架份数不足", "fewer copies on the shelf than asked for"),
    p("loan_returned", 409, "该借阅已归还", "the loan was returned already"),
    p("precondition_failed", 412, "If-Match 中的版本已过期", "the version in If-Match is no longer current"),
    p("payload_too_large", 413, "请求体超过大小上限", "the body is over the size limit"),
    p("unsupported_media_type", 415, "请求体类型不受支持", "the body's media type is not accepted"),
    p("validation_failed", 422, "字段无效，详见 errors", "fields are invalid: see `errors`"),
    p("idempotency_key_reused", 422, "该 Idempotency-Key 已用于另一个请求", "the Idempotency-Key was used for another request"),
    p("out_of_range", 422, "数值超出可保存的范围", "a number is beyond what can be stored"),
    p("day_passed", 422, "只能设置今天以后的日子", "only days after today can be set"),
    p("not_eligible", 422, "不是优秀年轻党员或村后备干部，不能入选学员", "not an outstanding young member nor a reserve cadre"),
    p("mentor_not_in_center", 422, "导师须是中心支部在册且不在转化中的党员", "the mentor must be an active center member not under transformation"),
    p("not_a_mentee", 422, "结对对象须是本年度学员或转化党员", "the mentee must be a trainee or under transformation"),
    p("import_missing_column", 422, "名册缺少必填列", "the roster lacks a required column"),
    p("import_too_large", 422, "名册行数超过上限", "the roster has too many rows"),
    p("import_unreadable", 422, "名册文件无法读取", "the roster file cannot be read"),
    p("too_many_rows", 422, "行数超过 XLSX 工作表的上限，请改用 CSV", "more rows than an XLSX sheet holds: ask for CSV"),
    p("precondition_required", 428, "修改须带 If-Match", "a change needs If-Match"),
    p("too_many_exports", 429, "同时生成的报表过多，请稍后重试", "too many reports at once: retry shortly"),
    p("internal_error", 500, "服务器内部错误", "something failed on the server's side"),
    p("service_unavailable", 503, "服务暂不可用，请稍后重试", "the service is busy or stopping: retry"),
];

/// Every value of a field error's `code` (in a 422 `validation_failed` problem's `errors`).
#[rustfmt::skip]
pub const FIELD_CODES: &[Code] = &[
    f("required", "必填项缺失或为空", "required and missing or empty"),
    f("not_allowed", "此情形下不应填写该字段", "not allowed in this case"),
    f("unknown_field", "未知字段", "no such field"),
    f("invalid_type", "字段类型或取值无效", "the type or value is not valid"),
    f("too_long", "超过长度上限", "longer than allowed"),
    f("too_many", "项数超过上限", "more items than allowed"),
    f("control_characters", "含有控制字符或不可见的格式字符", "holds control or invisible formatting characters"),
    f("invalid_code", "代码须为 1 至 32 个字母、数字或短横线", "a code is 1 to 32 letters, digits or dashes"),
    f("out_of_range", "数值超出允许范围", "a number outside the allowed range"),
    f("year_out_of_range", "年度须为今年或明年", "the year must be this year or the next"),
    f("duplicate", "同一成员列了不止一次", "named more than once"),
    f("duplicate_in_file", "与文件中另一行重复", "the same as another row of the file"),
    f("duplicate_member", "同一党员在评议小组中出现两次", "a member is on the panel twice"),
    f("duplicate_subject", "同一评议人在评议小组中出现两次", "an evaluator is on the panel twice"),
    f("unknown_member", "本镇没有该党员", "the town has no such member"),
    f("unknown_case", "本镇没有该档案", "the town has no such case"),
    f("unknown_entry", "该档案没有这条记分", "the case has no such entry"),
    f("member_not_active", "该党员不在册", "the member is not active"),
    f("national_id_taken", "身份证号已被本镇党员使用", "the national ID number is taken in the town"),
    f("phone_taken", "电话号码已被本镇党员使用", "the phone number is taken in the town"),
    f("invalid_national_id", "身份证号须为 17 位数字加 1 位数字或 X", "a national ID number is 17 digits and a digit or X"),
    f("invalid_birth_date", "身份证号中的出生日期无效", "the birth date in the national ID number is not valid"),
    f("invalid_check_digit", "身份证号校验位不符", "the national ID number's check digit does not match"),
    f("invalid_phone", "电话须为手机号或带区号的固定电话", "a mobile number or a landline with its area code"),
    f("invalid_date", "日期须为 YYYY-MM-DD", "a date is written YYYY-MM-DD"),
    f("invalid_flag", "须填“是”或“否”", "write yes or no (是 or 否)"),
    f("date_in_future", "日期不能晚于今天", "the date cannot be after today"),
    f("in_future", "日期不能晚于今天", "the date cannot be after today"),
    f("in_the_future", "时间不能晚于现在", "cannot be in the future"),
    f("not_in_future", "日期须晚于今天", "the date must be after today"),
    f("in_past", "期限不能早于今天", "the due date cannot be in the past"),
    f("too_early", "日期过早", "the date is too early"),
    f("too_far_ahead", "最多提前一年安排", "at most a year ahead"),
    f("before_start", "不能早于开始日期", "cannot be before the start"),
    f("before_decision", "回执日期不能早于决定日期", "cannot be before the decision date"),
    f("before_due", "评议不能早于档案达到分数线的日期", "cannot be before the case became due"),
    f("before_issued_on", "不能早于发证日期", "cannot be before the issue date"),
    f("not_after_issued_on", "有效期须晚于发证日期", "must be after the issue date"),
    f("over_one_year", "最长为一年", "at most one year after"),
    f("not_an_extension", "新的有效期须晚于当前有效期", "must extend the current validity"),
    f("letter_expired", "接收时介绍信已过期", "the letter had expired when it was accepted"),
    f("outside_cohort_year", "培养安排须在学员班所属年度内开始", "must start in the cohort's year"),
    f("not_a_weekday", "只有周一至周五可设为节假日", "only Monday to Friday can be a holiday"),
    f("not_a_weekend_day", "只有周六、周日可设为调休上班日", "only a Saturday or Sunday can be a workday"),
    f("missing", "点名缺少应参加人员", "a required member has no line in the roll"),
    f("not_required", "该党员不在应参加名单中", "the member was not required to attend"),
    f("only_when_excused", "只有请假才填写理由和批准人", "only an excused leave has a reason and an approver"),
    f("no_open_case", "该党员没有在管的转化档案", "the member has no open case"),
    f("not_a_branch_member", "不是本支部的在册党员", "not an active member of the branch"),
    f("not_a_group_member", "不是该党小组的成员", "not a member of the group"),
    f("before_term_from", "截止日早于起始日", "before the first day"),
    f("term_too_long", "任期超过五年", "a term longer than five years"),
    f("only_for_party_group", "只有党小组会才填写", "only for a party group meeting"),
    f("unknown_branch", "本镇没有该支部", "the town has no such branch"),
    f("unknown_group", "该支部没有这个党小组", "the branch has no such party group"),
    f("unknown_time_zone", "数据库不认识该时区", "a time zone the database does not know"),
    f("already_expected", "该党员本就应当参加", "the member is expected already"),
    f("only_for_correction", "只有更正时才填写", "only for a correction"),
    f("conflicts_with_all", "已选全部转化党员，不应再逐一列出", "`all_under_transformation` is set: list none"),
    f("below_quorum", "评议小组人数少于法定人数", "the panel is smaller than the quorum"),
    f("member_under_evaluation", "被评议的党员不能担任评议人", "the member under evaluation cannot sit on the panel"),
    f("evaluator_floating", "持有效流动党员活动证的党员没有表决权", "a floating member has no vote"),
    f("same_as_mentor", "导师不能与自己结对", "a mentor cannot mentor themselves"),
    f("same_branch", "党员已在该支部", "the member is in this branch already"),
    f("too_young", "申请之日未达到入党申请人最低年龄", "younger than the minimum age on the day of the application"),
    f("not_a_step", "入党申请在登记申请人时记录，不能作为步骤提交", "the application is recorded by registering the applicant, not as a step"),
    f("before_previous_step", "不能早于前一步骤的日期", "cannot be before the step it follows"),
    f("wrong_count", "人数不符合计分办法的规定", "not the number of members the policy asks for"),
    f("not_a_full_member", "须为本镇在册的正式党员", "must be full members of the town"),
    f("training_too_short", "集中培训天数少于计分办法规定的下限", "the training is shorter than the policy's minimum"),
    f("extension_out_of_range", "延长月数超出计分办法规定的范围", "the extension's months are outside the policy's range"),
    f("more_than_eligible", "到会人数多于有表决权的正式党员人数", "more present than have a vote"),
    f("more_than_present", "赞成人数多于到会人数", "more in favour than present"),
    f("before_lent_on", "不能早于借出日期", "cannot be before the day it was lent"),
    f("policy_inconsistent", "计分办法的各项数值相互矛盾", "the policy's numbers contradict each other"),
];

/// The meaning of a problem code, if it is one.
pub fn problem(code: &str) -> Option<&'static Code> {
    PROBLEM_CODES.iter().find(|c| c.code == code)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::*;

    /// What a call site makes of the string literal it is given.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Use {
        /// A problem's code, with the status its constructor gives, when it fixes one.
        Problem(Option<u16>),
        Field,
        Either,
    }

    fn snake(lit: &str) -> bool {
        lit.starts_with(|c: char| c.is_ascii_lowercase())
            && lit
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    }

    /// The snake_case string literal starting at `s` (after optional whitespace).
    fn literal(s: &str) -> Option<&str> {
        let s = s.trim_start().strip_prefix('"')?;
        let lit = &s[..s.find('"')?];
        snake(lit).then_some(lit)
    }

    /// The text after the first top-level comma of an argument list starting at `s`.
    fn after_first_argument(s: &str) -> Option<&str> {
        let mut depth = 0i32;
        let mut in_str = false;
        for (i, c) in s.char_indices() {
            match c {
                '"' => in_str = !in_str,
                _ if in_str => {}
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => {
                    depth -= 1;
                    if depth < 0 {
                        return None;
                    }
                }
                ',' if depth == 0 => return Some(&s[i + 1..]),
                _ => {}
            }
        }
        None
    }

    /// The codes a source file gives the error constructors, outside its tests.
    fn codes_in(source: &str) -> Vec<(String, Use)> {
        let tests = source.match_indices("#[cfg(test)]").find(|(at, attr)| {
            source[at + attr.len()..]
                .trim_start()
                .starts_with("mod tests")
        });
        let code = &source[..tests.map_or(source.len(), |(at, _)| at)];
        let mut found = Vec::new();
        let mut each = |needle: &str, pick: &dyn Fn(&str) -> Option<String>, usage: Use| {
            for (at, _) in code.match_indices(needle) {
                if let Some(c) = pick(&code[at + needle.len()..]) {
                    found.push((c, usage));
                }
            }
        };
        let first = |s: &str| literal(s).map(str::to_owned);
        let second = |s: &str| after_first_argument(s).and_then(literal).map(str::to_owned);
        for (needle, status) in [
            ("conflict(", 409),
            ("bad_request(", 400),
            ("file_error(", 422),
        ] {
            each(needle, &first, Use::Problem(Some(status)));
        }
        each("code: ", &first, Use::Problem(None));
        for needle in [
            "KnownField::new(",
            "FieldError::new(",
            "date_error(",
            "ApiError::invalid(",
        ] {
            each(needle, &second, Use::Field);
        }
        // `"code", msg!(...)`: the literal right before a message, whatever builds it.
        for needle in ["msg!(", "Msg::new("] {
            for (at, _) in code.match_indices(needle) {
                let before = code[..at].trim_end();
                let Some(before) = before.strip_suffix(',') else {
                    continue;
                };
                let Some(before) = before.trim_end().strip_suffix('"') else {
                    continue;
                };
                let lit = &before[before.rfind('"').map_or(0, |i| i + 1)..];
                if snake(lit) {
                    found.push((lit.to_owned(), Use::Either));
                }
            }
        }
        found
    }

    fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path.display().to_string(), text));
            }
        }
    }

    fn all_sources() -> Vec<(String, String)> {
        let mut files = Vec::new();
        sources(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        files.retain(|(path, _)| !path.ends_with("error/codes.rs"));
        files
    }

    #[test]
    fn the_scanner_sees_each_way_a_code_is_given() {
        let found = codes_in(
            r#"
            ApiError::conflict("a_conflict", msg!("冲突", "conflict"));
            ApiError::bad_request(
                "a_bad_request",
                msg!("有误", "bad"),
            );
            ApiError::Unprocessable { code: "a_rule", detail: msg!("规则", "rule") };
            FieldError::new(format!("items[{i}]"), "a_field", msg!("字段", "field"));
            date_error(field, "a_date", format!("x"), format!("y"));
            return Some(("either_one", msg!("中", "en")));
            #[cfg(test)]
            mod tests {
                ApiError::conflict("only_in_tests", msg!("测", "test"));
            }
            "#,
        );
        let names: Vec<&str> = found.iter().map(|(c, _)| c.as_str()).collect();
        for code in [
            "a_conflict",
            "a_bad_request",
            "a_rule",
            "a_field",
            "a_date",
            "either_one",
        ] {
            assert!(names.contains(&code), "{code} in {names:?}");
        }
        assert!(!names.contains(&"only_in_tests"));
    }

    #[test]
    fn every_code_the_sources_give_is_registered() {
        let problems: BTreeSet<&str> = PROBLEM_CODES.iter().map(|c| c.code).collect();
        let fields: BTreeSet<&str> = FIELD_CODES.iter().map(|c| c.code).collect();
        let mut missing = Vec::new();
        for (path, text) in all_sources() {
            for (code, usage) in codes_in(&text) {
                let known = match usage {
                    Use::Problem(None) => problems.contains(code.as_str()),
                    Use::Problem(Some(status)) => PROBLEM_CODES
                        .iter()
                        .any(|c| c.code == code && c.status == status),
                    Use::Field => fields.contains(code.as_str()),
                    Use::Either => {
                        problems.contains(code.as_str()) || fields.contains(code.as_str())
                    }
                };
                if !known {
                    missing.push(format!("{code} ({usage:?}, {path})"));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "codes missing from src/error/codes.rs (PROBLEM_CODES with that status, or FIELD_CODES): {missing:#?}"
        );
    }

    #[test]
    fn every_registered_code_is_still_used() {
        let text: String = all_sources().into_iter().map(|(_, t)| t).collect();
        for c in PROBLEM_CODES.iter().chain(FIELD_CODES) {
            assert!(
                text.contains(&format!("\"{}\"", c.code)),
                "{} is registered but no source gives it",
                c.code
            );
        }
    }

    #[test]
    fn codes_are_unique_and_problem_statuses_are_error_statuses() {
        let mut seen = BTreeSet::new();
        for c in PROBLEM_CODES {
            assert!(seen.insert(c.code), "{} twice", c.code);
            assert!((400..600).contains(&c.status), "{}", c.code);
        }
        let mut seen = BTreeSet::new();
        for c in FIELD_CODES {
            assert!(seen.insert(c.code), "{} twice", c.code);
        }
    }

    #[test]
    fn the_fixed_codes_of_api_error_are_registered_with_their_status() {
        use super::super::{ApiError, AuthFailure};
        use actix_web::ResponseError;
        let fixed = [
            ApiError::Unauthorized(AuthFailure::Missing),
            ApiError::Unauthorized(AuthFailure::Malformed),
            ApiError::Unauthorized(AuthFailure::Invalid),
            ApiError::Unauthorized(AuthFailure::Expired),
            ApiError::Unauthorized(AuthFailure::NotYetValid),
            ApiError::Forbidden,
            ApiError::NotFound,
            ApiError::MethodNotAllowed,
            ApiError::PreconditionFailed,
            ApiError::PayloadTooLarge { limit: 1 },
            ApiError::UnsupportedMediaType,
            ApiError::Validation(Vec::new()),
            ApiError::PreconditionRequired,
            ApiError::Unavailable,
            ApiError::Internal(anyhow::anyhow!("x")),
        ];
        for e in fixed {
            let c = problem(e.code()).unwrap_or_else(|| panic!("{} is registered", e.code()));
            assert_eq!(c.status, e.status_code().as_u16(), "{}", c.code);
        }
    }
}
