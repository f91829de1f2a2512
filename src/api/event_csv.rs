//! Events as CSV: `POST .../events` with `Content-Type: text/csv`, `offerlab import` and
//! `offerlab export`.
//!
//! The columns are the fields of the JSON event ([`EventInput`], read through serde: a
//! field added to events is a column without code here), named in a header row, in any
//! order; an empty cell is an absent field. A row without `event_id` (no such column, or
//! an empty cell) gets an id derived from its content ([`derived_id`]), so a file
//! imported twice stores nothing the second time. Rows are read one part at a time
//! ([`CsvEvents`]): memory stays flat in the file's size.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};
use sha2::{Digest, Sha256};

use super::error::ApiError;
use super::events::{EventInput, StoredEventView};
use crate::domain::{FieldError, InitiativeKey};
use crate::store::ingest::{IngestBatch, IngestError};

/// The prefix of ids derived from a row's content. Client ids of this form are not
/// refused, but a client never needs one: it is reserved for derived ids.
pub const DERIVED_ID_PREFIX: &str = "csv-sha256:";

/// Most errors listed in an answer (all are counted in its `detail`).
pub const MAX_LISTED_ERRORS: usize = 1_000;

/// The columns a file may have: the JSON event's fields, in their order.
pub fn columns() -> &'static [&'static str] {
    serde_aux::serde_introspection::serde_introspect::<EventInput>()
}

/// Why a file could not be read as events (as opposed to bad rows, which are errors
/// of the import).
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    /// The header row is wrong: every problem, at line 1.
    #[error("the header row is invalid: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Header(Vec<FieldError>),
    /// The bytes cannot be read (I/O error).
    #[error("cannot read the file: {0}")]
    Read(#[from] csv::Error),
}

/// A row's id when it names none: `csv-sha256:` and the SHA-256 (hex) of its non-empty
/// cells other than `event_id`, each as `column=value`, in column-name order and
/// separated by a 0 byte. The same row gives the same id whatever the column order and
/// whatever empty columns a file adds; two identical rows are one event.
pub fn derived_id(names: &[String], record: &csv::StringRecord) -> String {
    let mut cells: Vec<(&str, &str)> = names
        .iter()
        .zip(record.iter())
        .filter(|(name, value)| name.as_str() != "event_id" && !value.is_empty())
        .map(|(name, value)| (name.as_str(), value))
        .collect();
    cells.sort_unstable();
    let mut digest = Sha256::new();
    for (name, value) in cells {
        digest.update(name.as_bytes());
        digest.update(b"=");
        digest.update(value.as_bytes());
        digest.update([0]);
    }
    format!("{DERIVED_ID_PREFIX}{}", hex::encode(digest.finalize()))
}

/// A value deserialized with the path of the field that failed, without failing the
/// deserializer (csv's own errors do not name the column for every kind of problem).
struct Traced<T>(Result<T, Shape>);

struct Shape {
    /// The column that failed (`amount_cents`), or `.` for the row.
    path: String,
    message: String,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Traced<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Traced(serde_path_to_error::deserialize(d).map_err(|e| {
            Shape {
                path: e.path().to_string(),
                message: e.into_inner().to_string(),
            }
        })))
    }
}

impl Shape {
    /// The problem as a field error of `line`: the column (by the path, or by csv's
    /// `field N: ` prefix naming its index among `names`), and serde's words.
    fn at(&self, line: u64, names: &[String]) -> FieldError {
        let (index, message) = match self.message.strip_prefix("field ") {
            Some(rest) => match rest.split_once(": ") {
                Some((n, m)) => (n.parse::<usize>().ok(), m),
                None => (None, rest),
            },
            None => (None, self.message.as_str()),
        };
        let path = match (self.path.as_str(), index.and_then(|i| names.get(i))) {
            (".", _) => "",
            (p, _) if !p.contains('?') => p,
            (_, Some(name)) => name,
            _ => "",
        };
        let e = super::extract::shape_error(path, message);
        let field = if e.field == "body" {
            "row".into()
        } else {
            e.field
        };
        FieldError::at_line(line, field, e.reason)
    }
}

/// The header row, checked.
struct Header {
    /// Column names, `event_id` appended when the file has none (its cell is derived).
    names: csv::StringRecord,
    /// The names as strings, for [`derived_id`].
    owned: Vec<String>,
    /// Cells per row in the file.
    width: usize,
    /// Whether the file has no `event_id` column.
    derive: bool,
    /// The index of `event_id` among the file's columns.
    id_column: Option<usize>,
}

impl Header {
    fn check(raw: &csv::StringRecord) -> Result<Self, Vec<FieldError>> {
        let known = columns();
        let mut names: Vec<String> = raw
            .iter()
            .enumerate()
            .map(|(i, h)| {
                if i == 0 {
                    h.trim_start_matches('\u{feff}').to_owned()
                } else {
                    h.to_owned()
                }
            })
            .collect();
        let mut errors = Vec::new();
        if names.iter().all(String::is_empty) {
            return Err(vec![FieldError::at_line(
                1,
                "header",
                format!("the first line must name the columns: {}", known.join(", ")),
            )]);
        }
        let mut seen = HashSet::new();
        for name in &names {
            if name.is_empty() {
                errors.push(FieldError::at_line(1, "header", "a column has no name"));
            } else if !known.contains(&name.as_str()) {
                errors.push(FieldError::at_line(
                    1,
                    name.clone(),
                    format!("is not a known column (expected: {})", known.join(", ")),
                ));
            } else if !seen.insert(name.as_str()) {
                errors.push(FieldError::at_line(1, name.clone(), "appears twice"));
            }
        }
        let width = names.len();
        let id_column = names.iter().position(|n| n == "event_id");
        let derive = id_column.is_none();
        if derive {
            names.push("event_id".into());
        }
        {
            // Required columns: an empty row of the known columns fails on the first one
            // missing; add it and ask again, until none is missing.
            let mut probe: Vec<String> = Vec::new();
            for name in &names {
                if known.contains(&name.as_str()) && !probe.contains(name) {
                    probe.push(name.clone());
                }
            }
            for _ in 0..known.len() {
                let headers = csv::StringRecord::from(probe.clone());
                let row = csv::StringRecord::from(vec![""; probe.len()]);
                let missing = match row.deserialize::<Traced<EventInput>>(Some(&headers)) {
                    Ok(Traced(Err(shape))) => shape
                        .message
                        .split_once("missing field `")
                        .and_then(|(_, rest)| rest.split_once('`'))
                        .map(|(name, _)| name.to_owned()),
                    _ => None,
                };
                let Some(missing) = missing else { break };
                errors.push(FieldError::at_line(
                    1,
                    missing.clone(),
                    "is a required column",
                ));
                probe.push(missing);
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            names: csv::StringRecord::from(names.clone()),
            owned: names,
            width,
            derive,
            id_column,
        })
    }
}

/// A CSV file of events, read as parts of at most `part_rows` rows, each an
/// [`IngestBatch`] whose positions are the rows' line numbers (the header is line 1).
/// Rows that do not parse are kept as the batch's `rejected`, by line.
pub struct CsvEvents<R: Read> {
    reader: csv::Reader<R>,
    header: Header,
    initiative: InitiativeKey,
    now: DateTime<Utc>,
    part_rows: usize,
    record: csv::StringRecord,
    with_id: csv::StringRecord,
    done: bool,
    bytes: Arc<AtomicU64>,
    rows: Arc<AtomicU64>,
}

impl<R: Read> CsvEvents<R> {
    /// Reads and checks the header row.
    pub fn new(
        read: R,
        initiative: InitiativeKey,
        now: DateTime<Utc>,
        part_rows: usize,
    ) -> Result<Self, CsvError> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::Headers)
            .from_reader(read);
        let header = Header::check(reader.headers()?).map_err(CsvError::Header)?;
        Ok(Self {
            reader,
            header,
            initiative,
            now,
            part_rows: part_rows.max(1),
            record: csv::StringRecord::new(),
            with_id: csv::StringRecord::new(),
            done: false,
            bytes: Arc::default(),
            rows: Arc::default(),
        })
    }

    /// Bytes read so far (updated after each part).
    pub fn bytes_read(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.bytes)
    }

    /// Rows read so far (updated after each part).
    pub fn rows_read(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.rows)
    }

    /// Parses the row in `self.record`, found at `line`.
    fn parse_row(&mut self, line: u64) -> Result<(crate::domain::Event, bool), Vec<FieldError>> {
        let header = &self.header;
        if self.record.len() != header.width {
            return Err(vec![FieldError::at_line(
                line,
                "row",
                format!(
                    "has {} cell(s); the header names {} column(s)",
                    self.record.len(),
                    header.width
                ),
            )]);
        }
        let empty_id = header
            .id_column
            .is_some_and(|i| self.record.get(i).is_some_and(str::is_empty));
        let record = if header.derive || empty_id {
            let id = derived_id(&header.owned, &self.record);
            self.with_id.clear();
            for (i, cell) in self.record.iter().enumerate() {
                if Some(i) == header.id_column {
                    self.with_id.push_field(&id);
                } else {
                    self.with_id.push_field(cell);
                }
            }
            if header.derive {
                self.with_id.push_field(&id);
            }
            &self.with_id
        } else {
            &self.record
        };
        let input = match record.deserialize::<Traced<EventInput>>(Some(&header.names)) {
            Ok(Traced(Ok(input))) => input,
            Ok(Traced(Err(shape))) => return Err(vec![shape.at(line, &header.owned)]),
            Err(e) => {
                return Err(vec![FieldError::at_line(line, "row", e.to_string())]);
            }
        };
        let given = input.occurred_at.is_some();
        input
            .parse(self.now)
            .map(|event| (event, given))
            .map_err(|errors| {
                errors
                    .0
                    .into_iter()
                    .map(|e| FieldError::at_line(line, e.field, e.reason))
                    .collect()
            })
    }
}

/// `events[<line>].<field>`: how a row's problem travels through the ingest path, which
/// names events by position (see [`line_error`]).
fn positioned(e: FieldError) -> (usize, FieldError) {
    let line = e.line.unwrap_or(0);
    let index = usize::try_from(line).unwrap_or(usize::MAX);
    (
        index,
        FieldError::new(format!("events[{line}].{}", e.field), e.reason),
    )
}

/// A problem the ingest path reported for a CSV part (`events[<line>].<field>`, the
/// position being the row's line) as a field error of that line and column.
pub fn line_error(e: FieldError) -> FieldError {
    let parsed = e.field.strip_prefix("events[").and_then(|rest| {
        let (line, field) = rest.split_once(']')?;
        let line: u64 = line.parse().ok()?;
        Some((line, field.trim_start_matches('.').to_owned()))
    });
    match parsed {
        Some((line, field)) => {
            // The ingest path names an earlier event of the request by position.
            let reason = match e.reason.split_once("events[") {
                Some((before, rest)) => match rest.split_once("] of this request") {
                    Some((n, after)) if n.bytes().all(|b| b.is_ascii_digit()) => {
                        format!("{before}line {n} of this file{after}")
                    }
                    _ => e.reason.clone(),
                },
                None => e.reason.clone(),
            };
            FieldError::at_line(
                line,
                if field.is_empty() {
                    "row".into()
                } else {
                    field
                },
                reason,
            )
        }
        None => e,
    }
}

impl<R: Read> Iterator for CsvEvents<R> {
    type Item = Result<IngestBatch, CsvError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut batch = IngestBatch::new(self.initiative.clone(), Vec::new(), self.now);
        let mut rows = 0;
        while rows < self.part_rows {
            match self.reader.read_record(&mut self.record) {
                Ok(false) => {
                    self.done = true;
                    break;
                }
                Ok(true) => {
                    let line = self.record.position().map_or(0, csv::Position::line);
                    rows += 1;
                    match self.parse_row(line) {
                        Ok((event, given)) => {
                            batch.events.push(event);
                            batch
                                .positions
                                .push(usize::try_from(line).unwrap_or(usize::MAX));
                            batch.occurred_at_given.push(given);
                        }
                        Err(errors) => batch.rejected.extend(errors.into_iter().map(positioned)),
                    }
                }
                Err(e) => match e.kind() {
                    // Not UTF-8: that row is bad, the next ones are still read.
                    csv::ErrorKind::Utf8 { pos, err } => {
                        rows += 1;
                        let line = pos.as_ref().map_or(0, csv::Position::line);
                        let column = self
                            .header
                            .owned
                            .get(err.field())
                            .map_or("row".to_owned(), Clone::clone);
                        batch.rejected.push(positioned(FieldError::at_line(
                            line,
                            column,
                            "is not valid UTF-8 text (save the file as UTF-8)",
                        )));
                    }
                    _ => {
                        self.done = true;
                        return Some(Err(CsvError::Read(e)));
                    }
                },
            }
        }
        self.bytes
            .store(self.reader.position().byte(), Ordering::Relaxed);
        self.rows.fetch_add(rows as u64, Ordering::Relaxed);
        if rows == 0 {
            return None;
        }
        Some(Ok(batch))
    }
}

/// Cuts a list of errors to [`MAX_LISTED_ERRORS`], saying so in `detail`.
fn listed(errors: Vec<FieldError>, what: &str) -> (String, Vec<FieldError>) {
    let total = errors.len();
    let lines = errors
        .iter()
        .filter_map(|e| e.line)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let mut detail = format!("{total} problem(s) on {lines} line(s) {what}; nothing was stored");
    let mut errors = errors;
    if total > MAX_LISTED_ERRORS {
        errors.truncate(MAX_LISTED_ERRORS);
        detail.push_str(&format!("; the first {MAX_LISTED_ERRORS} are listed"));
    }
    (detail, errors)
}

/// Reads a CSV request body into one batch of at most `max_rows` rows.
pub fn parse_body(
    body: &[u8],
    initiative: InitiativeKey,
    now: DateTime<Utc>,
    max_rows: usize,
) -> Result<IngestBatch, ApiError> {
    let mut events =
        CsvEvents::new(body, initiative, now, max_rows.saturating_add(1)).map_err(|e| match e {
            CsvError::Header(errors) => {
                let (detail, errors) = listed(errors, "in the header row");
                ApiError::Invalid { detail, errors }
            }
            CsvError::Read(e) => not_csv(&e),
        })?;
    let batch = match events.next() {
        None => {
            return Err(ApiError::invalid_field(
                "body",
                "must hold at least 1 row after the header row",
            ));
        }
        Some(Err(CsvError::Read(e))) => return Err(not_csv(&e)),
        Some(Err(e @ CsvError::Header(_))) => return Err(ApiError::Internal(e.to_string())),
        Some(Ok(batch)) => batch,
    };
    let rows = events.rows_read().load(Ordering::Relaxed);
    if rows > max_rows as u64 {
        return Err(ApiError::invalid_field(
            "body",
            format!(
                "must hold at most {max_rows} rows; split the file, or load it with \
                 `offerlab import` (no size limit)"
            ),
        ));
    }
    Ok(batch)
}

fn not_csv(e: &csv::Error) -> ApiError {
    ApiError::BadRequest {
        detail: format!("the body is not readable CSV: {e}"),
        errors: vec![FieldError::new("body", format!("not readable CSV: {e}"))],
    }
}

/// The ingest path's refusal of a CSV body, its problems named by line and column.
pub fn refusal(e: IngestError) -> ApiError {
    match e {
        IngestError::Invalid(errors) => {
            let (detail, errors) =
                listed(errors.into_iter().map(line_error).collect(), "are invalid");
            ApiError::Invalid { detail, errors }
        }
        IngestError::IdConflict(errors) => {
            let (detail, errors) = listed(
                errors.into_iter().map(line_error).collect(),
                "reuse an event_id for a different event",
            );
            ApiError::EventIdConflict { detail, errors }
        }
        other => other.into(),
    }
}

/// Writes the header row of an export.
pub fn write_header<W: Write>(w: &mut csv::Writer<W>) -> Result<(), csv::Error> {
    w.write_record(columns())
}

/// Writes one stored event as a row: each column from the field of the same name of the
/// event as the API lists it (`GET .../events`), empty when absent.
pub fn write_event<W: Write>(
    w: &mut csv::Writer<W>,
    event: &StoredEventView,
) -> Result<(), csv::Error> {
    let value = serde_json::to_value(event)
        .map_err(|e| csv::Error::from(std::io::Error::other(e.to_string())))?;
    for column in columns() {
        match value.get(*column) {
            None | Some(serde_json::Value::Null) => w.write_field("")?,
            Some(serde_json::Value::String(s)) => w.write_field(s)?,
            Some(other) => w.write_field(other.to_string())?,
        }
    }
    w.write_record(None::<&[u8]>)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> InitiativeKey {
        InitiativeKey::parse("pilot").unwrap_or_else(|_| unreachable!())
    }

    fn parts(text: &str) -> Vec<IngestBatch> {
        CsvEvents::new(text.as_bytes(), key(), Utc::now(), 2)
            .map(|e| e.filter_map(Result::ok).collect())
            .unwrap_or_default()
    }

    #[test]
    fn columns_are_the_json_fields() {
        let c = columns();
        assert_eq!(&c[..3], &["event_id", "type", "customer_id"]);
        assert!(c.contains(&"amount_cents") && c.contains(&"sentiment"));
    }

    #[test]
    fn rows_become_events_named_by_line() {
        let text = "type,customer_id,segment,sentiment\n\
                    exposure,c1,smb,\n\
                    response,c1,,love\n\
                    response,c1,,hate\n";
        let parts = parts(text);
        assert_eq!(parts.len(), 2, "two rows per part");
        assert_eq!(parts[0].positions, vec![2, 3]);
        assert!(parts[0].rejected.is_empty());
        let bad: Vec<FieldError> = parts[1]
            .rejected
            .iter()
            .map(|(_, e)| line_error(e.clone()))
            .collect();
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].line, Some(4));
        assert_eq!(bad[0].field, "sentiment");
    }

    #[test]
    fn derived_ids_ignore_column_order_and_empty_cells() {
        let a = parts("type,customer_id,sentiment\nresponse,c1,love\n");
        let b = parts("sentiment,segment,customer_id,type\nlove,,c1,response\n");
        let c = parts("event_id,type,customer_id,sentiment\n,response,c1,love\n");
        let id = |p: &[IngestBatch]| p[0].events[0].event_id.to_string();
        assert!(id(&a).starts_with(DERIVED_ID_PREFIX));
        assert_eq!(id(&a), id(&b));
        assert_eq!(id(&a), id(&c));
        let d = parts("type,customer_id,sentiment\nresponse,c1,like\n");
        assert_ne!(id(&a), id(&d));
    }

    #[test]
    fn a_bad_header_is_reported_whole() {
        let Err(CsvError::Header(errors)) = CsvEvents::new(
            "colour,customer_id,customer_id\n".as_bytes(),
            key(),
            Utc::now(),
            10,
        ) else {
            unreachable!("the header is refused")
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["colour", "customer_id", "type"]);
        let Err(CsvError::Header(errors)) =
            CsvEvents::new("customer_id,segment\n".as_bytes(), key(), Utc::now(), 10)
        else {
            unreachable!("the header is refused")
        };
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "type");
        assert_eq!(errors[0].line, Some(1));
    }

    #[test]
    fn cell_problems_name_their_column() {
        let text = "type,customer_id,amount_cents,currency\npreorder,c1,12x,EUR\npreorder,c1,5\n";
        let parts = parts(text);
        let bad: Vec<FieldError> = parts[0]
            .rejected
            .iter()
            .map(|(_, e)| line_error(e.clone()))
            .collect();
        assert_eq!(bad.len(), 2, "{bad:?}");
        assert_eq!(
            (bad[0].line, bad[0].field.as_str()),
            (Some(2), "amount_cents")
        );
        assert_eq!((bad[1].line, bad[1].field.as_str()), (Some(3), "row"));
    }
}
