//! Reading and checking a roster: a CSV or XLSX file the way towns keep them, read into
//! rows and checked as a whole, so that it is either imported completely (see
//! [`super::workflow::import_roster`]) or refused with every bad row and why. Pure: no
//! SQL, no HTTP.

use std::collections::{HashMap, HashSet};
use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::domain::{ValidMember, check_national_id, check_past_date, check_phone};
use crate::error::{ApiError, FieldError, Msg};
use crate::msg;
use crate::validate::Checks;

/// The largest roster file accepted (10 MiB: far above 100,000 rows).
pub const IMPORT_LIMIT: usize = 10 * 1024 * 1024;
/// The most rows one import may hold.
pub const MAX_ROWS: usize = 100_000;

/// A roster column, recognized by its Chinese or English heading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    /// 姓名 / name
    Name,
    /// 身份证号 / national_id
    NationalId,
    /// 联系电话 / phone
    Phone,
    /// 村（社区）/ village
    Village,
    /// 所在支部 / branch (the branch's name)
    Branch,
    /// 入党日期 / joined_party_on
    JoinedPartyOn,
    /// 后备干部 / reserve_cadre
    ReserveCadre,
    /// 优秀年轻党员 / outstanding_young
    OutstandingYoung,
}

impl Column {
    fn of(heading: &str) -> Option<Column> {
        let h = heading.trim().trim_start_matches('\u{feff}').to_lowercase();
        Some(match h.as_str() {
            "姓名" | "name" => Column::Name,
            "身份证号" | "身份证号码" | "公民身份号码" | "national_id" => {
                Column::NationalId
            }
            "联系电话" | "电话" | "手机" | "手机号码" | "phone" => Column::Phone,
            "村" | "村（社区）" | "村(社区)" | "所在村" | "village" => Column::Village,
            "支部" | "所在支部" | "branch" => Column::Branch,
            "入党日期" | "入党时间" | "joined_party_on" => Column::JoinedPartyOn,
            "后备干部" | "村级后备干部" | "reserve_cadre" => Column::ReserveCadre,
            "优秀年轻党员" | "优秀青年" | "outstanding_young" => Column::OutstandingYoung,
            _ => return None,
        })
    }

    /// The field name used in error reports.
    pub fn field(self) -> &'static str {
        match self {
            Column::Name => "name",
            Column::NationalId => "national_id",
            Column::Phone => "phone",
            Column::Village => "village",
            Column::Branch => "branch",
            Column::JoinedPartyOn => "joined_party_on",
            Column::ReserveCadre => "reserve_cadre",
            Column::OutstandingYoung => "outstanding_young",
        }
    }
}

/// One data row of a roster: its line (1 = the heading) and its cells by column.
#[derive(Debug, Clone, Default)]
pub struct RawRow {
    /// The row's number in the file, as a spreadsheet shows it.
    pub line: usize,
    /// The cells, as text.
    pub cells: HashMap<Column, String>,
}

fn file_error(code: &'static str, detail: Msg) -> ApiError {
    ApiError::Unprocessable { code, detail }
}

/// Maps headings to columns; the four required ones must be there.
fn columns(headings: &[String]) -> Result<Vec<Option<Column>>, ApiError> {
    let cols: Vec<Option<Column>> = headings.iter().map(|h| Column::of(h)).collect();
    for required in [Column::Name, Column::NationalId, Column::Branch] {
        if !cols.contains(&Some(required)) {
            return Err(file_error(
                "import_missing_column",
                msg!(
                    (
                        "名册缺少必需的列：{}（需要 姓名、身份证号、所在支部）。",
                        required.field()
                    ),
                    (
                        "The roster lacks a required column: {} (name, national_id and branch are required).",
                        required.field()
                    )
                ),
            ));
        }
    }
    Ok(cols)
}

fn too_many_rows() -> ApiError {
    file_error(
        "import_too_large",
        msg!(
            ("一次最多导入 {} 行。", MAX_ROWS),
            ("At most {} rows can be imported at once.", MAX_ROWS)
        ),
    )
}

/// Reads a UTF-8 CSV roster (a byte-order mark is allowed).
pub fn read_csv(bytes: &[u8]) -> Result<Vec<RawRow>, ApiError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let unreadable = || {
        file_error(
            "import_unreadable",
            msg!(
                "CSV 文件无法读取：须为 UTF-8 编码、逗号分隔、首行为表头。",
                "The CSV file cannot be read: it must be UTF-8, comma-separated, with a heading row."
            ),
        )
    };
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let headings: Vec<String> = reader
        .headers()
        .map_err(|_| unreadable())?
        .iter()
        .map(str::to_owned)
        .collect();
    let cols = columns(&headings)?;
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|_| unreadable())?;
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if rows.len() == MAX_ROWS {
            return Err(too_many_rows());
        }
        let mut row = RawRow {
            line: i + 2,
            cells: HashMap::new(),
        };
        for (col, cell) in cols.iter().zip(record.iter()) {
            if let Some(col) = col {
                row.cells.insert(*col, cell.trim().to_owned());
            }
        }
        rows.push(row);
    }
    Ok(rows)
}

/// Reads the first sheet of an XLSX roster.
pub fn read_xlsx(bytes: Vec<u8>) -> Result<Vec<RawRow>, ApiError> {
    let unreadable = || {
        file_error(
            "import_unreadable",
            msg!("XLSX 文件无法读取。", "The XLSX file cannot be read."),
        )
    };
    let mut book: Xlsx<_> =
        calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(|_| unreadable())?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(unreadable)?
        .map_err(|_| unreadable())?;
    let mut sheet = range.rows();
    let headings: Vec<String> = sheet
        .next()
        .unwrap_or_default()
        .iter()
        .map(cell_text)
        .collect();
    let cols = columns(&headings)?;
    let mut rows = Vec::new();
    for (i, cells) in sheet.enumerate() {
        if cells.iter().all(|c| cell_text(c).is_empty()) {
            continue;
        }
        if rows.len() == MAX_ROWS {
            return Err(too_many_rows());
        }
        let mut row = RawRow {
            line: i + 2,
            cells: HashMap::new(),
        };
        for (col, cell) in cols.iter().zip(cells.iter()) {
            if let Some(col) = col {
                row.cells.insert(*col, cell_text(cell));
            }
        }
        rows.push(row);
    }
    Ok(rows)
}

/// A cell as text. Dates become `YYYY-MM-DD`; whole numbers lose their `.0`. A long number
/// (an ID number typed into a number cell) has lost digits already: it is kept as Excel
/// shows it, and the ID check reports it.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty | Data::Error(_) => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.trim().to_owned(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => d
            .as_datetime()
            .map(|dt| dt.date().to_string())
            .unwrap_or_default(),
    }
}

/// What the checks need to know about the town.
#[derive(Debug, Default)]
pub struct Known {
    /// The town's branches by name.
    pub branches: HashMap<String, Uuid>,
    /// National ID numbers already registered in the town.
    pub national_ids: HashSet<String>,
    /// Phone numbers already registered in the town.
    pub phones: HashSet<String>,
}

fn parse_flag(s: &str) -> Option<bool> {
    match s.trim().to_lowercase().as_str() {
        "" | "否" | "不是" | "no" | "false" | "0" | "n" => Some(false),
        "是" | "yes" | "true" | "1" | "y" => Some(true),
        _ => None,
    }
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
        .filter(|d| crate::types::admits_date(*d))
}

/// Checks every row against the rules and the town: a member per row, or every problem,
/// each named `rows[<line>].<column>`.
pub fn check_rows(
    rows: &[RawRow],
    today: NaiveDate,
    known: &Known,
) -> Result<Vec<ValidMember>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut members = Vec::with_capacity(rows.len());
    let mut seen_ids: HashMap<String, usize> = HashMap::new();
    let mut seen_phones: HashMap<String, usize> = HashMap::new();
    for row in rows {
        let mut c = Checks::new();
        let field = |col: Column| format!("rows[{}].{}", row.line, col.field());
        let cell = |col: Column| row.cells.get(&col).map(String::as_str).unwrap_or("");
        let name = c.text(&field(Column::Name), cell(Column::Name), 1, 50);
        let national_id = check_national_id(
            &mut c,
            &field(Column::NationalId),
            cell(Column::NationalId),
            today,
        );
        if let Some(id) = &national_id {
            if known.national_ids.contains(id.as_str()) {
                c.push(FieldError::new(
                    field(Column::NationalId),
                    "national_id_taken",
                    msg!(
                        "本镇已有该身份证号的党员。",
                        "A member of this town has this national ID number already."
                    ),
                ));
            } else if let Some(first) = seen_ids.insert(id.as_str().to_owned(), row.line) {
                c.push(FieldError::new(
                    field(Column::NationalId),
                    "duplicate_in_file",
                    msg!(
                        ("与第 {} 行的身份证号重复。", first),
                        ("The same national ID number as row {}.", first)
                    ),
                ));
            }
        }
        let phone = match cell(Column::Phone) {
            "" => None,
            p => check_phone(&mut c, &field(Column::Phone), p),
        };
        if let Some(p) = &phone {
            if known.phones.contains(p.as_str()) {
                c.push(FieldError::new(
                    field(Column::Phone),
                    "phone_taken",
                    msg!(
                        "本镇已有使用该电话号码的党员。",
                        "A member of this town has this phone number already."
                    ),
                ));
            } else if let Some(first) = seen_phones.insert(p.as_str().to_owned(), row.line) {
                c.push(FieldError::new(
                    field(Column::Phone),
                    "duplicate_in_file",
                    msg!(
                        ("与第 {} 行的电话号码重复。", first),
                        ("The same phone number as row {}.", first)
                    ),
                ));
            }
        }
        let village = match cell(Column::Village) {
            "" => None,
            v => Some(c.text(&field(Column::Village), v, 1, 50)),
        };
        let branch = known.branches.get(cell(Column::Branch).trim()).copied();
        if branch.is_none() {
            c.push(FieldError::new(
                field(Column::Branch),
                "unknown_branch",
                msg!(
                    ("本镇没有名为“{}”的支部。", cell(Column::Branch)),
                    (
                        "This town has no branch named \"{}\".",
                        cell(Column::Branch)
                    )
                ),
            ));
        }
        let joined = match cell(Column::JoinedPartyOn) {
            "" => None,
            d => match parse_date(d) {
                Some(date) => {
                    check_past_date(&mut c, &field(Column::JoinedPartyOn), date, today);
                    Some(date)
                }
                None => {
                    c.push(FieldError::new(
                        field(Column::JoinedPartyOn),
                        "invalid_date",
                        msg!("日期格式应为 YYYY-MM-DD。", "A date is written YYYY-MM-DD."),
                    ));
                    None
                }
            },
        };
        let mut flag = |col: Column| {
            parse_flag(cell(col)).unwrap_or_else(|| {
                c.push(FieldError::new(
                    field(col),
                    "invalid_flag",
                    msg!("请填写“是”或“否”。", "Write yes or no (是 or 否)."),
                ));
                false
            })
        };
        let reserve_cadre = flag(Column::ReserveCadre);
        let outstanding_young = flag(Column::OutstandingYoung);
        match (c.finish(), national_id, branch) {
            (Ok(()), Some(national_id), Some(branch_id)) => members.push(ValidMember {
                name,
                national_id,
                phone,
                village,
                branch_id,
                joined_party_on: joined,
                reserve_cadre,
                outstanding_young,
            }),
            (Err(ApiError::Validation(e)), _, _) => errors.extend(e),
            _ => {}
        }
    }
    if errors.is_empty() {
        Ok(members)
    } else {
        Err(errors)
    }
}

/// The outcome of an import.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReport {
    /// Rows read from the file.
    pub rows: usize,
    /// Members created (0 on a dry run).
    pub imported: usize,
    /// The ids of the members created, in the order of the file's rows (one member per
    /// row; empty on a dry run).
    pub member_ids: Vec<Uuid>,
    /// Whether this was only a check.
    pub dry_run: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
    }

    fn known() -> Known {
        Known {
            branches: HashMap::from([("新村党支部".to_owned(), Uuid::nil())]),
            national_ids: HashSet::from(["11010519491231002X".to_owned()]),
            phones: HashSet::new(),
        }
    }

    #[test]
    fn a_good_roster_reads_in_chinese_headings() {
        let csv = "\u{feff}姓名,身份证号,联系电话,所在支部,入党日期,后备干部\n\
                   张建国,320114198001010011,13812345678,新村党支部,2001/07/01,是\n\
                   ,,,,,\n";
        let rows = read_csv(csv.as_bytes()).unwrap();
        assert_eq!(rows.len(), 1, "blank rows are skipped");
        let members = check_rows(&rows, today(), &known()).unwrap();
        assert_eq!(members[0].name, "张建国");
        assert!(members[0].reserve_cadre);
        assert_eq!(
            members[0].joined_party_on,
            NaiveDate::from_ymd_opt(2001, 7, 1)
        );
    }

    #[test]
    fn every_bad_row_is_reported_by_row_and_column() {
        let csv = "name,national_id,phone,branch\n\
                   张三,11010519491231002X,13812345678,新村党支部\n\
                   李四,320114198001010011,123,没有这个支部\n\
                   王五,320114198001010011,,新村党支部\n";
        let rows = read_csv(csv.as_bytes()).unwrap();
        let errors = check_rows(&rows, today(), &known()).unwrap_err();
        let got: Vec<_> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            got,
            [
                ("rows[2].national_id", "national_id_taken"),
                ("rows[3].phone", "invalid_phone"),
                ("rows[3].branch", "unknown_branch"),
                ("rows[4].national_id", "duplicate_in_file"),
            ]
        );
    }

    #[test]
    fn a_roster_without_required_columns_is_refused_whole() {
        let e = read_csv("姓名,电话\n张三,13812345678\n".as_bytes()).unwrap_err();
        assert_eq!(e.code(), "import_missing_column");
    }
}
