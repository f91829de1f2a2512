//! offerlab: pilot new value initiatives and test whether customers really want them.
//!
//! Layers (each uses only those listed after it):
//! - `api`: thin actix handlers, the single authorization point, errors as problem+json;
//! - `web`: leadership pages;
//! - `intake`: provider webhooks (Stripe, Typeform, signed forms) verified and turned into
//!   events, or kept in the inbox;
//! - `store`: diesel over SQLite or PostgreSQL, the only code that knows SQL;
//! - `analysis`: reports and verdicts from aggregates;
//! - `domain`: validated types and lifecycle rules (pure);
//! - `stats`: pure maths.

pub mod analysis;
pub mod api;
pub mod app;
pub mod demo;
pub mod domain;
pub mod intake;
pub mod notify;
pub mod secret;
pub mod settings;
pub mod stats;
pub mod store;
pub mod telemetry;
pub mod web;

#[doc(hidden)]
pub use pastey as __pastey;
