//! Outbound notifications: webhooks and Slack.
//!
//! - [`watch`]: decides what to announce, in the transaction of the change (ingest's
//!   group transaction for `verdict.changed`, `srm.detected`, `plan.reached`; the
//!   handlers' transactions for launches, conclusions and decisions) and writes it to the
//!   outbox (`store::outbox`).
//! - [`sender`]: the background task that claims due deliveries and posts them, signed
//!   ([`sign`]), as JSON or as a Slack message ([`slack`]), through a client that refuses
//!   private addresses ([`guard`]).
//!
//! Sits beside `api`: it reads `analysis` and `store`, and nothing below depends on it.

pub mod guard;
pub mod sender;
pub mod sign;
pub mod slack;
pub mod watch;
