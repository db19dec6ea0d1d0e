//! An example body for every request that takes one, in realistic Chinese data.
//!
//! Swagger UI's "Try it out" starts from these instead of `"string"`. They are kept here,
//! by the request schema's name, rather than on the types, so that the whole set can be
//! read and checked at once: a unit test validates each against its own schema and fails
//! on a request body without one.

use serde_json::{Value, json};

/// One named example of a request schema: (name, summary, body).
type Example = (&'static str, &'static str, Value);

/// The examples of the request schema `name`; the first is the default one.
pub fn of(name: &str) -> Vec<Example> {
    let member = "0193a5b2-8a01-7b2c-8d3e-4f5a6b7c8d90";
    let other_member = "0193a5b2-8a02-7c3d-9e4f-5a6b7c8d9e01";
    let trainee = "0193a5b2-8a03-7d4e-8f5a-6b7c8d9e0f12";
    let branch = "0193a5b2-9b10-7e5f-9a6b-7c8d9e0f1a23";
    let case = "0193a5b3-0c20-7f6a-8b7c-8d9e0f1a2b34";
    let entry = "0193a5b3-1d30-7a7b-9c8d-9e0f1a2b3c45";
    let ex = |body: Value| vec![("example", "示例 / Example", body)];
    match name {
        "NewTown" => ex(json!({
            "code": "320114101",
            "name": "铁心桥街道",
            "county_code": "320114",
            "time_zone": "Asia/Shanghai",
            "center_branch_name": "铁心桥街道党员服务转化中心党支部"
        })),
        "TownPatch" => ex(json!({ "name": "铁心桥镇" })),
        "NewBranch" => ex(json!({ "name": "新村党支部", "kind": "village" })),
        "BranchPatch" => ex(json!({ "name": "新村社区党支部" })),
        "SetDay" => vec![
            (
                "holiday",
                "节假日：工作日放假 / A weekday off",
                json!({ "kind": "holiday", "name": "国庆节" }),
            ),
            (
                "workday",
                "调休：周末上班 / A weekend day worked",
                json!({ "kind": "workday", "name": "国庆节调休上班" }),
            ),
        ],
        "NewMember" => ex(json!({
            "name": "张建国",
            "national_id": "320114198506120312",
            "phone": "13812345678",
            "village": "新村",
            "branch_id": branch,
            "joined_party_on": "2010-07-01",
            "reserve_cadre": true,
            "outstanding_young": false
        })),
        "MemberPatch" => ex(json!({ "phone": "13912345678", "village": "新村" })),
        "RosterFile" => ex(Value::String(
            "姓名,身份证号,所在支部,联系电话,村（社区）,入党日期,后备干部,优秀年轻党员\n\
             张建国,320114198506120312,新村党支部,13812345678,新村,2010-07-01,是,否\n\
             李秀英,320114197803054820,新村党支部,,新村,1999-06-28,否,否\n"
                .to_owned(),
        )),
        "NewTransfer" => vec![
            (
                "internal",
                "镇内支部间转接 / Between branches of the town",
                json!({
                    "kind": "internal",
                    "to_branch_id": branch,
                    "reason": "迁居新村",
                    "decided_on": "2026-12-01"
                }),
            ),
            (
                "outflow",
                "开具介绍信转出本镇 / A letter out of the town",
                json!({
                    "kind": "outflow",
                    "external_org": "江宁区秣陵街道党工委",
                    "letter_serial": "雨党介〔2026〕第018号",
                    "dues_paid_until": "2026-12-31",
                    "valid_days": 30,
                    "reason": "工作调动",
                    "decided_on": "2026-12-01"
                }),
            ),
        ],
        "NewInflow" => ex(json!({
            "name": "王建国",
            "national_id": "320114200109181234",
            "phone": "13812345679",
            "village": "新村",
            "external_org": "江宁区秣陵街道党工委",
            "letter_serial": "宁党介〔2026〕第102号",
            "valid_until": "2026-12-31",
            "dues_paid_until": "2026-12-31",
            "to_branch_id": branch,
            "reason": "返乡创业",
            "decided_on": "2026-12-01"
        })),
        "Receipt" => ex(json!({ "receipt_on": "2026-12-05" })),
        "Closing" => ex(json!({ "reason": "接收方组织信息有误" })),
        "NewCertificate" => ex(json!({
            "number": "LD-2026-001",
            "member_id": member,
            "destination": "江苏省南京市江宁区",
            "purpose": "务工",
            "issued_on": "2026-12-01",
            "valid_until": "2027-11-30"
        })),
        "ReturnCertificate" => ex(json!({ "returned_on": "2026-12-05" })),
        "NewReview" => ex(json!({
            "reviewed_on": "2026-12-05",
            "note": "按时参加流入地党组织生活，表现良好。",
            "valid_until": "2027-12-04"
        })),
        "RevokeCertificate" => ex(json!({ "reason": "持证人已将组织关系转出本镇。" })),
        "NewDeskEntry" => ex(json!({
            "visitor_name": "张建国",
            "member_id": member,
            "visitor_phone": "13812345678",
            "jurisdiction": "江宁区秣陵街道",
            "category": "floating_certificate",
            "request": "咨询流动党员活动证的办理"
        })),
        "StatusChange" => vec![
            (
                "in_progress",
                "开始办理 / Start handling",
                json!({ "status": "in_progress", "note": "已联系流入地党组织。" }),
            ),
            (
                "resolved",
                "办结 / Resolved",
                json!({ "status": "resolved", "outcome": "已为其办理流动党员活动证。" }),
            ),
            (
                "referred",
                "转办 / Referred elsewhere",
                json!({
                    "status": "referred",
                    "referred_to": "镇司法所",
                    "reason": "涉及土地纠纷，不属本中心职能。"
                }),
            ),
        ],
        "NewCase" => ex(json!({
            "member_id": member,
            "reason": "长期不参加组织生活，经镇党委研究转入中心教育转化。",
            "decided_on": "2026-12-01"
        })),
        "Adjustment" => vec![
            (
                "correction",
                "更正积分 / A correction",
                json!({
                    "kind": "correction",
                    "points": 1.5,
                    "reason": "补记 11 月份志愿服务三次。"
                }),
            ),
            (
                "reversal",
                "冲销一条记分 / Reverse an entry",
                json!({
                    "kind": "reversal",
                    "entry_id": entry,
                    "reason": "该次缺勤已补办请假手续。"
                }),
            ),
        ],
        "NewDisposition" => vec![
            (
                "talk",
                "谈话 / A talk",
                json!({ "disposition": "talk", "note": "镇党委副书记与其谈话，指出问题，提出要求。" }),
            ),
            (
                "deadline",
                "限期整改 / A deadline to correct",
                json!({
                    "disposition": "deadline",
                    "deadline": "2027-03-31",
                    "note": "限期三个月整改，按时参加组织生活。"
                }),
            ),
        ],
        "NewTask" => ex(json!({
            "title": "参加村环境整治志愿服务",
            "description": "12 月内参加两次村环境整治志愿服务，由村支部书记签字确认。",
            "due_on": "2026-12-31"
        })),
        "NewOutcome" => ex(json!({
            "outcome": "completed",
            "note": "已参加两次，村支部书记签字确认。"
        })),
        "NewObjection" => ex(json!({
            "entry_id": entry,
            "reason": "当天已向中心请假并获批准，不应记为缺勤。"
        })),
        "NewDecision" => ex(json!({
            "decision": "upheld",
            "reason": "经核实，当天确已请假获批，冲销该条缺勤记分。"
        })),
        "NewActivity" => ex(json!({
            "kind": "organizational_life",
            "title": "12 月主题党日：学习党章",
            "starts_at": "2026-12-10T09:00:00+08:00",
            "place": "服务转化中心会议室",
            "all_under_transformation": true,
            "trainee_member_ids": [trainee],
            "other_member_ids": [other_member]
        })),
        "NewRoll" => ex(json!({
            "items": [
                { "member_id": member, "status": "present" },
                {
                    "member_id": other_member,
                    "status": "excused",
                    "excuse_reason": "外出务工，事先请假",
                    "approved_by": "李明"
                },
                { "member_id": trainee, "status": "absent" }
            ]
        })),
        "NewEvaluation" => ex(json!({
            "case_id": case,
            "held_at": "2026-12-20T14:30:00+08:00",
            "place": "服务转化中心会议室",
            "panel": [
                { "kind": "center_staff", "subject": "staff-wang", "name": "王丽" },
                { "kind": "village_cadre", "subject": "cadre-zhao", "name": "赵强" },
                {
                    "kind": "party_member_representative",
                    "subject": "member-liu",
                    "name": "刘芳",
                    "member_id": other_member
                }
            ]
        })),
        "NewVote" => ex(json!({ "verdict": "qualified" })),
        "Cancellation" => ex(json!({ "reason": "评议小组成员多人外出，无法达到法定人数。" })),
        "NewCohort" => ex(json!({ "year": 2027 })),
        "CloseCohort" => ex(json!({ "reason": "年度培养结束" })),
        "NewTrainee" => ex(json!({ "member_id": trainee })),
        "NewPlacement" => vec![
            (
                "temporary_post",
                "挂职锻炼 / A temporary post",
                json!({
                    "kind": "temporary_post",
                    "post": "村主任助理",
                    "unit": "新村村委会",
                    "starts_on": "2026-03-01",
                    "ends_on": "2026-05-31"
                }),
            ),
            (
                "lecture",
                "上党课 / A party lecture",
                json!({
                    "kind": "lecture",
                    "note": "为中心支部党员讲授一次党课",
                    "starts_on": "2026-06-28",
                    "ends_on": "2026-06-28"
                }),
            ),
        ],
        "NewMentorship" => ex(json!({
            "mentor_id": other_member,
            "mentor_subject": "staff-wang",
            "mentee_id": trainee,
            "started_on": "2026-03-01"
        })),
        "EndMentorship" => ex(json!({ "reason": "学员结业", "ended_on": "2026-12-31" })),
        "NewLog" => ex(json!({
            "met_on": "2026-12-03",
            "topic": "学习党章",
            "study_notes": "共同学习党章第一章，交流入党初心。",
            "work_notes": "协助村里做好冬季防火宣传。"
        })),
        "PolicyChange" => ex(json!({
            "objection_period_working_days": 5,
            "excused_leave_costs": false,
            "mentor_limit": 2
        })),
        "NewApplicant" => ex(json!({
            "branch_id": branch,
            "name": "陈晓燕",
            "national_id": "320114200103151237",
            "phone": "13851234567",
            "village": "新村",
            "applied_on": "2026-03-02",
            "received_by": "新村党支部书记 王建国"
        })),
        "NewStep" => vec![
            (
                "talk",
                "派人谈话 / The branch's talk",
                json!({
                    "kind": "talk",
                    "taken_on": "2026-03-20",
                    "decided_by": "新村党支部委员会",
                    "note": "支部委员李秀英与其谈话，了解入党动机。"
                }),
            ),
            (
                "activist_designation",
                "确定为入党积极分子 / Designate an activist",
                json!({
                    "kind": "activist_designation",
                    "taken_on": "2026-04-10",
                    "decided_by": "新村党支部委员会",
                    "contacts": [member, other_member]
                }),
            ),
            (
                "review",
                "半年考察 / A half-yearly review",
                json!({
                    "kind": "review",
                    "taken_on": "2026-10-09",
                    "decided_by": "新村党支部委员会",
                    "note": "积极参加村环境整治志愿服务，按时提交思想汇报，表现良好。"
                }),
            ),
            (
                "candidate_designation",
                "列为发展对象 / Designate a candidate",
                json!({
                    "kind": "candidate_designation",
                    "taken_on": "2026-04-15",
                    "decided_by": "铁心桥街道党工委",
                    "introducers": [member, other_member]
                }),
            ),
            (
                "training",
                "集中培训 / The short training",
                json!({
                    "kind": "training",
                    "taken_on": "2026-05-20",
                    "decided_by": "铁心桥街道党校",
                    "days": 3
                }),
            ),
            (
                "admission",
                "支部大会讨论接收 / The branch general meeting admits",
                json!({
                    "kind": "admission",
                    "taken_on": "2026-06-18",
                    "decided_by": "新村党支部党员大会",
                    "eligible": 28,
                    "present": 25,
                    "in_favour": 24
                }),
            ),
            (
                "extension",
                "延长预备期 / Extend the probation",
                json!({
                    "kind": "extension",
                    "taken_on": "2026-07-05",
                    "decided_by": "铁心桥街道党工委",
                    "months": 6,
                    "note": "预备期内参加组织生活不够经常，延长预备期六个月继续考察。"
                }),
            ),
            (
                "withdrawal",
                "撤回申请 / Withdraw the application",
                json!({
                    "kind": "withdrawal",
                    "taken_on": "2026-06-01",
                    "decided_by": "陈晓燕本人",
                    "note": "本人书面申请撤回入党申请。"
                }),
            ),
        ],
        "NewMaterial" => ex(json!({
            "title": "习近平新时代中国特色社会主义思想学习纲要",
            "kind": "book",
            "copies": 30,
            "note": "2026 年 11 月镇党委宣传办配发。"
        })),
        "MaterialPatch" => ex(json!({ "copies": 28, "note": "两册破损，已下架。" })),
        "NewLoan" => ex(json!({
            "branch_id": branch,
            "borrower": "王建国",
            "copies": 10,
            "lent_on": "2026-12-01",
            "due_on": "2026-12-31"
        })),
        "ReturnLoan" => ex(json!({ "returned_on": "2026-12-05" })),
        "NewGroup" => ex(json!({
            "name": "第一党小组",
            "member_ids": [member, other_member],
            "leader_id": member
        })),
        "GroupPatch" => {
            ex(json!({ "name": "东片党小组", "member_ids": [member, other_member, trainee] }))
        }
        "NewOfficer" => ex(json!({
            "member_id": member,
            "office": "secretary",
            "term_from": "2024-01-01",
            "term_to": "2028-12-31"
        })),
        "NewMeeting" => ex(json!({
            "branch_id": branch,
            "kind": "theme_day",
            "starts_at": "2026-12-10T09:00:00+08:00",
            "place": "新村党群服务中心",
            "host": "李明",
            "topic": "学习贯彻党的二十届三中全会精神",
            "center_role": "helped",
            "extra_member_ids": [trainee]
        })),
        "NewMinutes" => vec![
            (
                "first",
                "首次录入 / The first minutes",
                json!({ "text": "一、传达上级会议精神\n二、讨论本月为民服务事项" }),
            ),
            (
                "correction",
                "更正 / A correction",
                json!({
                    "text": "一、传达上级会议精神\n二、讨论本月为民服务事项及入党积极分子培养",
                    "correction_reason": "漏记第二项议题的后半部分"
                }),
            ),
        ],
        _ => Vec::new(),
    }
}

/// Puts the examples of each request body's schema on its content: one as `example`,
/// several as named `examples` (Swagger UI offers them in a list). A binary upload (an
/// XLSX roster) has none: it is not text.
pub fn add_to_requests(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for item in paths.values_mut().filter_map(Value::as_object_mut) {
        for op in item.values_mut() {
            let Some(content) = op
                .pointer_mut("/requestBody/content")
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            for (media_type, media) in content.iter_mut() {
                if media_type.contains("spreadsheetml") {
                    continue;
                }
                let name = media
                    .pointer("/schema/$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| r.rsplit('/').next())
                    .unwrap_or_default()
                    .to_owned();
                let Some(media) = media.as_object_mut() else {
                    continue;
                };
                match of(&name).as_slice() {
                    [] => {}
                    [(_, _, body)] => {
                        media.insert("example".to_owned(), body.clone());
                    }
                    many => {
                        let named = many
                            .iter()
                            .map(|(key, summary, body)| {
                                (
                                    (*key).to_owned(),
                                    json!({ "summary": summary, "value": body }),
                                )
                            })
                            .collect();
                        media.insert("examples".to_owned(), Value::Object(named));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    /// What is wrong with `value` under `schema` (resolved in `doc`): types, `enum`,
    /// `required`, unknown properties, lengths, bounds, array sizes, `oneOf`. Patterns
    /// and formats are the server's to check (CI's schemathesis run checks them too).
    fn problems(doc: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
        if let Some(r) = schema["$ref"].as_str() {
            let target = doc
                .pointer(r.trim_start_matches('#'))
                .expect("the $ref resolves");
            return problems(doc, target, value, at);
        }
        if let Some(variants) = schema["oneOf"].as_array() {
            let fitting = variants
                .iter()
                .filter(|v| problems(doc, v, value, at).is_empty())
                .count();
            return match fitting {
                1 => Vec::new(),
                n => vec![format!("{at}: fits {n} of the oneOf variants, not one")],
            };
        }
        let mut out = Vec::new();
        let types: Vec<&str> = match &schema["type"] {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let type_of = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        let fits = types.is_empty()
            || types.contains(&type_of)
            || (type_of == "integer" && types.contains(&"number"));
        if !fits {
            return vec![format!("{at}: a {type_of}, the schema says {types:?}")];
        }
        if let Some(values) = schema["enum"].as_array()
            && !values.contains(value)
        {
            out.push(format!("{at}: {value} is not one of {values:?}"));
        }
        match value {
            Value::String(s) => {
                let len = s.chars().count() as u64;
                if schema["minLength"].as_u64().is_some_and(|min| len < min)
                    || schema["maxLength"].as_u64().is_some_and(|max| len > max)
                {
                    out.push(format!("{at}: length {len} out of bounds"));
                }
            }
            Value::Number(n) => {
                let x = n.as_f64().unwrap();
                if schema["minimum"].as_f64().is_some_and(|min| x < min)
                    || schema["maximum"].as_f64().is_some_and(|max| x > max)
                {
                    out.push(format!("{at}: {x} out of bounds"));
                }
                if let Some(step) = schema["multipleOf"].as_f64()
                    && (x / step).fract() != 0.0
                {
                    out.push(format!("{at}: {x} is not a multiple of {step}"));
                }
            }
            Value::Array(items) => {
                let len = items.len() as u64;
                if schema["minItems"].as_u64().is_some_and(|min| len < min)
                    || schema["maxItems"].as_u64().is_some_and(|max| len > max)
                {
                    out.push(format!("{at}: {len} items out of bounds"));
                }
                for (i, item) in items.iter().enumerate() {
                    out.extend(problems(doc, &schema["items"], item, &format!("{at}[{i}]")));
                }
            }
            Value::Object(map) => {
                for required in schema["required"].as_array().into_iter().flatten() {
                    let name = required.as_str().unwrap();
                    if !map.contains_key(name) {
                        out.push(format!("{at}: required `{name}` is missing"));
                    }
                }
                let properties = schema["properties"].as_object();
                for (key, child) in map {
                    match properties.and_then(|p| p.get(key)) {
                        Some(property) => {
                            out.extend(problems(doc, property, child, &format!("{at}.{key}")));
                        }
                        None if schema["additionalProperties"] == Value::Bool(false) => {
                            out.push(format!("{at}: `{key}` is not a property"));
                        }
                        None => {}
                    }
                }
            }
            _ => {}
        }
        out
    }

    #[test]
    fn the_validator_sees_what_is_wrong() {
        let doc = serde_json::to_value(crate::openapi::document()).unwrap();
        let member = serde_json::json!({ "$ref": "#/components/schemas/NewMember" });
        let wrong = serde_json::json!({ "name": "", "national_id": 5, "bogus": true });
        let found = problems(&doc, &member, &wrong, "body");
        for expected in [
            "length 0",
            "national_id: a integer",
            "`branch_id` is missing",
            "`bogus`",
        ] {
            assert!(
                found.iter().any(|p| p.contains(expected)),
                "{expected} in {found:?}"
            );
        }
        let adjustment = serde_json::json!({ "$ref": "#/components/schemas/Adjustment" });
        let neither = serde_json::json!({ "kind": "correction", "reason": "x" });
        assert!(!problems(&doc, &adjustment, &neither, "body").is_empty());
    }

    #[test]
    fn every_request_body_has_an_example_valid_against_its_schema() {
        let doc = serde_json::to_value(crate::openapi::document()).unwrap();
        let mut wrong = Vec::new();
        let mut checked = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let Some(content) = op["requestBody"]["content"].as_object() else {
                    continue;
                };
                let mut has_one = false;
                for (media_type, media) in content {
                    let mut bodies: Vec<&Value> = media.get("example").into_iter().collect();
                    bodies.extend(
                        media["examples"]
                            .as_object()
                            .into_iter()
                            .flat_map(|named| named.values().map(|e| &e["value"])),
                    );
                    has_one |= !bodies.is_empty();
                    if media_type == "application/json" && bodies.is_empty() {
                        wrong.push(format!("{method} {path}: no JSON example"));
                    }
                    for body in bodies {
                        checked += 1;
                        for p in problems(&doc, &media["schema"], body, "body") {
                            wrong.push(format!("{method} {path} ({media_type}): {p}"));
                        }
                    }
                }
                if !has_one {
                    wrong.push(format!("{method} {path}: no example body"));
                }
            }
        }
        assert!(checked >= 40, "{checked} examples checked");
        assert!(wrong.is_empty(), "request examples: {wrong:#?}");
    }
}
