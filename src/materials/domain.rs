//! Materials and their loans: pure types and rules.
//!
//! The center holds `copies` of each material; a loan takes some of them to a branch
//! until it is returned. A loan cannot take more than are on the shelf
//! ([`check_available`]), and the holding cannot be cut below what is on loan. A loan is
//! overdue when its `due_on` has passed and it is not returned; that is computed, never
//! stored.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiError, Msg};
use crate::msg;
use crate::validate::Checks;

crate::text_enum! {
    /// 资料类别。 What a material is.
    pub enum MaterialKind {
        /// Party newspapers and periodicals (党报党刊).
        PartyPress = "party_press",
        /// Books (书籍).
        Book = "book",
        /// Documents and study materials (文件资料).
        Document = "document",
        /// Audio-visual materials (音像资料).
        Audiovisual = "audiovisual",
        /// 其他。 Anything else.
        Other = "other",
    }
}

/// The most copies of one material the catalogue records.
pub const MAX_COPIES: i32 = 100_000;

/// 资料目录中的一种资料及其借出情况。 A material of the catalogue, with what is on loan.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Material {
    /// 编号。 The material's id.
    pub id: Uuid,
    /// 所属镇。 The town.
    pub town_id: Uuid,
    /// 名称。 Its title.
    #[schema(example = "习近平新时代中国特色社会主义思想学习纲要")]
    pub title: String,
    /// 类别。 What it is.
    pub kind: MaterialKind,
    /// 馆藏份数（在架与借出）。 The copies the center holds, on the shelf or lent.
    pub copies: i32,
    /// 借出未还份数。 The copies out on loans not yet returned.
    pub on_loan: i64,
    /// 在架份数。 The copies on the shelf: `copies - on_loan`.
    pub available: i64,
    /// 备注。 A note.
    pub note: Option<String>,
    /// 登记人（令牌主体）。 Who catalogued it (the token subject).
    pub created_by: String,
    /// 登记时间。 When it was catalogued.
    pub created_at: DateTime<Utc>,
    /// 最近修改时间。 When it last changed.
    pub updated_at: DateTime<Utc>,
    /// 版本号；`ETag` 即加引号的此数。 Its version; the `ETag` is this number in quotes.
    pub version: i64,
}

/// 一次资料借阅（借给党支部）。 A loan of a material to a branch.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Loan {
    /// 编号。 The loan's id.
    pub id: Uuid,
    /// 所属镇。 The town.
    pub town_id: Uuid,
    /// 借出的资料。 The material lent.
    pub material_id: Uuid,
    /// 资料名称。 The material's title.
    pub title: String,
    /// 借阅支部。 The branch it was lent to.
    pub branch_id: Uuid,
    /// 借阅人。 Who took it for the branch.
    #[schema(example = "王建国")]
    pub borrower: String,
    /// 份数。 How many copies.
    pub copies: i32,
    /// 借出日期。 The day it was lent, in the town's calendar.
    pub lent_on: NaiveDate,
    /// 应还日期。 The day it is due back.
    pub due_on: NaiveDate,
    /// 归还日期。 The day it came back, once returned.
    pub returned_on: Option<NaiveDate>,
    /// 今天是否逾期未还。 Whether it is overdue today: not returned and `due_on` has passed.
    pub overdue: bool,
    /// 经办人（令牌主体）。 Who lent it (the token subject).
    pub lent_by: String,
    /// 收回经办人（令牌主体）。 Who took it back (the token subject).
    pub returned_by: Option<String>,
    /// 记录时间。 When it was recorded.
    pub created_at: DateTime<Utc>,
    /// 最近修改时间。 When it last changed.
    pub updated_at: DateTime<Utc>,
    /// 版本号；`ETag` 即加引号的此数。 Its version; the `ETag` is this number in quotes.
    pub version: i64,
}

impl Loan {
    /// The loan with `overdue` as of `today`.
    pub fn as_of(mut self, today: NaiveDate) -> Loan {
        self.overdue = self.returned_on.is_none() && self.due_on < today;
        self
    }
}

/// 登记一种资料（staff、committee）。 A material to catalogue (staff, committee).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMaterial {
    /// 名称，1 至 200 字。 Its title, 1 to 200 characters.
    #[schema(
        example = "习近平新时代中国特色社会主义思想学习纲要",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub title: String,
    /// 类别。 What it is.
    pub kind: MaterialKind,
    /// 馆藏份数，0 至 100000。 The copies the center holds: 0 to 100000.
    #[schema(minimum = 0, maximum = 100000)]
    pub copies: i32,
    /// 备注，1 至 1000 字（可换行）。 A note, 1 to 1000 characters (line breaks allowed).
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 1000,
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub note: Option<String>,
}

/// A checked material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidMaterial {
    /// Title, trimmed.
    pub title: String,
    /// What it is, as given.
    pub kind: MaterialKind,
    /// The copies held, 0 to 100000.
    pub copies: i32,
    /// Note, trimmed.
    pub note: Option<String>,
}

fn check_copies(c: &mut Checks, field: &str, copies: i32, min: i32) {
    if !(min..=MAX_COPIES).contains(&copies) {
        c.push(crate::error::FieldError::new(
            field,
            "out_of_range",
            msg!(
                ("{} 须在 {} 到 {} 之间。", field, min, MAX_COPIES),
                ("`{}` must be between {} and {}.", field, min, MAX_COPIES)
            ),
        ));
    }
}

impl NewMaterial {
    /// Checks the fields.
    pub fn validate(&self) -> Result<ValidMaterial, ApiError> {
        let mut c = Checks::new();
        let title = c.text("title", &self.title, 1, 200);
        check_copies(&mut c, "copies", self.copies, 0);
        let note = self
            .note
            .as_deref()
            .map(|n| c.long_text("note", n, 1, 1000));
        c.finish()?;
        Ok(ValidMaterial {
            title,
            kind: self.kind,
            copies: self.copies,
            note,
        })
    }
}

/// 修改资料（staff、committee）：未给出的字段不变。 A change of a material (staff, committee): absent fields stay.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MaterialPatch {
    /// 新名称。 A new title, 1 to 200 characters.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub title: Option<String>,
    /// 新类别。 A new kind.
    #[serde(default)]
    pub kind: Option<MaterialKind>,
    /// 现有馆藏份数，不少于借出未还份数。 The copies now held (new ones bought, worn ones withdrawn): not below those on loan.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 100000)]
    pub copies: Option<i32>,
    /// 新备注。 A new note, 1 to 1000 characters.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 1000,
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub note: Option<String>,
}

impl MaterialPatch {
    /// The material after the change, checked; `on_loan` copies are out (the holding
    /// cannot go below them: 409 `copies_on_loan`).
    pub fn apply_to(&self, m: &Material) -> Result<ValidMaterial, ApiError> {
        let mut c = Checks::new();
        let title = match &self.title {
            Some(t) => c.text("title", t, 1, 200),
            None => m.title.clone(),
        };
        let copies = self.copies.unwrap_or(m.copies);
        check_copies(&mut c, "copies", copies, 0);
        let note = match &self.note {
            Some(n) => Some(c.long_text("note", n, 1, 1000)),
            None => m.note.clone(),
        };
        c.finish()?;
        if i64::from(copies) < m.on_loan {
            return Err(ApiError::conflict(
                "copies_on_loan",
                msg!(
                    ("现有 {} 份借出未还，馆藏份数不能少于此数。", m.on_loan),
                    (
                        "{} copies are on loan: the holding cannot be fewer.",
                        m.on_loan
                    )
                ),
            ));
        }
        Ok(ValidMaterial {
            title,
            kind: self.kind.unwrap_or(m.kind),
            copies,
            note,
        })
    }

    /// The names of the fields the change sets (for the audit trail).
    pub fn fields(&self) -> Vec<&'static str> {
        [
            ("title", self.title.is_some()),
            ("kind", self.kind.is_some()),
            ("copies", self.copies.is_some()),
            ("note", self.note.is_some()),
        ]
        .into_iter()
        .filter_map(|(f, set)| set.then_some(f))
        .collect()
    }
}

/// 登记一次借阅（staff、committee）。 A loan to record (staff, committee).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLoan {
    /// 借阅的本镇党支部。 The branch of this town it is lent to.
    pub branch_id: Uuid,
    /// 借阅人，1 至 50 字。 Who takes it for the branch, 1 to 50 characters.
    #[schema(
        example = "王建国",
        min_length = 1,
        max_length = 50,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff][^\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
    )]
    pub borrower: String,
    /// 份数：至少 1，至多在架份数。 How many copies: at least 1, at most those on the shelf.
    #[serde(default = "one")]
    #[schema(minimum = 1, maximum = 100000, default = 1)]
    pub copies: i32,
    /// 借出日期，不晚于今天。 The day it is lent: not in the future.
    pub lent_on: NaiveDate,
    /// 应还日期，不早于借出日期。 The day it is due back: not before `lent_on`.
    pub due_on: NaiveDate,
}

fn one() -> i32 {
    1
}

/// A checked loan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidLoan {
    /// The branch of the town it goes to.
    pub branch_id: Uuid,
    /// The borrower, trimmed.
    pub borrower: String,
    /// Copies lent, at least 1.
    pub copies: i32,
    /// The day it is lent, not in the future.
    pub lent_on: NaiveDate,
    /// The day it is due back, not before the day it is lent.
    pub due_on: NaiveDate,
}

impl NewLoan {
    /// Checks the fields against the town's `today`.
    pub fn validate(&self, today: NaiveDate) -> Result<ValidLoan, ApiError> {
        let mut c = Checks::new();
        let borrower = c.text("borrower", &self.borrower, 1, 50);
        check_copies(&mut c, "copies", self.copies, 1);
        c.not_in_future("lent_on", self.lent_on, today);
        if self.due_on < self.lent_on {
            c.push(crate::error::FieldError::new(
                "due_on",
                "before_lent_on",
                msg!(
                    "due_on 不能早于 lent_on。",
                    "`due_on` cannot be before `lent_on`."
                ),
            ));
        }
        c.finish()?;
        Ok(ValidLoan {
            branch_id: self.branch_id,
            borrower,
            copies: self.copies,
            lent_on: self.lent_on,
            due_on: self.due_on,
        })
    }
}

/// A loan takes at most the copies on the shelf (409 `not_enough_copies`).
pub fn check_available(m: &Material, copies: i32) -> Result<(), ApiError> {
    if i64::from(copies) <= m.available {
        return Ok(());
    }
    Err(ApiError::conflict(
        "not_enough_copies",
        Msg::new(
            format!(
                "《{}》在架 {} 份（共 {} 份，借出 {} 份），不能借出 {} 份。",
                m.title, m.available, m.copies, m.on_loan, copies
            ),
            format!(
                "{} copies are on the shelf ({} held, {} on loan): {} cannot be lent.",
                m.available, m.copies, m.on_loan, copies
            ),
        ),
    ))
}

/// 归还借阅的资料。 The return of a loan.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnLoan {
    /// 归还日期：不早于借出日期，不晚于今天。 The day it came back: not before `lent_on`, not in the future.
    pub returned_on: NaiveDate,
}

impl ReturnLoan {
    /// Checks the date against the loan and the town's `today`; a returned loan is final
    /// (409 `loan_returned`).
    pub fn validate(&self, loan: &Loan, today: NaiveDate) -> Result<NaiveDate, ApiError> {
        if let Some(on) = loan.returned_on {
            return Err(ApiError::conflict(
                "loan_returned",
                msg!(
                    ("该借阅已于 {} 归还。", on),
                    ("This loan was returned on {}.", on)
                ),
            ));
        }
        let mut c = Checks::new();
        c.not_in_future("returned_on", self.returned_on, today);
        if self.returned_on < loan.lent_on {
            c.push(crate::error::FieldError::new(
                "returned_on",
                "before_lent_on",
                msg!(
                    "returned_on 不能早于借出日期。",
                    "`returned_on` cannot be before the day it was lent."
                ),
            ));
        }
        c.finish()?;
        Ok(self.returned_on)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn material(copies: i32, on_loan: i64) -> Material {
        Material {
            id: Uuid::nil(),
            town_id: Uuid::nil(),
            title: "党章".into(),
            kind: MaterialKind::Book,
            copies,
            on_loan,
            available: i64::from(copies) - on_loan,
            note: None,
            created_by: "t".into(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
            version: 1,
        }
    }

    fn codes(e: ApiError) -> Vec<String> {
        match e {
            ApiError::Validation(errors) => errors
                .iter()
                .map(|e| format!("{}:{}", e.field, e.code))
                .collect(),
            ApiError::Conflict { code, .. } => vec![code.to_owned()],
            other => vec![format!("{other:?}")],
        }
    }

    #[test]
    fn a_loan_takes_at_most_the_copies_on_the_shelf() {
        let m = material(5, 3);
        assert!(check_available(&m, 2).is_ok());
        assert_eq!(
            codes(check_available(&m, 3).unwrap_err()),
            ["not_enough_copies"]
        );
        assert_eq!(
            codes(check_available(&material(0, 0), 1).unwrap_err()),
            ["not_enough_copies"]
        );
    }

    #[test]
    fn the_holding_cannot_go_below_what_is_lent() {
        let m = material(5, 3);
        let cut = |n| MaterialPatch {
            copies: Some(n),
            ..Default::default()
        };
        assert_eq!(cut(3).apply_to(&m).unwrap().copies, 3);
        assert_eq!(codes(cut(2).apply_to(&m).unwrap_err()), ["copies_on_loan"]);
        assert_eq!(
            codes(cut(-1).apply_to(&m).unwrap_err()),
            ["copies:out_of_range"]
        );
    }

    #[test]
    fn loans_check_their_dates_and_copies() {
        let today = d("2026-12-07");
        let loan = |lent: &str, due: &str, copies| NewLoan {
            branch_id: Uuid::nil(),
            borrower: " 王建国 ".into(),
            copies,
            lent_on: d(lent),
            due_on: d(due),
        };
        assert_eq!(
            loan("2026-12-07", "2026-12-07", 1)
                .validate(today)
                .unwrap()
                .borrower,
            "王建国"
        );
        assert_eq!(
            codes(
                loan("2026-12-08", "2026-12-01", 0)
                    .validate(today)
                    .unwrap_err()
            ),
            [
                "copies:out_of_range",
                "lent_on:in_the_future",
                "due_on:before_lent_on"
            ]
        );
    }

    #[test]
    fn a_loan_is_overdue_after_its_due_day_until_returned() {
        let m = material(1, 0);
        let mut l = Loan {
            id: Uuid::nil(),
            town_id: Uuid::nil(),
            material_id: m.id,
            title: m.title,
            branch_id: Uuid::nil(),
            borrower: "王".into(),
            copies: 1,
            lent_on: d("2026-11-01"),
            due_on: d("2026-12-01"),
            returned_on: None,
            overdue: false,
            lent_by: "t".into(),
            returned_by: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            version: 1,
        };
        assert!(!l.clone().as_of(d("2026-12-01")).overdue);
        assert!(l.clone().as_of(d("2026-12-02")).overdue);
        let back = ReturnLoan {
            returned_on: d("2026-12-03"),
        };
        assert_eq!(back.validate(&l, d("2026-12-05")).unwrap(), d("2026-12-03"));
        l.returned_on = Some(d("2026-12-03"));
        assert!(!l.clone().as_of(d("2026-12-04")).overdue);
        assert_eq!(
            codes(back.validate(&l, d("2026-12-05")).unwrap_err()),
            ["loan_returned"]
        );
    }

    #[test]
    fn the_schemas_say_what_the_checks_check() {
        let schema = |s: utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>| {
            serde_json::to_value(s).unwrap()
        };
        let pattern = |v: &serde_json::Value, field: &str| {
            v["properties"][field]["pattern"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let text = crate::validate::TEXT_PATTERN;
        let long = crate::validate::LONG_TEXT_PATTERN;
        let new = schema(<NewMaterial as utoipa::PartialSchema>::schema());
        assert_eq!(
            (pattern(&new, "title"), pattern(&new, "note")),
            (text.into(), long.into())
        );
        let patch = schema(<MaterialPatch as utoipa::PartialSchema>::schema());
        assert_eq!(
            (pattern(&patch, "title"), pattern(&patch, "note")),
            (text.into(), long.into())
        );
        let loan = schema(<NewLoan as utoipa::PartialSchema>::schema());
        assert_eq!(pattern(&loan, "borrower"), text);
    }
}
