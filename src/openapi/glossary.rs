//! Chinese for every enum value the document shows, and for every error code.
//!
//! The values stay English (they are what a client sends and switches on); the document
//! says what each means in Chinese: each enum schema's description lists its values
//! (`value`：中文), a parameter or property with an inline enum does the same, the top
//! description has the whole glossary, and a problem's `code` (and a field error's)
//! becomes an `enum` of every code the service answers ([`crate::error::codes`]), each
//! with its meaning in both languages. A unit test fails on an enum value of the
//! generated document that has no entry here.

use serde_json::{Map, Value};

use crate::error::codes::{Code, FIELD_CODES, PROBLEM_CODES};

/// One enum's values in Chinese: the schema's name (the Rust type's), then each value.
type Entry = (&'static str, &'static [(&'static str, &'static str)]);

/// Every enum of the document, by schema name.
pub const ENUMS: &[Entry] = &[
    (
        "ActivityKind",
        &[
            ("meeting", "会议"),
            ("lecture", "党课"),
            ("organizational_life", "组织生活"),
            ("cultural", "文化活动"),
            ("central_work", "全镇中心工作"),
        ],
    ),
    (
        "AttendanceStatus",
        &[("present", "出勤"), ("absent", "缺勤"), ("excused", "请假")],
    ),
    (
        "BranchKind",
        &[
            ("village", "村党支部"),
            ("enterprise", "企业党支部"),
            ("organ", "机关党支部"),
            ("center", "党员服务转化中心支部"),
            ("other", "其他党支部"),
        ],
    ),
    (
        "CaseStatus",
        &[
            ("active", "转化中"),
            ("below_threshold", "低于低分线，待镇党委处理"),
            ("evaluation_due", "达到评议分数线，待民主评议"),
            ("under_evaluation", "民主评议中"),
            ("concluded", "已结案"),
        ],
    ),
    (
        "CertificateStatus",
        &[
            ("valid", "有效"),
            ("expired", "已过期"),
            ("returned", "已交回"),
            ("revoked", "已收回"),
        ],
    ),
    (
        "CohortStatus",
        &[
            ("selecting", "遴选中"),
            ("confirmed", "名单已确认"),
            ("closed", "已结束"),
        ],
    ),
    (
        "Conclusion",
        &[
            ("returned", "评议合格，转回原支部"),
            ("removed", "除名"),
            ("other", "其他"),
        ],
    ),
    (
        "DayKind",
        &[
            ("holiday", "节假日（工作日放假）"),
            ("workday", "调休上班日（周末上班）"),
        ],
    ),
    (
        "Decision",
        &[("upheld", "支持异议"), ("rejected", "不予支持")],
    ),
    (
        "DeskCategory",
        &[
            ("relation_transfer", "组织关系接转"),
            ("consultation", "咨询"),
            ("help_request", "求助"),
            ("counselling", "谈心谈话与心理疏导"),
            ("floating_certificate", "流动党员活动证"),
            ("materials", "党报党刊与学习资料"),
            ("branch_support", "协助支部开展组织生活"),
            ("recruitment_help", "协助发展党员"),
            ("other", "其他"),
        ],
    ),
    (
        "DeskStatus",
        &[
            ("registered", "已登记"),
            ("in_progress", "办理中"),
            ("resolved", "已办结"),
            ("referred", "已转办"),
        ],
    ),
    (
        "Disposition",
        &[
            ("talk", "谈话"),
            ("deadline", "限期整改"),
            ("persuade_to_leave", "劝退"),
            ("removal", "除名"),
            ("other", "其他"),
        ],
    ),
    (
        "EligibleAs",
        &[
            ("outstanding_young", "优秀年轻党员"),
            ("reserve_cadre", "村后备干部"),
            ("both", "优秀年轻党员兼村后备干部"),
        ],
    ),
    (
        "EntryKind",
        &[
            ("task_completed", "完成任务（加分）"),
            ("task_not_completed", "未完成任务（扣分）"),
            ("absence", "缺勤（扣分）"),
            ("correction", "镇党委更正"),
            ("reversal", "冲销"),
        ],
    ),
    (
        "EvaluationStatus",
        &[
            ("open", "进行中"),
            ("passed", "评议合格"),
            ("failed", "评议不合格"),
            ("cancelled", "已取消"),
        ],
    ),
    (
        "EvaluatorKind",
        &[
            ("center_staff", "中心工作人员"),
            ("village_cadre", "村两委干部"),
            ("congress_deputy", "人大代表"),
            ("party_member_representative", "党员代表"),
            ("public_representative", "群众代表"),
        ],
    ),
    (
        "MaterialKind",
        &[
            ("party_press", "党报党刊"),
            ("book", "书籍"),
            ("document", "文件资料"),
            ("audiovisual", "音像资料"),
            ("other", "其他"),
        ],
    ),
    (
        "MemberStatus",
        &[
            ("active", "正常（在本镇支部）"),
            ("incoming", "转入中"),
            ("transferred_out", "已转出"),
            ("removed", "已除名"),
            ("deceased", "已去世"),
        ],
    ),
    (
        "MenteeBasis",
        &[("trainee", "培养学员"), ("transformation", "转化党员")],
    ),
    (
        "ObjectionStatus",
        &[
            ("open", "待决定"),
            ("upheld", "已支持"),
            ("rejected", "不予支持"),
        ],
    ),
    (
        "OverdueKind",
        &[
            ("talk", "逾期未谈话"),
            ("review", "逾期未考察"),
            ("approval", "逾期未审批"),
            ("conversion", "预备期满未转正"),
        ],
    ),
    (
        "PlacementKind",
        &[
            ("lecture", "上党课"),
            ("temporary_post", "挂职锻炼"),
            ("central_work", "参与全镇中心工作"),
        ],
    ),
    (
        "RequestedKind",
        &[("internal", "镇内支部间转接"), ("outflow", "转出本镇")],
    ),
    (
        "RequiredAs",
        &[
            ("transformation", "转化党员"),
            ("trainee", "培养学员"),
            ("other", "其他人员"),
        ],
    ),
    ("Sex", &[("male", "男"), ("female", "女")]),
    (
        "SourceType",
        &[
            ("task", "任务"),
            ("attendance", "考勤"),
            ("meeting_attendance", "会议考勤"),
            ("objection", "异议"),
        ],
    ),
    (
        "Stage",
        &[
            ("applicant", "入党申请人"),
            ("activist", "入党积极分子"),
            ("candidate", "发展对象"),
            ("probationary", "预备党员"),
            ("full", "正式党员"),
            ("withdrawn", "已撤回申请"),
            ("disqualified", "已取消资格"),
        ],
    ),
    (
        "Standing",
        &[("probationary", "预备党员"), ("full", "正式党员")],
    ),
    (
        "StepKind",
        &[
            ("application", "递交入党申请书"),
            ("talk", "党支部派人谈话"),
            (
                "activist_designation",
                "确定为入党积极分子（指定培养联系人）",
            ),
            ("review", "考察入党积极分子"),
            ("candidate_designation", "列为发展对象（确定入党介绍人）"),
            ("political_review", "政治审查"),
            ("training", "集中培训"),
            ("admission", "支部大会讨论接收为预备党员"),
            ("approval", "镇党委审批"),
            ("extension", "延长预备期"),
            ("conversion_vote", "支部大会讨论预备党员转正"),
            ("conversion", "镇党委审批转正"),
            ("withdrawal", "撤回入党申请"),
            ("disqualification", "取消资格（转为正式党员前的任一阶段）"),
        ],
    ),
    (
        "TaskOutcome",
        &[("completed", "已完成"), ("not_completed", "未完成")],
    ),
    (
        "TransferKind",
        &[
            ("registration", "登记入支部"),
            ("internal", "镇内转接"),
            ("outflow", "转出本镇"),
            ("inflow", "转入本镇"),
            ("intake", "转入中心支部接受转化"),
            ("return", "评议合格转回原支部"),
        ],
    ),
    (
        "TransferStatus",
        &[
            ("completed", "已完成"),
            ("issued", "介绍信已开出"),
            ("received", "已回执"),
            ("rejected", "被退回"),
            ("revoked", "已撤回"),
        ],
    ),
    (
        "Unscored",
        &[
            ("case_concluded", "档案已结案，不再记分"),
            ("score_frozen", "待评议后积分冻结"),
        ],
    ),
    (
        "Verdict",
        &[("qualified", "合格"), ("not_qualified", "不合格")],
    ),
    (
        "ExportFormat",
        &[
            ("json", "JSON 数据"),
            ("csv", "CSV 表格（UTF-8，中文列标题）"),
            ("xlsx", "Excel 工作簿（中文列标题）"),
        ],
    ),
    (
        "MeetingKind",
        &[
            ("general_meeting", "支部党员大会"),
            ("branch_committee", "支部委员会"),
            ("party_group", "党小组会"),
            ("party_lecture", "党课"),
            ("theme_day", "主题党日"),
            ("life_meeting", "组织生活会"),
            ("member_appraisal", "民主评议党员"),
        ],
    ),
    (
        "CenterRole",
        &[
            ("none", "无"),
            ("hosted", "由服务中心承办"),
            ("helped", "服务中心协助"),
        ],
    ),
    (
        "AttendsAs",
        &[
            ("branch_member", "本支部党员"),
            ("group_member", "本党小组成员"),
            ("extra", "另行列入（如流入、流动党员）"),
        ],
    ),
    (
        "Office",
        &[
            ("secretary", "支部书记"),
            ("deputy_secretary", "支部副书记"),
            ("committee_member", "支部委员"),
        ],
    ),
    (
        "PeriodUnit",
        &[("month", "月"), ("quarter", "季度"), ("year", "年")],
    ),
    (
        "ChartFormat",
        &[("json", "JSON 数据"), ("svg", "SVG 积分变化图")],
    ),
];

/// Enums whose values are names, not words: said once, not translated value by value.
pub const NAMES: &[(&str, &str)] = &[(
    "TimeZone",
    "IANA 时区名，原样使用，如 `Asia/Shanghai`（北京时间）。 IANA time zone names, as they are.",
)];

/// The glossaries the error codes make, named as the enum they become.
fn code_entries() -> [(&'static str, Vec<(&'static str, &'static str)>); 2] {
    let zh = |codes: &'static [Code]| codes.iter().map(|c| (c.code, c.zh)).collect();
    [
        ("ProblemCode", zh(PROBLEM_CODES)),
        ("FieldCode", zh(FIELD_CODES)),
    ]
}

/// The Chinese of each of `values`: from the schema `name` when it is one of [`ENUMS`],
/// else (an inline enum) from the entry with exactly these values, or the smallest one
/// holding them all (a tagged variant's single `kind`). `None` when a value has none.
pub fn lookup(name: Option<&str>, values: &[&str]) -> Option<Vec<(String, &'static str)>> {
    let codes = code_entries();
    let all: Vec<(&str, Vec<(&'static str, &'static str)>)> = ENUMS
        .iter()
        .map(|(n, v)| (*n, v.to_vec()))
        .chain(codes)
        .collect();
    let holds = |entry: &[(&str, &str)]| values.iter().all(|v| entry.iter().any(|(e, _)| e == v));
    let entry = match name.and_then(|n| all.iter().find(|(e, _)| *e == n)) {
        Some((_, entry)) => entry,
        None => all
            .iter()
            .filter(|(_, entry)| holds(entry))
            .min_by_key(|(_, entry)| entry.len())
            .map(|(_, entry)| entry)?,
    };
    values
        .iter()
        .map(|v| {
            entry
                .iter()
                .find(|(e, _)| e == v)
                .map(|(_, zh)| ((*v).to_owned(), *zh))
        })
        .collect()
}

/// The Markdown list of values and their Chinese appended to a description.
fn listing(entries: &[(String, &str)]) -> String {
    let lines: Vec<String> = entries
        .iter()
        .map(|(value, zh)| format!("- `{value}`：{zh}"))
        .collect();
    format!("取值 / Values:\n{}", lines.join("\n"))
}

fn append(map: &mut Map<String, Value>, text: &str) {
    let joined = match map.get("description").and_then(Value::as_str) {
        Some(d) if !d.is_empty() => format!("{d}\n\n{text}"),
        _ => text.to_owned(),
    };
    map.insert("description".to_owned(), Value::String(joined));
}

/// The string values of an object's `enum`, if it has one.
pub fn enum_values(map: &Map<String, Value>) -> Option<Vec<&str>> {
    map.get("enum")?
        .as_array()?
        .iter()
        .filter(|v| !v.is_null())
        .map(Value::as_str)
        .collect()
}

/// Describes every inline enum under `v`: a parameter's in the parameter's description
/// (what Swagger UI shows), any other in its own. Examples are data and left alone.
fn walk(v: &mut Value) {
    match v {
        Value::Object(map) => {
            let param_enum = map
                .get("in")
                .and(map.get("schema"))
                .and_then(Value::as_object)
                .and_then(enum_values)
                .map(|values| values.into_iter().map(str::to_owned).collect::<Vec<_>>());
            if let Some(values) = param_enum {
                let values: Vec<&str> = values.iter().map(String::as_str).collect();
                if let Some(entries) = lookup(None, &values) {
                    append(map, &listing(&entries));
                }
                return;
            }
            let own = enum_values(map)
                .map(|values| lookup(None, &values))
                .map(|entries| entries.map(|e| listing(&e)));
            match own {
                Some(Some(text)) => append(map, &text),
                Some(None) => {}
                None => {
                    for (key, child) in map.iter_mut() {
                        if key != "example" && key != "examples" {
                            walk(child);
                        }
                    }
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(walk),
        _ => {}
    }
}

/// Adds the Chinese of every enum value to the document `doc` (as JSON).
pub fn describe_enums(doc: &mut Value) {
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for (name, schema) in schemas.iter_mut() {
            let Some(map) = schema.as_object_mut() else {
                continue;
            };
            let text = match enum_values(map) {
                None => {
                    walk(schema);
                    continue;
                }
                Some(values) => match NAMES.iter().find(|(n, _)| n == name) {
                    Some((_, note)) => Some((*note).to_owned()),
                    None => lookup(Some(name), &values).map(|e| listing(&e)),
                },
            };
            if let Some(text) = text {
                append(map, &text);
            }
        }
    }
    if let Some(paths) = doc.get_mut("paths") {
        walk(paths);
    }
}

/// Makes a problem's `code` and a field error's `code` enums of every code the service
/// answers, each described in both languages.
pub fn enumerate_codes(doc: &mut Value) {
    for (schema, codes, intro) in [
        (
            "Problem",
            PROBLEM_CODES,
            "稳定的机器可读错误码，客户端可据此分支处理；按状态码列出如下。 \
             A stable machine-readable code to switch on; every value, by status:",
        ),
        (
            "FieldProblem",
            FIELD_CODES,
            "该字段错误的稳定代码。 A stable code for what is wrong with the field; every value:",
        ),
    ] {
        let pointer = format!("/components/schemas/{schema}/properties/code");
        let Some(code) = doc.pointer_mut(&pointer).and_then(Value::as_object_mut) else {
            continue;
        };
        let lines: Vec<String> = codes
            .iter()
            .map(|c| match c.status {
                0 => format!("- `{}`：{} / {}", c.code, c.zh, c.en),
                status => format!("- `{}` ({status})：{} / {}", c.code, c.zh, c.en),
            })
            .collect();
        code.insert(
            "description".to_owned(),
            Value::String(format!("{intro}\n\n{}", lines.join("\n"))),
        );
        code.insert(
            "enum".to_owned(),
            Value::Array(codes.iter().map(|c| Value::from(c.code)).collect()),
        );
    }
}

/// The glossary section of the document's top description.
pub fn section() -> String {
    let mut out = String::from(
        "## 枚举值中文对照 / Enum values in Chinese\n\n\
         接口中的取值保持英文不变，其中文含义如下；错误码见 `Problem` 的 `code`。 \
         The values stay English; what each means in Chinese. The error codes are listed \
         under `Problem.code`.\n",
    );
    for (name, values) in ENUMS {
        let items: Vec<String> = values
            .iter()
            .map(|(value, zh)| format!("`{value}` {zh}"))
            .collect();
        out.push_str(&format!("\n- **{name}**：{}", items.join("；")));
    }
    for (name, note) in NAMES {
        out.push_str(&format!("\n- **{name}**：{note}"));
    }
    out
}
