//! A large file of events (`offerlab import`), all-or-nothing in one transaction.
//!
//! The file arrives as a stream of parts (the caller reads and parses it part by part, so
//! memory stays flat in the file's size). Each part goes through the ingest path
//! ([`Ingestor::apply`]: the same validation against the customers' state, idempotency
//! and aggregate deltas as `POST .../events`) inside one outer transaction, each in a
//! savepoint of its own. A refused part still folds its valid events in
//! ([`IngestBatch::fold_refused`]), so every later part is checked against the state it
//! would meet and the errors are those one request of the whole file would get. At the
//! end the transaction commits only if no part was refused (and it is not a dry run).

use super::ingest::{IngestBatch, IngestError, Ingestor};
use super::{DbConn, StoreError, write_transaction_or};
use crate::domain::{FieldError, InitiativeKey, Status};

/// How an import runs.
#[derive(Debug, Clone, Copy)]
pub struct ImportOptions {
    /// Validate and count everything, then roll back.
    pub dry_run: bool,
    /// Most errors kept for the answer (all are counted).
    pub max_errors: usize,
}

/// What an import did (or, refused or dry, would have done).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportOutcome {
    /// Rows read (events, good or bad).
    pub rows: u64,
    /// New events (stored, unless refused or dry).
    pub accepted: u64,
    /// Events stored before under the same `event_id`, same content (or repeated in the file).
    pub duplicates: u64,
    /// The first `max_errors` problems, in file order.
    pub errors: Vec<FieldError>,
    /// Every problem found.
    pub error_count: u64,
    /// Whether the events were committed.
    pub committed: bool,
}

/// Why an import stopped before its end. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError<E: std::error::Error + 'static> {
    /// The source could not be read (I/O, or a file that is not CSV at all).
    #[error(transparent)]
    Source(E),
    #[error("initiative '{0}' not found")]
    NotFound(InitiativeKey),
    #[error("initiative is {0}; events are accepted only while it is running")]
    NotRunning(Status),
    #[error(transparent)]
    Storage(#[from] StoreError),
}

/// Rolls the outer transaction back while keeping the outcome.
enum Stop<E: std::error::Error + 'static> {
    Keep(ImportOutcome),
    Fail(ImportError<E>),
}

impl<E: std::error::Error + 'static> From<StoreError> for Stop<E> {
    fn from(e: StoreError) -> Self {
        Stop::Fail(ImportError::Storage(e))
    }
}

/// Imports `parts` (each one initiative's batch, marked [`IngestBatch::fold_refused`])
/// in one transaction; `progress` is called after each part with the outcome so far.
pub fn import<E, I, P>(
    conn: &mut DbConn,
    ingestor: &mut Ingestor,
    parts: I,
    options: ImportOptions,
    mut progress: P,
) -> Result<ImportOutcome, ImportError<E>>
where
    E: std::error::Error + 'static,
    I: IntoIterator<Item = Result<IngestBatch, E>>,
    P: FnMut(&ImportOutcome),
{
    let mut outcome = ImportOutcome::default();
    let result = write_transaction_or(conn, |conn| {
        for part in parts {
            let mut part = part.map_err(|e| Stop::Fail(ImportError::Source(e)))?;
            part.fold_refused = true;
            outcome.rows += (part.events.len()
                + part
                    .rejected
                    .iter()
                    .map(|(i, _)| *i)
                    .collect::<std::collections::BTreeSet<_>>()
                    .len()) as u64;
            let answer = ingestor
                .apply(conn, std::slice::from_ref(&part))?
                .pop()
                .unwrap_or(Err(IngestError::Closed));
            match answer {
                Ok(o) => {
                    outcome.accepted += o.accepted;
                    outcome.duplicates += o.duplicates;
                }
                Err(IngestError::Invalid(errors) | IngestError::IdConflict(errors)) => {
                    outcome.error_count += errors.len() as u64;
                    let room = options.max_errors.saturating_sub(outcome.errors.len());
                    outcome.errors.extend(errors.into_iter().take(room));
                }
                Err(IngestError::NotFound(key)) => {
                    return Err(Stop::Fail(ImportError::NotFound(key)));
                }
                Err(IngestError::NotRunning(status)) => {
                    return Err(Stop::Fail(ImportError::NotRunning(status)));
                }
                Err(IngestError::Storage(e)) => return Err(Stop::Fail(e.into())),
                Err(e @ (IngestError::Closed | IngestError::TimedOut(_))) => {
                    return Err(Stop::Fail(ImportError::Storage(StoreError::Connection(
                        e.to_string(),
                    ))));
                }
            }
            progress(&outcome);
        }
        if outcome.error_count > 0 || options.dry_run {
            return Err(Stop::Keep(std::mem::take(&mut outcome)));
        }
        Ok(())
    });
    match result {
        Ok(()) => {
            outcome.committed = true;
            Ok(outcome)
        }
        Err(Stop::Keep(kept)) => Ok(kept),
        Err(Stop::Fail(e)) => Err(e),
    }
}
