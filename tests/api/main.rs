//! HTTP-level tests against a real running server, on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;
mod model;
mod stream;

mod access;
mod dashboard;
mod decisions;
mod events;
mod faults;
mod hardening;
mod idempotency;
mod initiatives;
mod multi_instance;
mod openapi;
mod paging;
mod readme;
mod recount;
mod reports;
mod routing;
mod segments;
mod webhooks;
