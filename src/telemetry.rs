//! Logging with `tracing`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::settings::{LogFormat, LogSettings};

/// Installs the global subscriber. `RUST_LOG` wins over the configured filter.
///
/// Logs go to stderr in every format, so stdout carries only what a command prints for
/// its user (the banner, a one-time key, a report); colours only when stderr is a
/// terminal, so a log file or collector never gets escape codes.
pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    // A second init (tests) is harmless: keep the first subscriber.
    let _ = match settings.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// The root span of every request, as `tracing-actix-web`'s default but with the request
/// target redacted: secrets that travel in a URL (an invite token in
/// `/invite/{token}`, a one-time sign-in `code=`) never reach the logs.
pub struct RedactedRootSpan;

/// The path and query of a request as logged: the route pattern for routes whose path
/// carries a secret, and `code` query values replaced.
pub fn redacted_target(pattern: Option<&str>, path: &str, query: &str) -> String {
    const SECRET_IN_PATH: &[&str] = &["/invite/{token}"];
    let path = match pattern {
        Some(p) if SECRET_IN_PATH.contains(&p) => p,
        _ => path,
    };
    if query.is_empty() {
        return path.to_owned();
    }
    let query: Vec<&str> = query
        .split('&')
        .map(|pair| {
            if pair.split('=').next() == Some("code") {
                "code=[redacted]"
            } else {
                pair
            }
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

impl tracing_actix_web::RootSpanBuilder for RedactedRootSpan {
    fn on_request_start(request: &actix_web::dev::ServiceRequest) -> tracing::Span {
        use actix_web::HttpMessage;
        let route = request.match_pattern();
        let target = redacted_target(route.as_deref(), request.path(), request.query_string());
        let request_id = request
            .extensions()
            .get::<tracing_actix_web::RequestId>()
            .map(|id| id.to_string())
            .unwrap_or_default();
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %route.as_deref().unwrap_or("default"),
            http.target = %target,
            http.client_ip = %request.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default(),
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            request_id = %request_id,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: actix_web::body::MessageBody>(
        span: tracing::Span,
        outcome: &Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>,
    ) {
        tracing_actix_web::DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::redacted_target;

    #[test]
    fn secrets_in_urls_are_redacted() {
        assert_eq!(
            redacted_target(Some("/invite/{token}"), "/invite/abc123", ""),
            "/invite/{token}"
        );
        assert_eq!(
            redacted_target(Some("/sign-in"), "/sign-in", "next=%2F&code=abc"),
            "/sign-in?next=%2F&code=[redacted]"
        );
        assert_eq!(
            redacted_target(Some("/"), "/", "status=running"),
            "/?status=running"
        );
    }
}
