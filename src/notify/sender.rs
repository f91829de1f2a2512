//! The delivery sender: a background task that claims due deliveries from the outbox and
//! posts them, signed, with timeouts, without redirects, to allowed addresses only.
//!
//! At-least-once: a delivery leaves `pending` only when an attempt is recorded; a sender
//! killed mid-attempt leaves a lease that runs out, and the delivery is sent again with
//! the same `webhook-id` (receivers deduplicate on it). Retries back off exponentially
//! with jitter for the retry window, then the delivery is `failed`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use super::{guard, sign, slack};
use crate::domain::webhook::Format;
use crate::settings::WebhookSettings;
use crate::store::outbox::{self, Attempt, Claimed, Next};
use crate::store::{Store, StoreError};

/// The sender's settings.
#[derive(Debug, Clone)]
pub struct SenderOptions {
    pub allow_private_networks: bool,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    pub retry_window: chrono::Duration,
    pub poll_interval: Duration,
    pub lease: Duration,
    pub batch: i64,
}

impl SenderOptions {
    pub fn from_settings(s: &WebhookSettings) -> Self {
        let minutes = i64::try_from(s.retry_window_minutes).unwrap_or(i64::MAX / 120_000);
        Self {
            allow_private_networks: s.allow_private_networks,
            connect_timeout: Duration::from_millis(s.connect_timeout_ms),
            timeout: Duration::from_millis(s.timeout_ms),
            base_backoff: Duration::from_millis(s.base_backoff_ms),
            max_backoff: Duration::from_millis(s.max_backoff_ms),
            retry_window: chrono::Duration::minutes(minutes),
            poll_interval: Duration::from_millis(s.poll_interval_ms),
            lease: Duration::from_millis(s.lease_ms),
            batch: i64::from(s.batch),
        }
    }

    /// The delay before retry number `attempts + 1`: base × 2^attempts, at most the
    /// maximum, then a uniformly random share of it between one half and all of it.
    pub fn backoff(&self, attempts: i32) -> Duration {
        let exp = u32::try_from(attempts.clamp(0, 30)).unwrap_or(30);
        let full = self
            .base_backoff
            .saturating_mul(2u32.saturating_pow(exp))
            .min(self.max_backoff);
        let share: f64 = rand::RngExt::random_range(&mut rand::rng(), 0.5..=1.0);
        full.mul_f64(share)
    }
}

/// The HTTP client of the sender: rustls (ring), no proxy, no redirects, timeouts, and a
/// resolver that drops refused addresses.
pub fn client(options: &SenderOptions) -> Result<reqwest::Client, String> {
    // Several calls (tests start many servers) find it installed already: fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(options.connect_timeout)
        .timeout(options.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(Arc::new(guard::GuardedResolver {
            allow_private: options.allow_private_networks,
        }))
        .user_agent(concat!("offerlab-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the webhook HTTP client: {e}"))
}

/// A running sender: wake it after writing deliveries, stop it on shutdown.
pub struct Sender {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// Wakes the sender (cheap to clone; a no-op when no sender runs).
#[derive(Debug, Clone, Default)]
pub struct Wake {
    notify: Option<Arc<Notify>>,
    /// Set by the ingest hook when a group wrote deliveries (before its commit).
    enqueued: Arc<AtomicBool>,
}

impl Wake {
    /// After a commit that wrote deliveries.
    pub fn now(&self) {
        if let Some(n) = &self.notify {
            n.notify_one();
        }
    }

    /// After an ingest request was answered: wakes the sender if a group wrote
    /// deliveries. The flag is set inside the group's transaction and read after the
    /// request's group committed, so the sender looks after the commit.
    pub fn after_ingest(&self) {
        if self.enqueued.swap(false, Ordering::AcqRel) {
            self.now();
        }
    }

    /// The flag the ingest hook sets.
    pub fn enqueued_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.enqueued)
    }
}

impl Sender {
    /// Starts the sender on the current tokio runtime.
    pub fn start(store: Store, options: SenderOptions, wake: Arc<Notify>) -> Result<Self, String> {
        let client = client(&options)?;
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(store, client, options, wake, stopped));
        Ok(Self { stop, task })
    }

    /// Stops claiming, lets the attempts in flight finish (each at most the timeout) and
    /// returns.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// A handle that wakes a sender started later (the service is built before its runtime
/// runs).
pub fn wake_handle(notify: &Arc<Notify>) -> Wake {
    Wake {
        notify: Some(Arc::clone(notify)),
        enqueued: Arc::default(),
    }
}

fn lease_token() -> String {
    let mut bytes = [0u8; 16];
    rand::RngExt::fill(&mut rand::rng(), &mut bytes[..]);
    hex::encode(bytes)
}

async fn blocking<T: Send + 'static>(
    store: &Store,
    f: impl FnOnce(&mut crate::store::DbConn) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = store.conn()?;
        f(&mut conn)
    })
    .await
    .map_err(|e| StoreError::Connection(format!("sender task failed: {e}")))?
}

async fn run(
    store: Store,
    client: reqwest::Client,
    options: SenderOptions,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let options = Arc::new(options);
    loop {
        if *stop.borrow() {
            break;
        }
        let token = lease_token();
        let now = Utc::now();
        let until = now
            + chrono::Duration::from_std(options.lease).unwrap_or(chrono::Duration::seconds(60));
        let claim_token = token.clone();
        let batch = options.batch;
        let claimed = blocking(&store, move |c| {
            outbox::claim(c, &claim_token, now, until, batch)
        })
        .await;
        let claimed = match claimed {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "webhook sender cannot claim deliveries");
                Vec::new()
            }
        };
        if claimed.is_empty() {
            tokio::select! {
                _ = stop.changed() => {}
                _ = wake.notified() => {}
                _ = tokio::time::sleep(options.poll_interval) => {}
            }
            continue;
        }
        let mut set = JoinSet::new();
        for c in claimed {
            set.spawn(deliver(
                store.clone(),
                client.clone(),
                Arc::clone(&options),
                token.clone(),
                c,
            ));
        }
        while set.join_next().await.is_some() {}
    }
}

/// The body as posted: the standard payload, or the Slack message made from it.
fn body_for(c: &Claimed) -> String {
    match c.format {
        Format::Standard => c.body.clone(),
        Format::Slack => slack::render(&c.body),
    }
}

async fn post(
    client: &reqwest::Client,
    options: &SenderOptions,
    c: &Claimed,
    at: DateTime<Utc>,
) -> Result<u16, (Option<u16>, String)> {
    guard::check_url(c.url.as_url(), options.allow_private_networks).map_err(|e| (None, e))?;
    let key = c.secret.key().map_err(|e| (None, e))?;
    let body = body_for(c);
    let timestamp = at.timestamp();
    let signature = sign::signature(&key, &c.message_id, timestamp, &body);
    let response = client
        .post(c.url.as_url().clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("webhook-id", c.message_id.as_str())
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await
        .map_err(|e| (None, describe(&e)))?;
    let status = response.status();
    // Read (and drop) the answer so the connection can be reused.
    let _ = response.bytes().await;
    if status.is_success() {
        Ok(status.as_u16())
    } else if status.is_redirection() {
        Err((
            Some(status.as_u16()),
            format!("HTTP {status}: redirects are not followed"),
        ))
    } else {
        Err((Some(status.as_u16()), format!("HTTP {status}")))
    }
}

fn describe(e: &reqwest::Error) -> String {
    use std::error::Error;
    let mut text = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

async fn deliver(
    store: Store,
    client: reqwest::Client,
    options: Arc<SenderOptions>,
    token: String,
    c: Claimed,
) {
    let started_at = Utc::now();
    let clock = Instant::now();
    let result = post(&client, &options, &c, started_at).await;
    let latency_ms = i64::try_from(clock.elapsed().as_millis()).unwrap_or(i64::MAX);
    let (status_code, error) = match result {
        Ok(code) => (Some(code), None),
        Err((code, e)) => (code, Some(e)),
    };
    let next = if error.is_none() {
        Next::Delivered
    } else if started_at - c.created_at >= options.retry_window {
        Next::Failed
    } else {
        let delay = chrono::Duration::from_std(options.backoff(c.attempts))
            .unwrap_or(chrono::Duration::hours(1));
        Next::RetryAt(Utc::now() + delay)
    };
    if let Some(e) = &error {
        tracing::warn!(delivery = c.id, webhook = c.webhook_id, attempt = c.attempts + 1, error = %e, "webhook delivery attempt failed");
    }
    let attempt = Attempt {
        started_at,
        status_code,
        latency_ms,
        error,
    };
    let id = c.id;
    // A busy or briefly unreachable database: try a few times before leaving the
    // delivery to its lease (which would send it again).
    let mut tries = 0;
    let recorded = loop {
        let (token, attempt) = (token.clone(), attempt.clone());
        let result = blocking(&store, move |conn| {
            outbox::record(conn, id, &token, &attempt, next)
        })
        .await;
        tries += 1;
        match result {
            Err(e) if tries < 5 && e.fault().is_some() => {
                tokio::time::sleep(Duration::from_millis(100 * tries)).await;
            }
            other => break other,
        }
    };
    match recorded {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(
                delivery = id,
                "webhook delivery lease ran out before the attempt was recorded"
            )
        }
        Err(e) => {
            tracing::warn!(delivery = id, error = %e, "webhook attempt not recorded; it will be retried when the lease runs out")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_maximum() {
        let s = WebhookSettings {
            sender: true,
            allow_private_networks: false,
            public_base_url: String::new(),
            connect_timeout_ms: 1000,
            timeout_ms: 1000,
            base_backoff_ms: 100,
            max_backoff_ms: 1000,
            retry_window_minutes: 1440,
            poll_interval_ms: 100,
            lease_ms: 2000,
            batch: 1,
        };
        let o = SenderOptions::from_settings(&s);
        for (attempts, full) in [
            (0, 100),
            (1, 200),
            (2, 400),
            (3, 800),
            (4, 1000),
            (40, 1000),
        ] {
            for _ in 0..50 {
                let d = o.backoff(attempts).as_millis();
                assert!(d >= full / 2 && d <= full, "attempt {attempts}: {d} ms");
            }
        }
        assert_eq!(o.retry_window, chrono::Duration::hours(24));
    }
}
