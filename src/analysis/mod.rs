//! Reports and verdicts from an initiative's aggregates, with the statistics engine.
//! Never scans raw events, never touches HTTP.

pub mod figures;
pub mod report;
pub mod tally;
pub mod verdict;
pub mod words;

pub use report::{Report, build};
pub use verdict::{Verdict, VerdictStatus};
pub mod plan;
pub mod portfolio;
pub mod text;
