//! The aggregates kept per initiative, as the analysis reads them.

use chrono::NaiveDate;

use super::{SegmentKey, Sentiment, VariantKey};

/// One aggregate cell: customers of one segment and variant with one latest sentiment
/// (`None`: no response) and one pre-order state.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub segment: SegmentKey,
    pub variant: VariantKey,
    pub sentiment: Option<Sentiment>,
    pub preordered: bool,
    /// Distinct customers in the cell.
    pub customers: u64,
    /// Of those, customers who cancelled at least once.
    pub cancelled: u64,
    /// Sum of their active committed amounts.
    pub revenue_cents: i64,
    /// Sum of the squares of their active committed amounts (for a variance).
    pub revenue_sq_cents: f64,
    /// Of the customers, those who ever put money down (a deposit or a pre-order).
    pub money_down: u64,
    /// Of the customers, those who paid in full (a `payment`).
    pub paid: u64,
}

/// Net daily change: customers first exposed that day, and the net change in customers
/// holding an active pre-order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyCount {
    pub day: NaiveDate,
    pub exposures: i64,
    pub preorders: i64,
}
