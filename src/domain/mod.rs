//! Validated domain types and lifecycle rules. Pure: no I/O.
//!
//! Constructors reject bad values (parse, don't validate), so code below the API
//! boundary never re-checks a key, a rate or an amount.

pub mod access;
pub mod aggregate;
pub mod audit;
pub mod customer;
pub mod decision;
pub mod error;
pub mod event;
pub mod initiative;
pub mod keys;
pub mod money;
pub mod provider;
pub mod rate;
pub mod survey;
pub mod user;
pub mod webhook;

pub use customer::{CustomerState, Transition};
pub use error::{FieldError, FieldErrors};
pub use event::{Event, EventBody, EventKind, PreorderKind, Sentiment};
pub use initiative::{
    Criteria, Decision, Initiative, InitiativeDraft, InitiativePatch, Kind, Mode, PreorderFloors,
    Status, Variant, Variants,
};
pub use keys::{CustomerId, EventId, InitiativeKey, SegmentKey, TeamKey, VariantKey};
pub use money::{Cents, Currency};
pub use rate::{Confidence, OpenRate};
