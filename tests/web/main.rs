//! Leadership pages: HTML-level tests against the running service, and browser tests in
//! headless Chromium (skipped with a loud SKIPPED when Chromium is not installed, failed
//! instead under CI).
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

mod browser;
mod pages;
