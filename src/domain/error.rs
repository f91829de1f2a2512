use serde::Serialize;
use utoipa::ToSchema;

/// One thing wrong with one field of a request, e.g. `events[3].amount_cents`: "must be > 0".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// In a CSV body: the line of the offending row (the header is line 1). Absent for
    /// JSON bodies.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub line: Option<u64>,
    /// Path of the offending field in the request body (`criteria.confidence`, `events[2].segment`);
    /// in a CSV body, the column (`amount_cents`), or `row` for the row as a whole.
    pub field: String,
    /// Why it was rejected, in plain words.
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            line: None,
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// An error of a CSV row: its line, its column and why.
    pub fn at_line(line: u64, field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            line: Some(line),
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The same error, with its field nested under `prefix` (`amount_cents` -> `events[3].amount_cents`).
    pub fn under(mut self, prefix: &str) -> Self {
        self.field = if self.field.is_empty() {
            prefix.to_owned()
        } else if self.field.starts_with('[') {
            format!("{prefix}{}", self.field)
        } else {
            format!("{prefix}.{}", self.field)
        };
        self
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}, {}: {}", self.field, self.reason),
            None => write!(f, "{}: {}", self.field, self.reason),
        }
    }
}

/// Every field error found while parsing one request: parsing goes on after the
/// first error so a client sees all of them at once.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
#[error("{} invalid field(s)", .0.len())]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    pub fn push(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.0.push(FieldError::new(field, reason));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Records the error of a field parse and returns its value, if any.
    pub fn take<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(reason) => {
                self.push(field, reason);
                None
            }
        }
    }

    /// Moves all errors of `other` in, nested under `prefix`.
    pub fn extend_under(&mut self, prefix: &str, other: FieldErrors) {
        self.0.extend(other.0.into_iter().map(|e| e.under(prefix)));
    }

    /// `Ok(value)` when no error was recorded.
    pub fn finish<T>(self, value: impl FnOnce() -> Option<T>) -> Result<T, FieldErrors> {
        if !self.0.is_empty() {
            return Err(self);
        }
        value().ok_or(self)
    }
}

impl From<FieldError> for FieldErrors {
    fn from(e: FieldError) -> Self {
        Self(vec![e])
    }
}
