//! HTTP-level tests against a real running server, on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Test code: an out-of-range index, a panic or a lossy cast fails the test, which is
// what test code is for (the crate's lints keep them out of the service's code).
#![allow(
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::cast_lossless
)]

mod helpers;
mod model;
mod stream;
mod template;

mod access;
mod audit;
mod csv_events;
mod dashboard;
mod decisions;
mod deposits;
mod events;
mod faults;
mod hardening;
mod hooks;
mod idempotency;
mod initiatives;
mod multi_instance;
mod openapi;
mod paging;
mod people;
mod readme;
mod recount;
mod replica;
mod reports;
mod routing;
mod segments;
mod stored;
mod webhooks;
