//! Building and running the HTTP service.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use tracing_actix_web::TracingLogger;

use crate::api::{self, AppState};
use crate::notify::sender::{self, Sender, SenderOptions};
use crate::settings::Settings;
use crate::store::Store;
use crate::store::ingest::{IngestQueue, QueueOptions};

/// The configured cookie secret, or 32 random bytes for this process.
fn session_secret(configured: &crate::settings::Secret) -> Vec<u8> {
    if configured.is_empty() {
        let mut bytes = vec![0u8; 32];
        rand::RngExt::fill(&mut rand::rng(), bytes.as_mut_slice());
        bytes
    } else {
        configured.expose().to_vec()
    }
}

/// A bound, ready-to-run service.
pub struct Application {
    port: u16,
    server: Server,
    store: Store,
    /// The webhook sender's settings, when this instance runs one.
    sender: Option<SenderOptions>,
    wake: Arc<tokio::sync::Notify>,
}

impl Application {
    /// Opens the database (running migrations), starts the ingest writer and binds the
    /// listener. `server.bind` may use port 0 to pick a free port.
    pub fn build(settings: Settings) -> anyhow::Result<Self> {
        let store = Store::open(settings.store_options()?)?;
        Self::build_with_store(settings, store)
    }

    pub fn build_with_store(settings: Settings, store: Store) -> anyhow::Result<Self> {
        let wake = Arc::new(tokio::sync::Notify::new());
        let waker = sender::wake_handle(&wake);
        let watch: Arc<dyn crate::store::ingest::GroupHook> =
            Arc::new(crate::notify::watch::IngestWatch::new(
                settings.webhooks.public_base_url.clone(),
                waker.enqueued_flag(),
            ));
        let queue = IngestQueue::start_with_hook(
            &store,
            QueueOptions {
                capacity: settings.ingest.queue_capacity,
                max_group_events: settings.ingest.max_events_per_transaction,
                max_wait: store.acquire_timeout(),
                writers: settings.ingest.writers,
                copy_from_rows: settings.ingest.copy_from_rows,
            },
            Some(watch),
        )?;
        let sender = settings
            .webhooks
            .sender
            .then(|| SenderOptions::from_settings(&settings.webhooks));
        let listener = TcpListener::bind(&settings.server.bind)
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.server.bind))?;
        let port = listener.local_addr()?.port();
        let body_limit = settings.limits.max_body_bytes;
        let workers = settings.server.workers;
        // Unknown emails are verified against a dummy hash: make it before serving.
        crate::store::users::prepare_dummy_hash();
        let state = web::Data::new(AppState {
            store: store.clone(),
            access: Default::default(),
            http: Default::default(),
            session_secret: session_secret(&settings.dashboard.cookie_secret),
            rate: api::auth::RateLimiter::new(
                settings.limits.requests_per_second_per_key,
                settings.limits.burst_per_key,
            ),
            sign_in: api::throttle::SignInThrottle::new(
                settings.dashboard.sign_in_failures_per_account,
                settings.dashboard.sign_in_failures_per_address,
                std::time::Duration::from_secs(
                    u64::from(settings.dashboard.sign_in_window_minutes) * 60,
                ),
            ),
            queue,
            webhooks: waker,
            settings: Arc::new(settings),
            intake: Default::default(),
        });
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(api::context::request_id))
                .wrap(api::context::security_headers())
                .wrap(TracingLogger::<crate::telemetry::RedactedRootSpan>::new())
                .app_data(state.clone())
                .app_data(api::extract::BodyLimit(body_limit))
                .app_data(web::PayloadConfig::new(body_limit))
                .app_data(web::QueryConfig::default().error_handler(api::query_error))
                .app_data(web::PathConfig::default().error_handler(api::path_error))
                .configure(api::configure)
                .configure(crate::web::configure)
                .default_service(web::to(api::not_found))
        })
        .listen(listener)?;
        if workers > 0 {
            server = server.workers(workers);
        }
        Ok(Self {
            port,
            server: server.run(),
            store,
            sender,
            wake,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Serves until the process is asked to stop (SIGINT / SIGTERM: graceful shutdown),
    /// with the webhook sender beside it; the sender finishes its attempts in flight
    /// before this returns.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let sender = match self.sender {
            Some(options) => match Sender::start(self.store.clone(), options, self.wake) {
                Ok(s) => Some(s),
                Err(e) => return Err(std::io::Error::other(e)),
            },
            None => None,
        };
        let served = self.server.await;
        if let Some(sender) = sender {
            sender.stop().await;
        }
        served
    }
}
