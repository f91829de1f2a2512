//! Customer segments.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::models::SegmentRow;
use super::schema::segments::dsl as s;
use super::{DbConn, StoreError, to_naive, to_utc};
use crate::domain::SegmentKey;
use crate::domain::audit::{Action, Actor, AuditEntry};

/// A customer segment.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Segment {
    pub key: SegmentKey,
    pub name: String,
    pub description: String,
    pub created_at: DateTime<Utc>,
}

impl From<SegmentRow> for Segment {
    fn from(r: SegmentRow) -> Self {
        Self {
            key: SegmentKey::from_trusted(r.key),
            name: r.name,
            description: r.description,
            created_at: to_utc(r.created_at),
        }
    }
}

/// Creates a segment (recorded in the audit log in the same transaction); a key that
/// exists already is a conflict.
pub fn create(conn: &mut DbConn, actor: &Actor, segment: &Segment) -> Result<Segment, StoreError> {
    super::write_transaction(conn, |conn| {
        let created = insert(conn, segment)?;
        super::audit::record(
            conn,
            &AuditEntry::new(
                actor,
                Action::SegmentCreate,
                created.key.as_str(),
                None,
                Some(super::initiatives::to_json(&created)?),
                created.created_at,
            ),
        )?;
        Ok(created)
    })
}

fn insert(conn: &mut DbConn, segment: &Segment) -> Result<Segment, StoreError> {
    let row = SegmentRow {
        id: 0,
        key: segment.key.to_string(),
        name: segment.name.clone(),
        description: segment.description.clone(),
        created_at: to_naive(segment.created_at),
    };
    match diesel::insert_into(s::segments).values(&row).execute(conn) {
        Ok(_) => Ok(segment.clone()),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Err(StoreError::Conflict(format!(
            "segment '{}' exists already",
            segment.key
        ))),
        Err(e) => Err(e.into()),
    }
}

/// Every segment, by key.
pub fn list(conn: &mut DbConn) -> Result<Vec<Segment>, StoreError> {
    Ok(s::segments
        .select(SegmentRow::as_select())
        .order(s::key.asc())
        .load(conn)?
        .into_iter()
        .map(Segment::from)
        .collect())
}

/// Which of `keys` exist.
pub fn existing(conn: &mut DbConn, keys: &[&str]) -> Result<Vec<String>, StoreError> {
    let mut found = Vec::new();
    for chunk in keys.chunks(1000) {
        found.extend(
            s::segments
                .select(s::key)
                .filter(s::key.eq_any(chunk))
                .load::<String>(conn)?,
        );
    }
    Ok(found)
}

/// The keys among `keys` that are not segments, as field errors under `field`.
pub fn require_all(conn: &mut DbConn, keys: &[SegmentKey], field: &str) -> Result<(), StoreError> {
    let wanted: Vec<&str> = keys.iter().map(|k| k.as_str()).collect();
    let found = existing(conn, &wanted)?;
    let mut errors = crate::domain::FieldErrors::default();
    for (i, k) in wanted.iter().enumerate() {
        if !found.iter().any(|f| f == k) {
            errors.push(
                format!("{field}[{i}]"),
                format!("unknown segment '{k}': create it first with POST /api/v1/segments"),
            );
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Invalid(errors))
    }
}
