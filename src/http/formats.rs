//! Reports as files the committee opens in a spreadsheet, and as JSON for systems: CSV
//! (UTF-8 with a byte order mark, so Excel reads the Chinese right) and XLSX, both with
//! Chinese column headings, chosen by `?format=` or the `Accept` header.
//!
//! Large reports stream: a query's rows come from the database through a small bounded
//! channel ([`spawn_rows`]) and go out as they are encoded ([`respond`]), so memory does not
//! grow with the report. JSON and CSV start sending with the first row; an XLSX workbook is
//! written row by row to a temporary file (rust_xlsxwriter's constant-memory mode) and
//! streamed out once complete. A database failure after the first byte cuts the response
//! off (the client sees a broken transfer, never a silently short file).

use std::io::Write;
use std::sync::Arc;

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::ApiError;
use crate::msg;

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
    /// `json`, `csv` or `xlsx`. Without it the `Accept` header decides (`text/csv`, the XLSX
    /// media type or `application/json`), and JSON when it names none of them.
    #[param(inline)]
    pub format: Option<ExportFormat>,
}

/// An XLSX workbook, as a download.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct Spreadsheet(#[allow(dead_code)] Vec<u8>);

/// The XLSX media type.
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The CSV media type as sent.
pub const CSV: &str = "text/csv; charset=utf-8";

/// The most rows a worksheet holds (Excel's limit), the heading row included.
pub const XLSX_MAX_ROWS: u32 = 1_048_576;

/// Rows buffered between the database and the encoder.
const ROW_BUFFER: usize = 256;

/// The size of the pieces a report is sent in.
const CHUNK: usize = 64 * 1024;

/// The media types a report comes in, JSON first (the default).
const EXPORT_OFFERS: &[(&str, ExportFormat)] = &[
    ("application/json", ExportFormat::Json),
    ("text/csv", ExportFormat::Csv),
    (XLSX, ExportFormat::Xlsx),
];

impl ExportFormat {
    /// `?format=` when given; otherwise the format `Accept` prefers; JSON when `Accept` is
    /// absent or names none of them.
    pub fn negotiate(query: Option<ExportFormat>, req: &HttpRequest) -> ExportFormat {
        negotiate(query, req, EXPORT_OFFERS)
    }

    /// The preferred format an `Accept` value names, if any.
    #[cfg(test)]
    fn from_accept(accept: Option<&str>) -> Option<ExportFormat> {
        preferred(accept, EXPORT_OFFERS)
    }
}

/// The form of an answer: the one asked for by a query parameter (`asked`), else the one
/// of `offers` the request's `Accept` prefers, else the first offer (the default).
pub fn negotiate<T: Copy>(asked: Option<T>, req: &HttpRequest, offers: &[(&str, T)]) -> T {
    asked
        .or_else(|| {
            let accept = req
                .headers()
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok());
            preferred(accept, offers)
        })
        .unwrap_or(offers[0].1)
}

/// Of the media types `offers` maps to answers (in the server's order of preference), the
/// one an `Accept` value prefers: each offer takes the quality of the most specific range
/// that matches it (`text/csv` over `text/*` over `*/*`), `q=0` refuses it, and the highest
/// quality wins, ties going to the earlier offer. `None` when nothing offered is acceptable.
pub fn preferred<T: Copy>(accept: Option<&str>, offers: &[(&str, T)]) -> Option<T> {
    // (type, subtype, quality) of each media range.
    let ranges: Vec<(String, String, f32)> = accept?
        .split(',')
        .filter_map(|part| {
            let mut pieces = part.split(';');
            let media = pieces.next()?.trim().to_ascii_lowercase();
            let (kind, sub) = media.split_once('/')?;
            let q = pieces
                .find_map(|p| {
                    let (name, value) = p.split_once('=')?;
                    name.trim()
                        .eq_ignore_ascii_case("q")
                        .then(|| value.trim().to_owned())
                })
                .map_or(Some(1.0), |q| q.parse::<f32>().ok())?;
            Some((kind.trim().to_owned(), sub.trim().to_owned(), q))
        })
        .collect();
    let quality = |offer: &str| {
        let (kind, sub) = offer.split_once('/').unwrap_or((offer, ""));
        ranges
            .iter()
            .filter_map(|(k, s, q)| {
                let specificity = match (k.as_str(), s.as_str()) {
                    (k, s) if k == kind && s == sub => 2,
                    (k, "*") if k == kind => 1,
                    ("*", "*") => 0,
                    _ => return None,
                };
                Some((specificity, *q))
            })
            .max_by_key(|(specificity, _)| *specificity)
            .map_or(0.0, |(_, q)| q)
    };
    let mut best: Option<(f32, T)> = None;
    for (media, answer) in offers {
        let q = quality(media);
        if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, *answer));
        }
    }
    best.map(|(_, answer)| answer)
}

/// The start of an answer whose form depends on `Accept`: not to be cached, and saying so.
pub fn negotiated() -> actix_web::HttpResponseBuilder {
    let mut res = HttpResponse::Ok();
    res.insert_header((header::VARY, "Accept"))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    res
}

/// One cell of a report row in a file.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A text cell: quoted as needed in CSV, a string cell in XLSX.
    Text(String),
    /// A number (a count, points, a rate): a number cell in XLSX.
    Number(f64),
    /// An empty cell: a value this row does not have.
    Empty,
}

impl From<String> for Cell {
    fn from(text: String) -> Cell {
        Cell::Text(text)
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Cell {
        Cell::Text(text.to_owned())
    }
}

impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(value: Option<T>) -> Cell {
        value.map_or(Cell::Empty, Into::into)
    }
}

impl From<i64> for Cell {
    fn from(n: i64) -> Cell {
        // Counts stay far below 2^53: exact as a float.
        Cell::Number(n as f64)
    }
}

impl From<i32> for Cell {
    fn from(n: i32) -> Cell {
        Cell::Number(f64::from(n))
    }
}

impl From<f64> for Cell {
    fn from(n: f64) -> Cell {
        Cell::Number(n)
    }
}

impl From<Uuid> for Cell {
    fn from(id: Uuid) -> Cell {
        Cell::Text(id.to_string())
    }
}

impl From<NaiveDate> for Cell {
    fn from(date: NaiveDate) -> Cell {
        Cell::Text(date.to_string())
    }
}

/// A moment as the town reads it: `2026-11-27 09:30` in the town's zone.
pub fn local_time(at: DateTime<Utc>, tz: Tz) -> Cell {
    Cell::Text(at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
}

/// A row type of a report: JSON as it serializes, one row of cells in a file.
pub trait Table: Serialize + Send + 'static {
    /// The worksheet's name in XLSX (at most 31 characters).
    const SHEET: &'static str;
    /// The Chinese column headings of the file.
    const HEADINGS: &'static [&'static str];
    /// The row's cells under [`Table::HEADINGS`]; moments in the town's zone `tz`.
    fn cells(&self, tz: Tz) -> Vec<Cell>;
}

/// A report as JSON: what it is, and its rows. (Streamed: the `rows` come last.)
#[derive(Debug, Serialize, ToSchema)]
pub struct Report<T> {
    /// Which report: `ledger`, `attendance`, `desk_register`, `overdue_letters`.
    pub report: String,
    /// The town the report is of, the `{town}` in its path.
    pub town_id: Uuid,
    /// When the report was made.
    pub generated_at: DateTime<Utc>,
    /// The case (the ledger).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_id: Option<Uuid>,
    /// The first day covered, in the town's calendar (reports over a date range).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<NaiveDate>,
    /// The last day covered, included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<NaiveDate>,
    /// The rows, in the report's order.
    pub rows: Vec<T>,
}

impl<T: Serialize> Report<T> {
    /// A report of `town` named `report`, made now, its rows still to come.
    pub fn head(report: &str, town_id: Uuid) -> Report<T> {
        Report {
            report: report.to_owned(),
            town_id,
            generated_at: Utc::now(),
            case_id: None,
            from: None,
            to: None,
            rows: Vec::new(),
        }
    }

    /// The JSON text up to the first row: `{..., "rows":[`.
    fn opening(&self) -> Result<Vec<u8>, ApiError> {
        let mut text = serde_json::to_vec(self).map_err(anyhow::Error::from)?;
        // The empty `rows` close the object: `...,"rows":[]}`; drop `]}`.
        debug_assert!(text.ends_with(b"[]}"));
        text.truncate(text.len() - 2);
        Ok(text)
    }
}

/// Rows of a report on their way from the database: each row, then `Ok(None)` at the end.
pub struct RowFeed<T> {
    rx: mpsc::Receiver<Result<Option<T>, ApiError>>,
    ended: bool,
}

impl<T> RowFeed<T> {
    /// The next row, `None` at the end (and after it). A feed that stops without saying it
    /// has ended (its task failed) is an error: a report is never silently short.
    async fn next(&mut self) -> Result<Option<T>, ApiError> {
        if self.ended {
            return Ok(None);
        }
        let item = self.rx.recv().await;
        self.take(item)
    }

    /// [`RowFeed::next`], from blocking code.
    fn blocking_next(&mut self) -> Result<Option<T>, ApiError> {
        if self.ended {
            return Ok(None);
        }
        let item = self.rx.blocking_recv();
        self.take(item)
    }

    fn take(&mut self, item: Option<Result<Option<T>, ApiError>>) -> Result<Option<T>, ApiError> {
        let item = item.unwrap_or_else(|| {
            Err(ApiError::Internal(anyhow::anyhow!(
                "the report's rows stopped before their end"
            )))
        });
        if !matches!(item, Ok(Some(_))) {
            self.ended = true;
        }
        item
    }
}

/// A report slot (see [`ExportSlots`]), shared by everything that works on one report:
/// the slot is free again when the last of them is done.
pub type Slot = Arc<OwnedSemaphorePermit>;

/// Runs `query` on a connection of its own, in a read-only transaction, and feeds its rows
/// through a bounded channel: the query runs only as fast as the rows are sent on, so
/// memory stays bounded whatever the report's size. If the reader goes away (the client
/// left), the query is cancelled in the database rather than read to its end. The task
/// holds `slot` until its connection is done.
pub fn spawn_rows<T, F>(pool: PgPool, slot: Slot, query: F) -> RowFeed<T>
where
    T: Send + 'static,
    F: for<'c> FnOnce(&'c mut PgConnection) -> BoxStream<'c, Result<T, sqlx::Error>>
        + Send
        + 'static,
{
    let (tx, rx) = mpsc::channel(ROW_BUFFER);
    tokio::spawn(async move {
        if let Err(e) = feed(&pool, &tx, query).await {
            let _ = tx.send(Err(e)).await;
        }
        drop(slot);
    });
    RowFeed { rx, ended: false }
}

async fn feed<T, F>(
    pool: &PgPool,
    tx: &mpsc::Sender<Result<Option<T>, ApiError>>,
    query: F,
) -> Result<(), ApiError>
where
    F: for<'c> FnOnce(&'c mut PgConnection) -> BoxStream<'c, Result<T, sqlx::Error>>,
{
    let mut db = pool.begin().await?;
    let backend = crate::db::repo::begin_export(&mut db).await?;
    let mut rows = query(&mut db);
    while let Some(row) = rows.next().await {
        if tx.send(Ok(Some(row?))).await.is_err() {
            // The reader is gone. Returning the connection as it is would mean reading the
            // rest of the result first: cancel the query (the transaction is still ours,
            // so nothing else can be running on that backend), then roll back.
            drop(rows);
            let cancelled = crate::db::repo::cancel_backend(pool, backend).await;
            if let Err(e) = cancelled {
                tracing::warn!(error = %e, "could not cancel an abandoned report's query");
            }
            let _ = db.rollback().await;
            return Ok(());
        }
    }
    drop(rows);
    db.commit().await?;
    let _ = tx.send(Ok(None)).await;
    Ok(())
}

/// The service's allowance of reports being made at once: each holds a database
/// connection for as long as its client reads.
#[derive(Debug, Clone)]
pub struct ExportSlots(Arc<Semaphore>);

impl ExportSlots {
    /// `n` reports at once (at least one).
    pub fn new(n: usize) -> ExportSlots {
        ExportSlots(Arc::new(Semaphore::new(n.max(1))))
    }

    /// A slot, or 429 `too_many_exports` when all are taken.
    pub fn take(&self) -> Result<Slot, ApiError> {
        self.0
            .clone()
            .try_acquire_owned()
            .map(Arc::new)
            .map_err(|_| ApiError::TooManyRequests {
                code: "too_many_exports",
                detail: msg!(
                    "同时生成的报表过多，请稍后重试。",
                    "Too many reports are being made at once: retry shortly."
                ),
                retry_after: 5,
            })
    }
}

/// A CSV being written: the byte order mark and the headings first.
struct CsvSink(csv::Writer<Vec<u8>>);

impl CsvSink {
    fn new(headings: &[&str]) -> Result<CsvSink, ApiError> {
        let mut w = csv::Writer::from_writer("\u{feff}".as_bytes().to_vec());
        w.write_record(headings).map_err(anyhow::Error::from)?;
        Ok(CsvSink(w))
    }

    fn row(&mut self, cells: &[Cell]) -> Result<(), ApiError> {
        for cell in cells {
            match cell {
                // A text cell that a spreadsheet would read as a formula is kept as text
                // by a leading apostrophe (CSV injection).
                Cell::Text(t) if t.starts_with(['=', '+', '-', '@', '\t', '\r']) => {
                    self.0.write_field(format!("'{t}"))
                }
                Cell::Text(t) => self.0.write_field(t),
                Cell::Number(n) => self.0.write_field(n.to_string()),
                Cell::Empty => self.0.write_field(""),
            }
            .map_err(anyhow::Error::from)?;
        }
        self.0
            .write_record(None::<&[u8]>)
            .map_err(anyhow::Error::from)?;
        Ok(())
    }

    /// How many bytes are ready to be sent (the writer keeps a few more until it flushes).
    fn pending(&self) -> usize {
        self.0.get_ref().len()
    }

    /// Everything written so far (the writer is swapped for a fresh one: csv's writer
    /// hands its buffer over only when it is done).
    fn take(&mut self) -> Result<Bytes, ApiError> {
        let done = std::mem::replace(&mut self.0, csv::Writer::from_writer(Vec::new()));
        let bytes = done.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(Bytes::from(bytes))
    }
}

fn xlsx_error(e: rust_xlsxwriter::XlsxError) -> ApiError {
    ApiError::Internal(anyhow::anyhow!("XLSX: {e}"))
}

/// An XLSX workbook of one sheet being written, row by row, to a temporary file: headings
/// bold and frozen, numbers as numbers.
struct XlsxSink {
    book: rust_xlsxwriter::Workbook,
    rows: u32,
}

impl XlsxSink {
    fn new(sheet: &str, headings: &[&str]) -> Result<XlsxSink, ApiError> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let ws = book
            .add_worksheet_with_constant_memory()
            .map_err(xlsx_error)?;
        ws.set_name(sheet).map_err(xlsx_error)?;
        ws.set_freeze_panes(1, 0).map_err(xlsx_error)?;
        let bold = rust_xlsxwriter::Format::new().set_bold();
        for (col, heading) in headings.iter().enumerate() {
            let col = u16::try_from(col).map_err(anyhow::Error::from)?;
            ws.set_column_width(col, 16).map_err(xlsx_error)?;
            ws.write_string_with_format(0, col, *heading, &bold)
                .map_err(xlsx_error)?;
        }
        Ok(XlsxSink { book, rows: 1 })
    }

    fn row(&mut self, cells: &[Cell]) -> Result<(), ApiError> {
        if self.rows >= XLSX_MAX_ROWS {
            return Err(ApiError::Unprocessable {
                code: "too_many_rows",
                detail: msg!(
                    (
                        "报表超过 XLSX 工作表 {} 行的上限，请改用 CSV。",
                        XLSX_MAX_ROWS
                    ),
                    (
                        "The report has more rows than an XLSX sheet holds ({}): ask for CSV.",
                        XLSX_MAX_ROWS
                    )
                ),
            });
        }
        let r = self.rows;
        let ws = self.book.worksheet_from_index(0).map_err(xlsx_error)?;
        for (c, cell) in cells.iter().enumerate() {
            let c = u16::try_from(c).map_err(anyhow::Error::from)?;
            match cell {
                Cell::Text(t) => ws.write_string(r, c, t).map(|_| ()),
                Cell::Number(n) => ws.write_number(r, c, *n).map(|_| ()),
                Cell::Empty => Ok(()),
            }
            .map_err(xlsx_error)?;
        }
        self.rows += 1;
        Ok(())
    }

    fn finish(mut self, out: impl Write + Send) -> Result<(), ApiError> {
        self.book.save_to_writer(out).map_err(xlsx_error)
    }
}

fn text_cells(row: &[String]) -> Vec<Cell> {
    row.iter().map(|t| Cell::Text(t.clone())).collect()
}

/// A table as CSV bytes, starting with the UTF-8 byte order mark.
pub fn csv(headings: &[&str], rows: &[Vec<String>]) -> Result<Vec<u8>, ApiError> {
    let mut sink = CsvSink::new(headings)?;
    for row in rows {
        sink.row(&text_cells(row))?;
    }
    Ok(sink.take()?.to_vec())
}

/// A table as an XLSX workbook of one sheet, headings bold and frozen.
pub fn xlsx(sheet: &str, headings: &[&str], rows: &[Vec<String>]) -> Result<Vec<u8>, ApiError> {
    let mut sink = XlsxSink::new(sheet, headings)?;
    for row in rows {
        sink.row(&text_cells(row))?;
    }
    let mut out = Vec::new();
    sink.finish(&mut out)?;
    Ok(out)
}

/// The headers of a file named `<name>.<ext>`.
fn file_response(media: &str, name: &str, ext: &str) -> actix_web::HttpResponseBuilder {
    let mut res = negotiated();
    res.insert_header((header::CONTENT_TYPE, media))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}.{ext}\""),
        ));
    res
}

/// A small table as a file download in `format` (CSV or XLSX), named `<name>.csv|xlsx`.
pub fn download(
    format: ExportFormat,
    name: &str,
    headings: &[&str],
    rows: &[Vec<String>],
) -> Result<HttpResponse, ApiError> {
    Ok(match format {
        ExportFormat::Xlsx => file_response(XLSX, name, "xlsx").body(xlsx(name, headings, rows)?),
        _ => file_response(CSV, name, "csv").body(csv(headings, rows)?),
    })
}

/// What a streamed body sends next.
type Piece = Result<Bytes, ApiError>;

/// Sends a report whose rows come from `rows`: JSON (`head` with the rows), CSV or XLSX
/// (a file named `name`, moments in the zone `tz`). `slot` is held until the last
/// byte is sent. A failure before the first row is an ordinary error answer.
pub async fn respond<T: Table>(
    format: ExportFormat,
    name: String,
    head: Report<T>,
    tz: Tz,
    mut rows: RowFeed<T>,
    slot: Slot,
) -> Result<HttpResponse, ApiError> {
    // The first row (or the end, or the failure) before anything is sent.
    let first = rows.next().await?;
    match format {
        ExportFormat::Json => {
            let mut buf = head.opening()?;
            let mut any = first.is_some();
            if let Some(row) = first {
                serde_json::to_writer(&mut buf, &row).map_err(anyhow::Error::from)?;
            }
            let opening = Bytes::from(buf);
            let mut buf = Vec::with_capacity(CHUNK);
            let body = pieces(rows, slot, opening, move |row| {
                let end = row.is_none();
                match row {
                    Some(row) => {
                        if any {
                            buf.push(b',');
                        }
                        any = true;
                        serde_json::to_writer(&mut buf, &row).map_err(anyhow::Error::from)?;
                    }
                    None => buf.extend_from_slice(b"]}"),
                }
                Ok((end || buf.len() >= CHUNK).then(|| Bytes::from(std::mem::take(&mut buf))))
            });
            Ok(negotiated()
                .content_type("application/json")
                .streaming(body))
        }
        ExportFormat::Csv => {
            let mut sink = CsvSink::new(T::HEADINGS)?;
            if let Some(row) = first {
                sink.row(&row.cells(tz))?;
            }
            let opening = sink.take()?;
            let body = pieces(rows, slot, opening, move |row| {
                let end = row.is_none();
                if let Some(row) = row {
                    sink.row(&row.cells(tz))?;
                }
                (end || sink.pending() >= CHUNK)
                    .then(|| sink.take())
                    .transpose()
            });
            Ok(file_response(CSV, &name, "csv").streaming(body))
        }
        ExportFormat::Xlsx => {
            // Every row into the workbook's temporary file first: a report too large for
            // a sheet is still a clean 422. If the client goes away meanwhile (this future
            // is dropped), the writing stops at the next row.
            let gone = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let _guard = SetOnDrop(gone.clone());
            let working = slot.clone();
            let sink = tokio::task::spawn_blocking(move || {
                let _slot = working;
                let mut sink = XlsxSink::new(T::SHEET, T::HEADINGS)?;
                if let Some(row) = first {
                    sink.row(&row.cells(tz))?;
                }
                while let Some(row) = rows.blocking_next()? {
                    if gone.load(std::sync::atomic::Ordering::Relaxed) {
                        return Err(ApiError::Internal(anyhow::anyhow!("the client went away")));
                    }
                    sink.row(&row.cells(tz))?;
                }
                Ok::<_, ApiError>(sink)
            })
            .await
            .map_err(anyhow::Error::from)??;
            let (tx, rx) = mpsc::channel::<Piece>(4);
            tokio::task::spawn_blocking(move || {
                let mut out = ChannelWriter {
                    tx: tx.clone(),
                    buf: Vec::with_capacity(CHUNK),
                };
                let saved = sink.finish(&mut out).and_then(|()| out.send_rest());
                if let Err(e) = saved {
                    let _ = tx.blocking_send(Err(e));
                }
            });
            let body = futures_util::stream::unfold((rx, slot), |(mut rx, slot)| async move {
                let piece = rx.recv().await?;
                Some((piece.inspect_err(log_cut), (rx, slot)))
            });
            Ok(file_response(XLSX, &name, "xlsx").streaming(body))
        }
    }
}

/// Sets its flag when dropped: tells blocking work that the request it serves is gone.
struct SetOnDrop(Arc<std::sync::atomic::AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

fn log_cut(e: &ApiError) {
    tracing::error!(error = %e, "a report was cut off after its first byte");
}

/// The body of a streamed report: `opening` first, then whatever `encode` makes of each
/// row (and, given `None`, of the end) when it has a piece ready. A failed row ends the
/// body with an error, which breaks the transfer off.
fn pieces<T, E>(
    rows: RowFeed<T>,
    slot: Slot,
    opening: Bytes,
    encode: E,
) -> impl futures_util::Stream<Item = Piece> + 'static
where
    T: Send + 'static,
    E: FnMut(Option<T>) -> Result<Option<Bytes>, ApiError> + 'static,
{
    struct State<T, E> {
        rows: RowFeed<T>,
        opening: Option<Bytes>,
        encode: E,
        done: bool,
        _slot: Slot,
    }
    let state = State {
        rows,
        opening: Some(opening),
        encode,
        done: false,
        _slot: slot,
    };
    futures_util::stream::unfold(state, |mut st| async move {
        if let Some(opening) = st.opening.take() {
            return Some((Ok(opening), st));
        }
        while !st.done {
            let next = match st.rows.next().await {
                Ok(Some(row)) => (st.encode)(Some(row)),
                Ok(None) => {
                    st.done = true;
                    (st.encode)(None)
                }
                Err(e) => Err(e),
            };
            match next {
                Ok(Some(piece)) => return Some((Ok(piece), st)),
                Ok(None) => {}
                Err(e) => {
                    log_cut(&e);
                    st.done = true;
                    return Some((Err(e), st));
                }
            }
        }
        None
    })
}

/// Bytes written by a blocking encoder, sent on in pieces of [`CHUNK`] bytes (waiting while
/// the client is slow: the channel is small).
struct ChannelWriter {
    tx: mpsc::Sender<Piece>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> std::io::Result<()> {
        let piece = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(piece))
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))
    }

    fn send_rest(&mut self) -> Result<(), ApiError> {
        if !self.buf.is_empty() {
            self.send().map_err(anyhow::Error::from)?;
        }
        Ok(())
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::ResponseError;

    #[test]
    fn csv_starts_with_a_bom_and_keeps_chinese() {
        let bytes = csv(&["姓名"], &[vec!["张建国".into()]]).unwrap();
        assert!(bytes.starts_with("\u{feff}".as_bytes()));
        assert_eq!(String::from_utf8(bytes).unwrap(), "\u{feff}姓名\n张建国\n");
    }

    #[test]
    fn csv_keeps_formulas_as_text_and_numbers_as_numbers() {
        let mut sink = CsvSink::new(&["a", "b", "c", "d"]).unwrap();
        sink.row(&[
            Cell::from("=HYPERLINK(\"x\")"),
            Cell::Number(-0.5),
            Cell::Empty,
            Cell::from("a,b"),
        ])
        .unwrap();
        let text = String::from_utf8(sink.take().unwrap().to_vec()).unwrap();
        assert_eq!(
            text,
            "\u{feff}a,b,c,d\n\"'=HYPERLINK(\"\"x\"\")\",-0.5,,\"a,b\"\n"
        );
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

    #[test]
    fn xlsx_refuses_more_rows_than_a_sheet_holds() {
        let mut sink = XlsxSink::new("s", &["n"]).unwrap();
        sink.rows = XLSX_MAX_ROWS - 1;
        sink.row(&[Cell::Number(1.0)]).unwrap();
        let e = sink.row(&[Cell::Number(2.0)]).unwrap_err();
        assert_eq!(e.code(), "too_many_rows");
    }

    #[tokio::test]
    async fn a_feed_that_stops_before_its_end_is_an_error() {
        let (tx, rx) = mpsc::channel(4);
        let mut ended = RowFeed { rx, ended: false };
        tx.send(Ok(Some(1))).await.unwrap();
        tx.send(Ok(None)).await.unwrap();
        drop(tx);
        assert_eq!(ended.next().await.unwrap(), Some(1));
        assert_eq!(ended.next().await.unwrap(), None);
        assert_eq!(ended.next().await.unwrap(), None, "and after the end");

        let (tx, rx) = mpsc::channel(4);
        let mut cut = RowFeed { rx, ended: false };
        tx.send(Ok(Some(1))).await.unwrap();
        drop(tx);
        assert_eq!(cut.next().await.unwrap(), Some(1));
        assert_eq!(cut.next().await.unwrap_err().code(), "internal_error");
    }

    #[test]
    fn export_slots_run_out_and_come_back() {
        let slots = ExportSlots::new(0);
        let first = slots.take().unwrap();
        let refused = slots.take().unwrap_err();
        assert_eq!(refused.code(), "too_many_exports");
        assert_eq!(refused.status_code().as_u16(), 429);
        drop(first);
        assert!(slots.take().is_ok());
    }

    #[test]
    fn accept_picks_the_preferred_format_we_serve() {
        use ExportFormat::*;
        assert_eq!(ExportFormat::from_accept(None), None);
        assert_eq!(ExportFormat::from_accept(Some("text/csv")), Some(Csv));
        assert_eq!(ExportFormat::from_accept(Some(XLSX)), Some(Xlsx));
        assert_eq!(
            ExportFormat::from_accept(Some("image/png, text/csv;q=0.5, application/json;q=0.9")),
            Some(Json)
        );
        assert_eq!(
            ExportFormat::from_accept(Some("text/csv;q=0, */*;q=0.1")),
            Some(Json)
        );
        assert_eq!(ExportFormat::from_accept(Some("image/png")), None);
        assert_eq!(
            ExportFormat::from_accept(Some("Text/CSV; charset=utf-8")),
            Some(Csv)
        );
        // The most specific range decides an offer's quality.
        assert_eq!(
            ExportFormat::from_accept(Some("text/csv;q=0, text/*")),
            None
        );
        assert_eq!(ExportFormat::from_accept(Some("text/*")), Some(Csv));
        assert_eq!(ExportFormat::from_accept(Some("*/*, text/csv")), Some(Json));
        assert_eq!(
            ExportFormat::from_accept(Some("*/*;q=0.5, text/csv")),
            Some(Csv)
        );
        assert_eq!(
            ExportFormat::from_accept(Some("application/*;Q=0.2, text/csv;q=0.4")),
            Some(Csv)
        );
        assert_eq!(ExportFormat::from_accept(Some("garbage")), None);
    }

    #[test]
    fn a_report_opens_with_its_head_and_an_open_row_list() {
        let town = Uuid::nil();
        let mut head = Report::<u8>::head("ledger", town);
        head.case_id = Some(town);
        let text = String::from_utf8(head.opening().unwrap()).unwrap();
        assert!(
            text.starts_with("{\"report\":\"ledger\",\"town_id\":"),
            "{text}"
        );
        assert!(text.ends_with(",\"rows\":["), "{text}");
        let full = format!("{text}1,2]}}");
        let v: serde_json::Value = serde_json::from_str(&full).unwrap();
        assert_eq!(v["rows"], serde_json::json!([1, 2]));
    }
}
