//! The `offerlab` command line.

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use offerlab::app::Application;
use offerlab::settings::Settings;
use offerlab::store::{self, Store};

#[derive(Parser)]
#[command(
    name = "offerlab",
    version,
    about = "Pilot new offers and test whether customers really want them"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct DatabaseArg {
    /// Database: a postgres:// URL, sqlite://PATH, or a SQLite file path
    /// (overrides database.url).
    #[arg(long, value_name = "URL", global = true)]
    database: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service (runs migrations first).
    Serve {
        #[command(flatten)]
        db: DatabaseArg,
        /// Address to listen on, e.g. 127.0.0.1:8080 (overrides server.bind).
        #[arg(long, value_name = "ADDR:PORT")]
        bind: Option<String>,
        /// Load the demo pilots first when the database has no initiatives.
        #[arg(long)]
        demo: bool,
    },
    /// Run pending database migrations and exit.
    Migrate {
        #[command(flatten)]
        db: DatabaseArg,
    },
    /// Print an initiative's demand report, read from the database.
    Report {
        #[command(flatten)]
        db: DatabaseArg,
        /// Initiative key.
        key: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
        format: ReportFormat,
    },
    /// Print an initiative's decision log, newest first, read from the database.
    Decisions {
        #[command(flatten)]
        db: DatabaseArg,
        /// Initiative key.
        key: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
        format: ReportFormat,
    },
    /// Manage API keys.
    Keys {
        #[command(flatten)]
        db: DatabaseArg,
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Fill the database with demo pilots (segments and initiatives that exist are kept).
    /// Outbound webhooks and Slack notifications: subscribe, list, remove, see deliveries, replay.
    Webhooks {
        #[command(flatten)]
        db: DatabaseArg,
        #[command(subcommand)]
        action: WebhooksAction,
    },
    Demo {
        #[command(flatten)]
        db: DatabaseArg,
        /// Seed of the simulated customers.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
}

#[derive(Subcommand)]
enum KeysAction {
    /// Create a key; the key is printed alone on the last line, once.
    Create {
        /// admin, writer or viewer.
        #[arg(long)]
        role: String,
        /// The team a writer key writes for.
        #[arg(long)]
        team: Option<String>,
        /// What the key is for.
        #[arg(long)]
        label: String,
    },
    /// List keys (never the keys themselves).
    List,
    /// Revoke a key by id.
    Revoke { id: i64 },
}

#[derive(Subcommand)]
enum WebhooksAction {
    /// Subscribe an endpoint; prints its signing secret once.
    Add {
        /// The endpoint (a Slack incoming webhook URL with --format slack).
        url: String,
        /// Event types, comma-separated (verdict.changed, srm.detected, plan.reached,
        /// decision.recorded, initiative.launched, initiative.concluded).
        #[arg(long, value_delimiter = ',', required = true)]
        events: Vec<String>,
        /// Only this initiative's events.
        #[arg(long)]
        initiative: Option<String>,
        /// Only events of initiatives this team owns.
        #[arg(long)]
        team: Option<String>,
        /// standard (Standard Webhooks JSON) or slack.
        #[arg(long, default_value = "standard")]
        format: String,
    },
    /// List subscriptions (never their secrets).
    List,
    /// Remove a subscription and its deliveries.
    Remove { id: i64 },
    /// A subscription's deliveries, newest first, with their attempts.
    Deliveries {
        id: i64,
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
    /// Send a delivery again (same webhook-id).
    Replay { id: i64, delivery: i64 },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ReportFormat {
    Table,
    Json,
}

fn settings_with(db: &DatabaseArg) -> anyhow::Result<Settings> {
    let mut settings = Settings::load()?;
    if let Some(url) = &db.database {
        settings.database.url = url.clone();
    }
    Ok(settings)
}

fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    Store::open(settings.store_options()?).with_context(|| {
        format!(
            "cannot open the database {}",
            redact(&settings.database.url)
        )
    })
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            let user = creds.split(':').next().unwrap_or_default();
            format!("{}://{user}:***@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

fn describe(errors: &offerlab::domain::FieldErrors) -> String {
    errors
        .0
        .iter()
        .map(|e| format!("--{} {}", e.field, e.reason))
        .collect::<Vec<_>>()
        .join("; ")
}

/// On first start (no key at all), creates an admin key and prints it once.
fn first_start_key(store: &Store) -> anyhow::Result<()> {
    let mut conn = store.conn()?;
    if store::keys::any(&mut conn)? {
        return Ok(());
    }
    let created = store::keys::create(
        &mut conn,
        "first admin key",
        offerlab::domain::access::Role::Admin,
        None,
        chrono::Utc::now(),
    )?;
    println!("No API key existed: created an admin key. It is shown this once; store it now:");
    println!("  {}", created.secret);
    println!("  (more keys: offerlab keys create --role writer --team TEAM --label \"...\")");
    Ok(())
}

/// A viewer key for the demo and a one-time sign-in link code for it.
fn demo_sign_in_code(store: &Store) -> anyhow::Result<String> {
    let mut conn = store.conn()?;
    let now = chrono::Utc::now();
    let key = store::keys::create(
        &mut conn,
        "demo viewer",
        offerlab::domain::access::Role::Viewer,
        None,
        now,
    )?;
    Ok(store::sessions::create(
        &mut conn,
        key.key.id,
        store::sessions::Kind::Link,
        chrono::Duration::hours(24),
        now,
    )?)
}

fn load_demo(store: &Store, seed: u64) -> anyhow::Result<offerlab::demo::DemoSummary> {
    let mut conn = store.conn()?;
    Ok(offerlab::demo::load(&mut conn, seed, chrono::Utc::now())?)
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { db, bind, demo } => {
            let mut settings = settings_with(&db)?;
            if let Some(bind) = bind {
                settings.server.bind = bind;
            }
            offerlab::telemetry::init(&settings.log);
            let store = open_store(&settings)?;
            // Before the demo, whose viewer key would otherwise count as "a key exists".
            first_start_key(&store)?;
            let mut demo_link = None;
            if demo {
                let mut conn = store.conn()?;
                if !store::initiatives::any(&mut conn)? {
                    drop(conn);
                    let summary = load_demo(&store, 42)?;
                    tracing::info!(
                        initiatives = summary.initiatives,
                        events = summary.events,
                        "loaded demo pilots"
                    );
                    demo_link = Some(demo_sign_in_code(&store)?);
                }
            }
            let url = redact(&settings.database.url);
            let backend = store.backend().name();
            let host = settings
                .server
                .bind
                .rsplit_once(':')
                .map(|(h, _)| h.to_owned())
                .unwrap_or_else(|| "127.0.0.1".into());
            let app = Application::build_with_store(settings, store)?;
            println!(
                "offerlab is listening on http://{host}:{} ({backend}: {url})",
                app.port()
            );
            println!("  Leadership pages: http://{host}:{}/", app.port());
            if let Some(code) = demo_link {
                println!(
                    "  Demo sign-in (viewer, works once, for 24 hours): http://{host}:{}/sign-in?code={code}",
                    app.port()
                );
            }
            println!(
                "  API:              http://{host}:{}/api/v1/initiatives",
                app.port()
            );
            println!(
                "  OpenAPI:          http://{host}:{}/api/v1/openapi.json",
                app.port()
            );
            actix_web::rt::System::new().block_on(app.run_until_stopped())?;
        }
        Command::Migrate { db } => {
            let settings = settings_with(&db)?;
            let options = settings.store_options()?;
            let store = Store::open(options)?;
            println!(
                "migrations applied ({}: {})",
                store.backend().name(),
                redact(&settings.database.url)
            );
        }
        Command::Report { db, key, format } => {
            let settings = settings_with(&db)?;
            let store = open_store(&settings)?;
            let key = offerlab::domain::InitiativeKey::parse(key.as_str())
                .map_err(|e| anyhow::anyhow!("initiative key '{key}' {e}"))?;
            let mut conn = store.conn()?;
            let (initiative, cells, daily) = store::aggregates::for_report(&mut conn, &key)?;
            let report = offerlab::analysis::build(&initiative, &cells, &daily, chrono::Utc::now());
            match format {
                ReportFormat::Table => print!("{}", offerlab::analysis::text::render(&report)),
                ReportFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
            }
        }
        Command::Decisions { db, key, format } => {
            let settings = settings_with(&db)?;
            let store = open_store(&settings)?;
            let key = offerlab::domain::InitiativeKey::parse(key.as_str())
                .map_err(|e| anyhow::anyhow!("initiative key '{key}' {e}"))?;
            let mut conn = store.conn()?;
            let records = store::initiatives::decisions(&mut conn, &key)?;
            let log = offerlab::api::decisions::DecisionList::new(&key, records);
            match format {
                ReportFormat::Table => print!("{}", offerlab::api::decisions::render(&log)),
                ReportFormat::Json => println!("{}", serde_json::to_string_pretty(&log)?),
            }
        }
        Command::Keys { db, action } => {
            let settings = settings_with(&db)?;
            let store = open_store(&settings)?;
            let mut conn = store.conn()?;
            match action {
                KeysAction::Create { role, team, label } => {
                    let (label, role, team) =
                        offerlab::api::keys::parse_key_request(&label, &role, team.as_deref())
                            .map_err(|e| anyhow::anyhow!("{}", describe(&e)))?;
                    let created =
                        store::keys::create(&mut conn, &label, role, team, chrono::Utc::now())?;
                    println!(
                        "created key {} ({}, {}{}); it is shown once, store it now:",
                        created.key.id,
                        created.key.label,
                        created.key.role,
                        created
                            .key
                            .team
                            .map(|t| format!(", team {t}"))
                            .unwrap_or_default()
                    );
                    println!("{}", created.secret);
                }
                KeysAction::List => {
                    for k in store::keys::list(&mut conn)? {
                        println!(
                            "{:>4}  {:<8} {:<12} {:<20} {}  created {}{}",
                            k.id,
                            k.role.as_str(),
                            k.team.map(|t| t.to_string()).unwrap_or_else(|| "-".into()),
                            k.prefix,
                            k.label,
                            k.created_at.format("%Y-%m-%d %H:%M"),
                            k.revoked_at
                                .map(|t| format!(", revoked {}", t.format("%Y-%m-%d %H:%M")))
                                .unwrap_or_default()
                        );
                    }
                }
                KeysAction::Revoke { id } => {
                    let k = store::keys::revoke(&mut conn, id, chrono::Utc::now())?;
                    println!("revoked key {} ({})", k.id, k.label);
                }
            }
        }
        Command::Webhooks { db, action } => {
            let settings = settings_with(&db)?;
            let store = open_store(&settings)?;
            let mut conn = store.conn()?;
            webhooks_command(&mut conn, &settings, action)?;
        }
        Command::Demo { db, seed } => {
            let settings = settings_with(&db)?;
            offerlab::telemetry::init(&settings.log);
            let store = open_store(&settings)?;
            let summary = load_demo(&store, seed)?;
            println!(
                "demo loaded: {} initiative(s), {} event(s) into {}",
                summary.initiatives,
                summary.events,
                redact(&settings.database.url)
            );
        }
    }
    Ok(())
}

fn webhooks_command(
    conn: &mut store::DbConn,
    settings: &Settings,
    action: WebhooksAction,
) -> anyhow::Result<()> {
    use offerlab::store::{outbox, webhooks};
    match action {
        WebhooksAction::Add {
            url,
            events,
            initiative,
            team,
            format,
        } => {
            let input = offerlab::api::webhooks::WebhookInput {
                url,
                event_types: events,
                initiative,
                team,
                format: Some(format),
            };
            let new = offerlab::api::webhooks::parse_webhook(
                &input,
                settings.webhooks.allow_private_networks,
            )
            .map_err(|e| anyhow::anyhow!("{}", describe(&e)))?;
            let secret = offerlab::domain::webhook::WebhookSecret::generate();
            let created = webhooks::create(conn, &new, &secret, chrono::Utc::now())?;
            println!(
                "created webhook {} ({}, {}); its signing secret is shown once, store it now:",
                created.id,
                created.format.as_str(),
                created.url.as_str()
            );
            println!("{}", secret.expose());
        }
        WebhooksAction::List => {
            for w in webhooks::list(conn)? {
                let types: Vec<&str> = w.event_types.iter().map(|t| t.as_str()).collect();
                println!(
                    "{:>4}  {:<8} {}  events {}{}{}",
                    w.id,
                    w.format.as_str(),
                    w.url.as_str(),
                    types.join(","),
                    w.initiative
                        .map(|k| format!("  initiative {k}"))
                        .unwrap_or_default(),
                    w.team.map(|t| format!("  team {t}")).unwrap_or_default()
                );
            }
        }
        WebhooksAction::Remove { id } => {
            webhooks::delete(conn, id)?;
            println!("removed webhook {id}");
        }
        WebhooksAction::Deliveries { id, limit } => {
            for d in outbox::deliveries(conn, id, limit.clamp(1, 1000))? {
                println!(
                    "{:>6}  {:<10} {:<21} {}  attempts {}{}",
                    d.id,
                    d.state,
                    d.event_type,
                    d.message_id,
                    d.attempts,
                    d.last_error
                        .map(|e| format!("  last error: {e}"))
                        .unwrap_or_default()
                );
                for a in d.log {
                    println!(
                        "          #{} {}  {}  {} ms{}",
                        a.attempt,
                        a.started_at.format("%Y-%m-%d %H:%M:%S"),
                        a.status_code
                            .map(|c| c.to_string())
                            .unwrap_or_else(|| "-".into()),
                        a.latency_ms,
                        a.error.map(|e| format!("  {e}")).unwrap_or_default()
                    );
                }
            }
        }
        WebhooksAction::Replay { id, delivery } => {
            outbox::replay(conn, id, delivery, chrono::Utc::now())?;
            println!("delivery {delivery} of webhook {id} is queued again");
        }
    }
    Ok(())
}
