//! Reports as files the committee opens in a spreadsheet: CSV (UTF-8 with a byte order
//! mark, so Excel reads the Chinese right) and XLSX, both with Chinese column headings.

use actix_web::HttpResponse;
use actix_web::http::header;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::ApiError;

crate::text_enum! {
    /// The format of a report.
    pub enum ExportFormat {
        /// JSON (the default).
        Json = "json",
        /// CSV, UTF-8 with a byte order mark, Chinese column headings.
        Csv = "csv",
        /// An Excel workbook (XLSX), Chinese column headings.
        Xlsx = "xlsx",
    }
}

/// The `?format=` of a report.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FormatQuery {
    /// `json` (default), `csv` or `xlsx`.
    #[param(inline)]
    pub format: Option<ExportFormat>,
}

/// The XLSX media type.
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A table as CSV bytes, starting with the UTF-8 byte order mark.
pub fn csv(headings: &[&str], rows: &[Vec<String>]) -> Result<Vec<u8>, ApiError> {
    let mut w = csv::Writer::from_writer("\u{feff}".as_bytes().to_vec());
    w.write_record(headings).map_err(anyhow::Error::from)?;
    for row in rows {
        w.write_record(row).map_err(anyhow::Error::from)?;
    }
    Ok(w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)
}

/// A table as an XLSX workbook of one sheet, headings bold and frozen.
pub fn xlsx(sheet: &str, headings: &[&str], rows: &[Vec<String>]) -> Result<Vec<u8>, ApiError> {
    let xlsx_error =
        |e: rust_xlsxwriter::XlsxError| ApiError::Internal(anyhow::anyhow!("XLSX: {e}"));
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    ws.set_name(sheet).map_err(xlsx_error)?;
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (col, heading) in headings.iter().enumerate() {
        let col = u16::try_from(col).map_err(anyhow::Error::from)?;
        ws.write_string_with_format(0, col, *heading, &bold)
            .map_err(xlsx_error)?;
        ws.set_column_width(col, 16).map_err(xlsx_error)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let r = u32::try_from(r + 1).map_err(anyhow::Error::from)?;
        for (c, cell) in row.iter().enumerate() {
            let c = u16::try_from(c).map_err(anyhow::Error::from)?;
            ws.write_string(r, c, cell).map_err(xlsx_error)?;
        }
    }
    ws.set_freeze_panes(1, 0).map_err(xlsx_error)?;
    book.save_to_buffer().map_err(xlsx_error)
}

/// A file download of `rows` in `format` (CSV or XLSX), named `<name>.csv|xlsx`.
pub fn download(
    format: ExportFormat,
    name: &str,
    headings: &[&str],
    rows: &[Vec<String>],
) -> Result<HttpResponse, ApiError> {
    let (bytes, media, ext) = match format {
        ExportFormat::Xlsx => (xlsx(name, headings, rows)?, XLSX, "xlsx"),
        _ => (csv(headings, rows)?, "text/csv; charset=utf-8", "csv"),
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, media))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}.{ext}\""),
        ))
        .body(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_starts_with_a_bom_and_keeps_chinese() {
        let bytes = csv(&["姓名"], &[vec!["张建国".into()]]).unwrap();
        assert!(bytes.starts_with("\u{feff}".as_bytes()));
        assert_eq!(String::from_utf8(bytes).unwrap(), "\u{feff}姓名\n张建国\n");
    }

    #[test]
    fn xlsx_reads_back_with_its_headings() {
        use calamine::{Data, Reader, Xlsx};
        let bytes = xlsx(
            "名册",
            &["姓名", "出勤率"],
            &[vec!["张建国".into(), "50.0%".into()]],
        )
        .unwrap();
        let mut book: Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        let range = book.worksheet_range("名册").unwrap();
        assert_eq!(range.get((0, 0)), Some(&Data::String("姓名".into())));
        assert_eq!(range.get((1, 1)), Some(&Data::String("50.0%".into())));
    }
}
