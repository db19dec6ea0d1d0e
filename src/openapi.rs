//! The OpenAPI document: generated from the handlers' `#[utoipa::path]` attributes, then
//! completed by [`conventions`] with what every endpoint shares (error responses, the
//! `If-Match` and `Idempotency-Key` headers), so that those are written once and can
//! never be forgotten on a new endpoint; [`glossary`] adds the Chinese of every enum
//! value and makes the error codes an enum, [`examples`] an example of every request body.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{HttpMethod, Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::ObjectBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Object, OpenApi as OpenApiDoc, Ref, RefOr, Required, Type};
use utoipa::{Modify, OpenApi};

use crate::error::{ApiError, AuthFailure, FieldProblem, Lang, PROBLEM_JSON, Problem};
use crate::msg;

pub mod examples;
pub mod glossary;

/// The fixed part of the document: info, tags, shared schemas, the bearer scheme.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "party-center",
        description = "REST/JSON API of a rural town's Party Member Service & Transformation Center \
(党员服务转化中心): service desk, relation transfers, floating member certificates, training \
cohorts and mentoring, and transformation management with a points ledger.\n\n\
Authenticate with `Authorization: Bearer <JWT>`. Each operation lists the roles it admits as the \
scopes of its `bearer` security requirement; any other role gets 403, and a resource of another \
town answers 404. Errors are RFC 9457 `application/problem+json` with a stable `code`; `title` and \
`detail` are Chinese unless `Accept-Language: en` is sent.\n\n\
镇党员服务转化中心的 REST/JSON 接口：服务窗口登记、组织关系接转、流动党员活动证、培养学员与结对教育，\
以及带积分台账的转化管理。请求须带 `Authorization: Bearer <JWT>`；每个接口在其 `bearer` 安全要求中列出可用的角色，\
其他角色得到 403，其他镇的资源一律答 404。错误为 RFC 9457 `application/problem+json`，`code` 稳定不变；\
`title` 与 `detail` 默认为中文，请求头 `Accept-Language: en` 时为英文。"
    ),
    tags(
        (name = "towns", description = "镇：本服务的租户。 Towns, the tenants of the service."),
        (name = "branches", description = "镇内的党支部，包括服务转化中心支部。 Party branches of a town; the center branch among them."),
        (name = "members", description = "本镇党员：档案、检索、批量导入；敏感号码脱敏显示。 Party members of a town: records, search, import; sensitive numbers masked."),
        (name = "transfers", description = "组织关系接转与介绍信。 Organizational relation transfers (组织关系接转) and introduction letters."),
        (name = "certificates", description = "流动党员活动证。 Floating party member activity certificates (流动党员活动证)."),
        (name = "desk", description = "服务窗口登记：来者皆登记，所求皆记录。 The service desk register: whoever comes, whatever they ask."),
        (name = "audit", description = "每一次写操作的审计记录。 The audit trail of every write."),
        (name = "reports", description = "查询与导出：全镇概况、积分变化、积分台账、考勤、窗口登记、逾期介绍信、学员名册与发展党员统计（JSON、CSV、XLSX）。 Read-outs and exports: a town's summary, a case's score over time, the ledger, attendance, desk register, overdue letters, roster and the development pipeline as JSON, CSV or XLSX."),
        (name = "events", description = "供对接系统使用的变更流：按提交顺序、以游标读取的每一次写入。 The change feed for integrating systems: every committed write, in order, by cursor."),
        (name = "calendar", description = "本镇的节假日与调休工作日：哪些日子算工作日。 A town's holidays and worked weekend days (调休): what working days count."),
        (name = "policy", description = "本镇的版本化规则参数：规则留给各镇确定的数字。 A town's versioned policy: the numbers the rules leave open."),
        (name = "cases", description = "转化档案：接收转入、积分台账、调整、镇党委处理事项。 Transformation cases: intake, the points ledger, adjustments, committee matters."),
        (name = "tasks", description = "档案的任务及其唯一的完成情况；党员对记分提出的异议。 Tasks of a case and their one outcome; members' objections to ledger entries."),
        (name = "activities", description = "中心的会议与活动及其考勤。 Meetings and activities of the center, and their attendance rolls."),
        (name = "meetings", description = "各支部的组织生活：党小组、支部委员任期、三会一课等会议及其考勤与会议记录、按本镇规定频次的落实情况。 Organizational life of the branches: party groups, officers' terms, meetings of the regulated kinds with their rolls and minutes, and how they measure against the town's frequencies."),
        (name = "evaluations", description = "民主评议：评议小组、无记名投票、结束评议。 Democratic evaluations (民主评议): panels, secret ballots, closing."),
        (name = "cohorts", description = "年度培养学员班（10-15 人）、培养安排与名册。 Yearly training cohorts (10-15 trainees), placements and rosters."),
        (name = "mentorships", description = "一对一结对教育：结对、谈话记录、导师负担。 One-on-one mentoring (结对教育): pairings, meeting logs, mentor loads."),
        (name = "applicants", description = "发展党员：入党申请人、入党积极分子、发展对象、预备党员到正式党员的每一步。 Member development (发展党员): every step from applicant to full member."),
        (name = "materials", description = "中心保管的党报党刊、书籍与资料，及其借给各支部的记录。 The party reports, books and materials the center keeps, and their loans to branches."),
        (name = "me", description = "党员本人通过 member 令牌查看自己的信息。 A member's own record, through a `member` token."),
        (name = "operations", description = "存活、就绪与监控指标。 Health, readiness and metrics."),
    ),
    servers((url = "/", description = "本服务（文档所在的同一地址） / this service, at the address serving this document")),
    components(schemas(Problem, FieldProblem)),
    modifiers(&BearerScheme)
)]
pub struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A JWT (HS256, RS256 or EdDSA) with claims `sub`, `role`, `iss`, `aud`, `exp`, `iat`, and `town` \
                         (staff, committee, member), `member_id` (member) or `county` (county). \
                         `party-center token --help` mints one.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The shared error responses, by status: (status, component name, description).
/// Each is shown with an example made by rendering a real error of that status
/// ([`example_error`]), so the examples cannot say something the service does not.
const PROBLEMS: &[(&str, &str, &str)] = &[
    (
        "400",
        "BadRequest",
        "The request cannot be read: broken JSON, a bad path or query parameter (`malformed_json`, `invalid_path`, `invalid_query`, `invalid_limit`, `invalid_cursor`, `invalid_idempotency_key`).",
    ),
    (
        "401",
        "Unauthorized",
        "No valid token (`missing_token`, `malformed_authorization`, `invalid_token`, `token_expired`, `token_not_yet_valid`).",
    ),
    (
        "403",
        "Forbidden",
        "The token's role may not do this (`forbidden`).",
    ),
    (
        "404",
        "NotFound",
        "No such resource, or one of a town the caller does not cover (`not_found`).",
    ),
    (
        "412",
        "PreconditionFailed",
        "`If-Match` names a version that is no longer current (`precondition_failed`).",
    ),
    (
        "413",
        "PayloadTooLarge",
        "The body is over the size limit (`payload_too_large`).",
    ),
    (
        "415",
        "UnsupportedMediaType",
        "The body is not `application/json` (`unsupported_media_type`).",
    ),
    (
        "422",
        "UnprocessableContent",
        "Well-formed but invalid: `validation_failed` lists each field in `errors`; `idempotency_key_reused` when the key was used for another request.",
    ),
    (
        "428",
        "PreconditionRequired",
        "A change needs `If-Match` (`precondition_required`).",
    ),
    (
        "500",
        "InternalError",
        "Something failed on the server's side; nothing internal is disclosed (`internal_error`).",
    ),
    (
        "503",
        "ServiceUnavailable",
        "The database is busy or the service is stopping; retry after `Retry-After` seconds (`service_unavailable`).",
    ),
];

/// A typical error of `status`, as the service renders it.
fn example_error(status: &str) -> Option<ApiError> {
    Some(match status {
        "400" => ApiError::bad_request(
            "invalid_query",
            msg!(
                "未知的查询参数：statuss。",
                "Unknown query parameter `statuss`."
            ),
        ),
        "401" => ApiError::Unauthorized(AuthFailure::Invalid),
        "403" => ApiError::RoleNotAllowed {
            allowed: vec!["staff", "committee"],
        },
        "404" => ApiError::NotFound,
        "412" => ApiError::PreconditionFailed,
        "413" => ApiError::PayloadTooLarge { limit: 65536 },
        "415" => ApiError::UnsupportedMediaType,
        "422" => ApiError::invalid(
            "name",
            "required",
            msg!("name 不能为空。", "`name` must not be empty."),
        ),
        "428" => ApiError::PreconditionRequired,
        "500" => ApiError::Internal(anyhow::anyhow!("an example")),
        "503" => ApiError::Unavailable,
        _ => return None,
    })
}

/// Builds the complete document from the routes the server registers.
pub fn document() -> OpenApiDoc {
    let (_, mut api) = {
        use utoipa_actix_web::AppExt;
        actix_web::App::new()
            .into_utoipa_app()
            .openapi(ApiDoc::openapi())
            .configure(crate::startup::routes)
            .split_for_parts()
    };
    conventions(&mut api);
    let description = api.info.description.take().unwrap_or_default();
    api.info.description = Some(format!("{description}\n\n{}", glossary::section()));
    // The glossary walks the document as JSON, which reaches every inline schema alike.
    let mut json = serde_json::to_value(&api).expect("the document is JSON");
    glossary::describe_enums(&mut json);
    glossary::enumerate_codes(&mut json);
    examples::add_to_requests(&mut json);
    serde_json::from_value(json).expect("the document reads back")
}

/// Adds to every operation what the API conventions make true of it.
fn conventions(api: &mut OpenApiDoc) {
    let components = api.components.get_or_insert_with(Default::default);
    for (status, name, description) in PROBLEMS {
        let example =
            example_error(status).and_then(|e| serde_json::to_value(e.problem(Lang::Zh)).ok());
        components.responses.insert(
            (*name).to_owned(),
            RefOr::T(problem_response(description, example)),
        );
    }
    for (path, item) in api.paths.paths.iter_mut() {
        let has_path_params = path.contains('{');
        let api_path = path.starts_with("/api/");
        for (method, op) in operations(item) {
            let mut statuses: Vec<&str> = vec!["500"];
            if api_path {
                statuses.extend(["400", "401", "403", "503"]);
            }
            if has_path_params {
                statuses.push("404");
            }
            if op.request_body.is_some() {
                statuses.extend(["413", "415", "422"]);
            }
            // Changes carry If-Match: every PATCH, and any action that declares a 428.
            if method == HttpMethod::Patch || op.responses.responses.contains_key("428") {
                statuses.extend(["412", "428"]);
                add_header_param(
                    op,
                    "If-Match",
                    Required::True,
                    "The resource's current `ETag`, e.g. `\"3\"` (a stale one is a 412), or `*` for any version.",
                    string_matching(r#"^(\*|"[0-9]{1,18}")$"#, 1, 20),
                );
            }
            if method == HttpMethod::Post && op.responses.responses.contains_key("201") {
                add_header_param(
                    op,
                    "Idempotency-Key",
                    Required::False,
                    "Makes a retry safe: the same key with the same body returns the first answer and changes nothing; \
                     with another body it is a 422. 1 to 255 visible ASCII characters; kept for 24 hours.",
                    string_matching("^[!-~]+$", 1, 255),
                );
            }
            // A read with an ETag answers 304 to an If-None-Match naming it.
            let etagged = method == HttpMethod::Get
                && matches!(op.responses.responses.get("200"),
                    Some(RefOr::T(r)) if r.headers.contains_key("ETag"));
            // If-None-Match is described on the 304 rather than declared as a parameter: a
            // header of caching, which generated clients and fuzzers should not treat as an
            // input of the operation.
            if etagged {
                op.responses
                    .responses
                    .entry("304".to_owned())
                    .or_insert_with(|| {
                        RefOr::T(
                            ResponseBuilder::new()
                                .description(
                                    "Not modified: the request's `If-None-Match` header named the current `ETag` (or several, \
                                 comma-separated, one of them current, or `*`). No body; the `ETag` header repeats \
                                 the version.",
                                )
                                .header(
                                    "ETag",
                                    HeaderBuilder::new()
                                        .schema(Some(Object::with_type(Type::String)))
                                        .description(Some("The resource's current version"))
                                        .build(),
                                )
                                .build(),
                        )
                    });
            }
            for status in statuses {
                let name = PROBLEMS
                    .iter()
                    .find(|(s, _, _)| *s == status)
                    .map(|(_, n, _)| *n);
                if let Some(name) = name {
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
                }
            }
            for response in op.responses.responses.values_mut() {
                if let RefOr::T(r) = response {
                    r.headers
                        .entry("x-request-id".to_owned())
                        .or_insert_with(|| {
                            HeaderBuilder::new()
                                .schema(Some(Object::with_type(Type::String)))
                                .description(Some("The request's id, for support and logs."))
                                .build()
                                .into()
                        });
                }
            }
        }
    }
}

fn operations(item: &mut utoipa::openapi::PathItem) -> Vec<(HttpMethod, &mut Operation)> {
    [
        (HttpMethod::Get, item.get.as_mut()),
        (HttpMethod::Post, item.post.as_mut()),
        (HttpMethod::Put, item.put.as_mut()),
        (HttpMethod::Patch, item.patch.as_mut()),
        (HttpMethod::Delete, item.delete.as_mut()),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.map(|op| (m, op)))
    .collect()
}

fn problem_response(description: &str, example: Option<serde_json::Value>) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .example(example)
                .build(),
        )
        .header(
            "x-request-id",
            HeaderBuilder::new()
                .schema(Some(Object::with_type(Type::String)))
                .description(Some("The request's id, for support and logs."))
                .build(),
        )
        .build()
}

/// A string schema with a pattern and length bounds.
fn string_matching(pattern: &str, min: usize, max: usize) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .min_length(Some(min))
        .max_length(Some(max))
        .build()
}

fn add_header_param(
    op: &mut Operation,
    name: &str,
    required: Required,
    description: &str,
    schema: Object,
) {
    let params = op.parameters.get_or_insert_with(Vec::new);
    if params
        .iter()
        .any(|p| matches!(p, RefOr::T(p) if p.name == name))
    {
        return;
    }
    params.push(
        ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Header)
            .required(required)
            .description(Some(description))
            .schema(Some(schema))
            .build()
            .into(),
    );
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::glossary;

    fn doc() -> Value {
        serde_json::to_value(super::document()).unwrap()
    }

    /// Every object of `v` with an `enum`, with its JSON pointer.
    fn enums<'a>(v: &'a Value, at: String, out: &mut Vec<(String, &'a Value)>) {
        match v {
            Value::Object(map) => {
                if map.contains_key("enum") {
                    out.push((at.clone(), v));
                }
                for (k, child) in map {
                    if k != "example" && k != "examples" {
                        let key = k.replace('~', "~0").replace('/', "~1");
                        enums(child, format!("{at}/{key}"), out);
                    }
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    enums(child, format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn every_enum_value_of_the_document_has_its_chinese() {
        let doc = doc();
        let mut found = Vec::new();
        enums(&doc, String::new(), &mut found);
        assert!(found.len() > 30, "the walk finds the enums");
        let mut missing = Vec::new();
        for (at, schema) in found {
            let map = schema.as_object().unwrap();
            let values = glossary::enum_values(map).unwrap_or_default();
            let name = at
                .strip_prefix("/components/schemas/")
                .filter(|n| !n.contains('/'));
            if name.is_some_and(|n| glossary::NAMES.iter().any(|(e, _)| *e == n)) {
                continue;
            }
            let Some(entries) = glossary::lookup(name, &values) else {
                missing.push(format!("{at}: {values:?}"));
                continue;
            };
            // Shown where a reader sees it: a parameter's own description, else the schema's.
            let shown_at = at.strip_suffix("/schema").unwrap_or(&at);
            let description = doc
                .pointer(shown_at)
                .and_then(|v| v["description"].as_str())
                .unwrap_or_default();
            for (value, zh) in entries {
                let line = format!("`{value}`");
                if !(description.contains(&line) && description.contains(zh)) {
                    missing.push(format!("{at}: `{value}` not described"));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "enum values without Chinese: {missing:#?}"
        );
    }

    #[test]
    fn the_glossary_names_no_enum_the_document_lacks() {
        let doc = doc();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        let text = doc.to_string();
        for (name, values) in glossary::ENUMS {
            let inline = || {
                values
                    .iter()
                    .all(|(v, _)| text.contains(&format!("\"{v}\"")))
            };
            assert!(
                schemas.contains_key(*name) || inline(),
                "{name} is in the glossary but not in the document"
            );
        }
    }

    /// The verbs an operationId may start with.
    const VERBS: &[&str] = &[
        "get", "list", "create", "update", "record", "schedule", "cast", "cancel", "close", "open",
        "assign", "issue", "return", "review", "revoke", "confirm", "add", "remove", "register",
        "import", "change", "end", "decide", "lodge", "adjust", "dispose", "check", "set", "clear",
        "receive", "reject", "export",
    ];

    #[test]
    fn operation_ids_are_unique_verb_noun_names() {
        let doc = doc();
        let mut seen = std::collections::BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let id = op["operationId"].as_str().unwrap_or_default();
                let words: Vec<&str> = id.split('_').collect();
                assert!(
                    words.len() >= 2
                        && VERBS.contains(&words[0])
                        && words
                            .iter()
                            .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase())),
                    "{method} {path}: operationId `{id}` is not verb_noun (verbs: {VERBS:?})"
                );
                assert!(seen.insert(id.to_owned()), "operationId `{id}` twice");
            }
        }
        assert!(seen.len() >= 100, "{} operations", seen.len());
    }

    #[test]
    fn error_codes_are_an_enum_and_every_example_uses_one() {
        let doc = doc();
        let enum_of = |schema: &str| -> Vec<String> {
            doc["components"]["schemas"][schema]["properties"]["code"]["enum"]
                .as_array()
                .unwrap_or_else(|| panic!("{schema}.code is an enum"))
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect()
        };
        let problems = enum_of("Problem");
        let fields = enum_of("FieldProblem");
        assert_eq!(problems.len(), crate::error::codes::PROBLEM_CODES.len());
        assert_eq!(fields.len(), crate::error::codes::FIELD_CODES.len());
        for (status, name, _) in super::PROBLEMS {
            let example = &doc["components"]["responses"][name]["content"]["application/problem+json"]
                ["example"];
            let code = example["code"].as_str().unwrap();
            assert!(problems.iter().any(|c| c == code), "{status}: {code}");
            assert_eq!(example["status"].as_u64(), status.parse().ok(), "{name}");
            for e in example["errors"].as_array().into_iter().flatten() {
                let code = e["code"].as_str().unwrap();
                assert!(fields.iter().any(|c| c == code), "{status}: field {code}");
            }
        }
    }
}
