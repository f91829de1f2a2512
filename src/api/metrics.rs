//! `/metrics`: Prometheus text format. Served to loopback clients only, unless
//! `metrics.public = true`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::AppState;
use super::error::ApiError;

/// HTTP responses by status class.
#[derive(Debug, Default)]
pub struct HttpStats {
    classes: [AtomicU64; 5],
}

impl HttpStats {
    pub fn record(&self, status: u16) {
        let class = usize::from(status / 100).saturating_sub(1).min(4);
        if let Some(counter) = self.classes.get(class) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Whether a client at `peer` may read the metrics.
pub fn allowed(peer: Option<std::net::SocketAddr>, public: bool) -> bool {
    public || peer.is_some_and(|p| p.ip().is_loopback())
}

/// The service's counters in Prometheus text format.
///
/// HTTP answers by status class, ingestion and database figures. Served to loopback clients
/// only (a 404 to others), unless `metrics.public = true`.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "health",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain; version=0.0.4"))
)]
pub async fn metrics(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    if !allowed(req.peer_addr(), state.settings.metrics.public) {
        return Err(ApiError::NotFound(format!(
            "{} {}",
            req.method(),
            req.path()
        )));
    }
    let mut out = String::new();
    let mut counter = |name: &str, help: &str, samples: &[(&str, u64)]| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} counter");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    let http = &state.http;
    let classes: Vec<(String, u64)> = ["1xx", "2xx", "3xx", "4xx", "5xx"]
        .iter()
        .zip(&http.classes)
        .map(|(c, v)| (format!("{{class=\"{c}\"}}"), v.load(Ordering::Relaxed)))
        .collect();
    let classes: Vec<(&str, u64)> = classes.iter().map(|(l, v)| (l.as_str(), *v)).collect();
    counter(
        "offerlab_http_responses_total",
        "HTTP responses by status class.",
        &classes,
    );
    let ingest = state.queue.stats();
    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
    counter(
        "offerlab_ingest_events_accepted_total",
        "Events stored.",
        &[("", load(&ingest.events_accepted))],
    );
    counter(
        "offerlab_ingest_events_duplicate_total",
        "Events not stored again: their event_id was stored before.",
        &[("", load(&ingest.events_duplicate))],
    );
    counter(
        "offerlab_ingest_requests_refused_total",
        "Event requests refused (invalid, unknown initiative, not running, storage failure).",
        &[("", load(&ingest.requests_refused))],
    );
    counter(
        "offerlab_ingest_transactions_total",
        "Ingest transactions committed (group commit: each holds one or more requests).",
        &[("", load(&ingest.transactions))],
    );
    counter(
        "offerlab_ingest_race_retries_total",
        "Group transactions run again (PostgreSQL): after losing a race with another writer or instance, or after meeting a reused event id of a new customer.",
        &[("", load(&ingest.race_retries))],
    );
    let intake = &state.intake;
    for (name, help, counters) in [
        (
            "offerlab_hook_events_stored_total",
            "Provider webhook deliveries stored as events, by provider.",
            &intake.stored,
        ),
        (
            "offerlab_hook_events_ignored_total",
            "Provider webhook deliveries of a type offerlab does not read, by provider.",
            &intake.ignored,
        ),
        (
            "offerlab_hook_events_inboxed_total",
            "Signed provider deliveries kept in the inbox (could not be placed), by provider.",
            &intake.inboxed,
        ),
        (
            "offerlab_hook_signatures_refused_total",
            "Provider deliveries refused for a missing, stale or wrong signature, by provider.",
            &intake.bad_signature,
        ),
    ] {
        let samples: Vec<(String, u64)> = crate::intake::Provider::ALL
            .iter()
            .zip(counters)
            .map(|(p, v)| (format!("{{provider=\"{}\"}}", p.as_str()), load(v)))
            .collect();
        let samples: Vec<(&str, u64)> = samples.iter().map(|(l, v)| (l.as_str(), *v)).collect();
        counter(name, help, &samples);
    }
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        ))
        .body(out))
}

#[cfg(test)]
mod tests {
    use super::allowed;

    #[test]
    fn loopback_only_unless_public() {
        let local = "127.0.0.1:5000".parse().ok();
        let remote = "10.1.2.3:5000".parse().ok();
        assert!(allowed(local, false));
        assert!(!allowed(remote, false));
        assert!(!allowed(None, false));
        assert!(allowed(remote, true));
    }
}
