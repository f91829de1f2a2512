//! Reading the aggregates kept by ingestion. Cost depends on the number of cells
//! (segments x variants x sentiments x 2), never on the number of customers.

use chrono::NaiveDate;
use diesel::prelude::*;

use super::schema::{aggregate_cells, daily_counts};
use super::{DbConn, StoreError};
pub use crate::domain::aggregate::{Cell, DailyCount};
use crate::domain::{SegmentKey, Sentiment, VariantKey};

/// All non-empty cells of an initiative.
pub fn cells(conn: &mut DbConn, initiative_id: i64) -> Result<Vec<Cell>, StoreError> {
    type Row = (
        String,
        String,
        Option<Sentiment>,
        bool,
        i64,
        i64,
        i64,
        f64,
        i64,
        i64,
    );
    let rows: Vec<Row> = aggregate_cells::table
        .select((
            aggregate_cells::segment,
            aggregate_cells::variant,
            aggregate_cells::sentiment,
            aggregate_cells::preordered,
            aggregate_cells::customers,
            aggregate_cells::cancelled,
            aggregate_cells::revenue_cents,
            aggregate_cells::revenue_sq_cents,
            aggregate_cells::money_down,
            aggregate_cells::paid,
        ))
        .filter(aggregate_cells::initiative_id.eq(initiative_id))
        .filter(aggregate_cells::customers.gt(0))
        .order((
            aggregate_cells::segment,
            aggregate_cells::variant,
            aggregate_cells::sentiment,
            aggregate_cells::preordered,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(
            |(
                segment,
                variant,
                sentiment,
                preordered,
                customers,
                cancelled,
                rev,
                sq,
                down,
                paid,
            )| {
                Ok(Cell {
                    segment: SegmentKey::from_trusted(segment),
                    variant: VariantKey::from_trusted(variant),
                    sentiment,
                    preordered,
                    customers: u64::try_from(customers)
                        .map_err(|_| StoreError::Corrupt("negative customer count".into()))?,
                    cancelled: u64::try_from(cancelled)
                        .map_err(|_| StoreError::Corrupt("negative cancelled count".into()))?,
                    revenue_cents: rev,
                    revenue_sq_cents: sq,
                    money_down: u64::try_from(down)
                        .map_err(|_| StoreError::Corrupt("negative money-down count".into()))?,
                    paid: u64::try_from(paid)
                        .map_err(|_| StoreError::Corrupt("negative paid count".into()))?,
                })
            },
        )
        .collect()
}

/// The daily series of an initiative, oldest first.
pub fn daily(conn: &mut DbConn, initiative_id: i64) -> Result<Vec<DailyCount>, StoreError> {
    let rows: Vec<(String, i64, i64)> = daily_counts::table
        .select((
            daily_counts::day,
            daily_counts::exposures,
            daily_counts::preorders,
        ))
        .filter(daily_counts::initiative_id.eq(initiative_id))
        .order(daily_counts::day)
        .load(conn)?;
    rows.into_iter()
        .map(|(day, exposures, preorders)| {
            Ok(DailyCount {
                day: NaiveDate::parse_from_str(&day, "%Y-%m-%d")
                    .map_err(|e| StoreError::Corrupt(format!("day '{day}': {e}")))?,
                exposures,
                preorders,
            })
        })
        .collect()
}

/// An initiative with everything its report reads.
pub type ReportData = (crate::domain::Initiative, Vec<Cell>, Vec<DailyCount>);

/// An initiative with everything its report reads: cells and the daily series.
pub fn for_report(
    conn: &mut DbConn,
    key: &crate::domain::InitiativeKey,
) -> Result<ReportData, StoreError> {
    let initiative = super::initiatives::get(conn, key)?;
    let cells = cells(conn, initiative.id)?;
    let daily = daily(conn, initiative.id)?;
    Ok((initiative, cells, daily))
}

/// Every initiative with its cells and daily series (the portfolio).
pub fn all_for_report(conn: &mut DbConn) -> Result<Vec<ReportData>, StoreError> {
    let initiatives = super::initiatives::list(conn, &Default::default())?;
    let mut out = Vec::with_capacity(initiatives.len());
    for initiative in initiatives {
        let cells = cells(conn, initiative.id)?;
        let daily = daily(conn, initiative.id)?;
        out.push((initiative, cells, daily));
    }
    Ok(out)
}
