//! The `offerlab` command line.

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use offerlab::app::Application;
use offerlab::domain::audit::Actor;
use offerlab::settings::Settings;
use offerlab::store::{self, Store};

// Why: see Cargo.toml (mimalloc) and BENCHMARKS.md, issue 15.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// What provider webhooks sent that could not be placed: list and replay.
    Inbox {
        #[command(flatten)]
        db: DatabaseArg,
        #[command(subcommand)]
        action: InboxAction,
    },
    /// Print the audit log, newest first: every change an admin or writer made.
    Audit {
        #[command(flatten)]
        db: DatabaseArg,
        /// How many entries, newest first (1 to 500).
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=500))]
        limit: i64,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
        format: ReportFormat,
    },
    /// Manage the people who sign in to the pages.
    Users {
        #[command(flatten)]
        db: DatabaseArg,
        #[command(subcommand)]
        action: UsersAction,
    },
    /// Load events from a CSV file (a header row naming the event fields, as in
    /// `GET /api/v1/openapi.json` and the README), all-or-nothing per file: every bad row
    /// is reported by line, column and reason, and then nothing is stored.
    Import {
        #[command(flatten)]
        db: DatabaseArg,
        /// Initiative key.
        initiative: String,
        /// The CSV file (read as a stream: any size).
        file: std::path::PathBuf,
        /// Check every row against the database and report, then store nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write every event of an initiative as CSV, in the format `import` reads.
    Export {
        #[command(flatten)]
        db: DatabaseArg,
        /// Initiative key.
        initiative: String,
        /// Write to this file instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<std::path::PathBuf>,
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
enum UsersAction {
    /// Invite someone: prints a one-time link (valid dashboard.invite_hours) where they
    /// set a password.
    Invite {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// admin, writer or viewer.
        #[arg(long)]
        role: String,
        /// A team a writer writes and decides for; repeat for several
        /// (`--team growth --team support`).
        #[arg(long = "team", value_name = "TEAM")]
        teams: Vec<String>,
        /// Where people reach the pages, for the link (default: http://<server.bind>).
        #[arg(long, value_name = "URL")]
        base_url: Option<String>,
    },
    /// List users (never their passwords).
    List,
    /// Disable a user by id: they cannot sign in, and their sessions end at once.
    Disable { id: i64 },
}

#[derive(Subcommand)]
enum InboxAction {
    /// List entries, oldest first.
    List {
        /// stripe, typeform or form.
        #[arg(long)]
        provider: Option<String>,
        /// pending or replayed (default: pending).
        #[arg(long, default_value = "pending")]
        status: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
        format: ReportFormat,
    },
    /// Replay an entry: read and place its payload again (after the fix, e.g. once the
    /// initiative is launched).
    Replay { id: i64 },
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
        settings.database.url = url.as_str().into();
    }
    Ok(settings)
}

fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    Store::open(settings.store_options()?)
        .with_context(|| format!("cannot open the database {}", settings.database.url))
}

fn describe(errors: &offerlab::domain::FieldErrors) -> String {
    errors
        .0
        .iter()
        .map(|e| format!("--{} {}", e.field, e.reason))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The audit log's actor for changes made on the command line: the operating-system
/// user who ran it.
fn cli_actor() -> Actor {
    let user = ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "unknown".into());
    Actor::cli(user)
}

/// On first start (no key at all), creates an admin key and prints it once.
fn first_start_key(store: &Store) -> anyhow::Result<()> {
    let mut conn = store.conn()?;
    if store::keys::any(&mut conn)? {
        return Ok(());
    }
    let created = store::keys::create(
        &mut conn,
        &Actor::system("first start"),
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

/// The demo viewer's sign-in.
const DEMO_EMAIL: &str = "demo.viewer@example.com";

/// A demo viewer account with a fresh random password: (email, password); none when
/// the demo viewer exists already.
fn demo_viewer(store: &Store) -> anyhow::Result<Option<(String, String)>> {
    use offerlab::domain::user::{Email, Password};
    let mut conn = store.conn()?;
    let now = chrono::Utc::now();
    let new = store::users::NewUser {
        email: Email::parse(DEMO_EMAIL).map_err(|e| anyhow::anyhow!("demo email {e}"))?,
        name: "Demo viewer".into(),
        role: offerlab::domain::access::Role::Viewer,
        teams: std::collections::BTreeSet::new(),
    };
    let mut secret = [0u8; 9];
    rand::RngExt::fill(&mut rand::rng(), &mut secret);
    let password = format!("demo-{}", hex::encode(secret));
    let parsed = Password::parse(&password).map_err(|e| anyhow::anyhow!("demo password {e}"))?;
    let (_, token) = match store::users::invite(
        &mut conn,
        &Actor::system("demo"),
        &new,
        chrono::Duration::hours(1),
        now,
    ) {
        Ok(invited) => invited,
        // Kept from an earlier run (its pilots were removed): its password stands.
        Err(store::StoreError::Conflict(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let hash = store::users::hash_password(&parsed)?;
    store::users::accept_invite(&mut conn, &token, &hash, now)?;
    Ok(Some((DEMO_EMAIL.to_owned(), password)))
}

/// What loading the demo did, in words: "demo data: 5 initiatives, 12,345 events".
fn demo_words(summary: &offerlab::demo::DemoSummary) -> String {
    use offerlab::analysis::words::count;
    let plural = |n: usize, one: &str, many: &str| {
        let word = if n == 1 { one } else { many };
        format!("{} {word}", count(u64::try_from(n).unwrap_or(u64::MAX)))
    };
    if summary.initiatives == 0 {
        return "demo data: already loaded, nothing added (existing pilots are kept)".into();
    }
    format!(
        "demo data: {}, {}",
        plural(summary.initiatives, "initiative", "initiatives"),
        plural(summary.events, "event", "events")
    )
}

fn load_demo(store: &Store, seed: u64) -> anyhow::Result<offerlab::demo::DemoSummary> {
    let mut conn = store.conn()?;
    Ok(offerlab::demo::load(&mut conn, seed, chrono::Utc::now())?)
}

fn inbox_list(
    conn: &mut store::DbConn,
    provider: Option<String>,
    status: &str,
    format: ReportFormat,
) -> anyhow::Result<()> {
    use store::inbox;
    let provider = provider
        .map(|p| offerlab::intake::Provider::parse(&p))
        .transpose()
        .map_err(|e| anyhow::anyhow!("--provider {e}"))?;
    let status = inbox::InboxStatus::parse(status).map_err(|e| anyhow::anyhow!("--status {e}"))?;
    let mut filter = inbox::Filter {
        provider,
        status: Some(status),
        after: 0,
        limit: 500,
    };
    let mut entries = Vec::new();
    loop {
        let (page, more) = inbox::page(conn, &filter)?;
        filter.after = page.last().map_or(filter.after, |e| e.id);
        entries.extend(page);
        if !more {
            break;
        }
    }
    match format {
        ReportFormat::Json => {
            let views: Vec<_> = entries
                .into_iter()
                .map(offerlab::api::hooks::InboxEntryView::from)
                .collect();
            println!("{}", serde_json::to_string_pretty(&views)?);
        }
        ReportFormat::Table => {
            let mut table = comfy_table::Table::new();
            table.set_header([
                "id",
                "provider",
                "kind",
                "initiative",
                "status",
                "attempts",
                "reason",
            ]);
            for e in &entries {
                table.add_row([
                    e.id.to_string(),
                    e.provider.as_str().to_owned(),
                    e.kind.clone(),
                    e.initiative.clone().unwrap_or_else(|| "-".into()),
                    e.status.as_str().to_owned(),
                    e.attempts.to_string(),
                    e.reason.clone(),
                ]);
            }
            println!("{table}");
            println!(
                "{} entr{}",
                entries.len(),
                if entries.len() == 1 { "y" } else { "ies" }
            );
        }
    }
    Ok(())
}

/// Replays an inbox entry through the same ingest code the service uses (one
/// transaction, all-or-nothing, idempotent on the derived event ids).
fn inbox_replay(conn: &mut store::DbConn, id: i64) -> anyhow::Result<()> {
    use offerlab::intake::{self, Prepared};
    use store::inbox;
    let entry = inbox::get(conn, id)?;
    let provider = entry.provider;
    let now = chrono::Utc::now();
    let (_, prepared) = intake::prepare(conn, provider, entry.payload.as_bytes(), now)?;
    let failed = |conn: &mut store::DbConn, reason: String| -> anyhow::Result<()> {
        inbox::mark_failed(conn, id, &reason, now)?;
        anyhow::bail!("inbox entry {id} still cannot be placed: {reason}")
    };
    match prepared {
        Prepared::Ignored => {
            inbox::mark_replayed(conn, id, r#"{"ignored":true}"#, now)?;
            println!("inbox entry {id}: not an event type offerlab reads; marked replayed");
        }
        Prepared::Unplaceable { reason, .. } => failed(conn, reason)?,
        Prepared::Ready(batch) => {
            let initiative = batch.initiative.to_string();
            let results =
                store::ingest::Ingestor::default().apply(conn, std::slice::from_ref(&batch))?;
            match results.into_iter().next() {
                Some(Ok(outcome)) => {
                    let result = serde_json::json!({
                        "initiative": initiative,
                        "accepted": outcome.accepted,
                        "duplicates": outcome.duplicates,
                    });
                    inbox::mark_replayed(conn, id, &result.to_string(), now)?;
                    println!(
                        "inbox entry {id} replayed into {initiative}: {} event(s) stored, {} duplicate(s)",
                        outcome.accepted, outcome.duplicates
                    );
                }
                Some(Err(e)) => match intake::refusal_reason(&e) {
                    Some(reason) => failed(conn, reason)?,
                    None => return Err(e.into()),
                },
                None => anyhow::bail!("the ingest writer gave no answer"),
            }
        }
    }
    Ok(())
}

/// `offerlab import`: streams the file through the ingest path in parts of
/// `ingest.max_events_per_request` rows, in one transaction; answers whether it committed.
fn import_file(
    store: &Store,
    settings: &Settings,
    key: &str,
    path: &std::path::Path,
    dry_run: bool,
) -> anyhow::Result<bool> {
    use offerlab::api::event_csv::{self, CsvError, CsvEvents};
    use std::io::IsTerminal;
    use std::sync::atomic::Ordering;
    use store::import::{ImportError, ImportOptions};
    let key = offerlab::domain::InitiativeKey::parse(key)
        .map_err(|e| anyhow::anyhow!("initiative key '{key}' {e}"))?;
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let started = std::time::Instant::now();
    let events = match CsvEvents::new(
        std::io::BufReader::with_capacity(1 << 20, file),
        key.clone(),
        chrono::Utc::now(),
        settings.ingest.max_events_per_request,
    ) {
        Ok(events) => events,
        Err(CsvError::Header(errors)) => {
            for e in &errors {
                eprintln!("{e}");
            }
            anyhow::bail!(
                "{}: the header row is invalid ({} problem(s)); nothing was stored",
                path.display(),
                errors.len()
            );
        }
        Err(e) => return Err(anyhow::anyhow!("{}: {e}", path.display())),
    };
    let bytes = events.bytes_read();
    let bar = if std::io::stderr().is_terminal() && size >= 1 << 20 {
        let bar = indicatif::ProgressBar::new(size);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{wide_bar} {bytes}/{total_bytes} {msg} (eta {eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let rate = |rows: u64| rows as f64 / started.elapsed().as_secs_f64().max(1e-9);
    let mut conn = store.conn()?;
    let mut ingestor = store::ingest::Ingestor::with_hook(Some(std::sync::Arc::new(
        offerlab::notify::watch::IngestWatch::new(
            settings.webhooks.public_base_url.clone(),
            std::sync::Arc::default(),
        ),
    )))
    .with_copy_from_rows(settings.ingest.copy_from_rows);
    let result = store::import::import(
        &mut conn,
        &mut ingestor,
        events,
        ImportOptions {
            dry_run,
            max_errors: event_csv::MAX_LISTED_ERRORS,
        },
        |o| {
            bar.set_position(bytes.load(Ordering::Relaxed));
            bar.set_message(format!("{} rows, {:.0} rows/s", o.rows, rate(o.rows)));
        },
    );
    bar.finish_and_clear();
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(ImportError::Source(e)) => {
            anyhow::bail!("{}: {e}; nothing was stored", path.display())
        }
        Err(e) => anyhow::bail!("{e}; nothing was stored"),
    };
    let seconds = started.elapsed().as_secs_f64();
    let errors: Vec<_> = outcome
        .errors
        .iter()
        .cloned()
        .map(event_csv::line_error)
        .collect();
    let lines = errors
        .iter()
        .filter_map(|e| e.line)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    for e in &errors {
        eprintln!("{e}");
    }
    if outcome.error_count > outcome.errors.len() as u64 {
        eprintln!(
            "... and {} more problem(s)",
            outcome.error_count - outcome.errors.len() as u64
        );
    }
    let counts = format!(
        "{} rows, {} new events, {} duplicates in {seconds:.1} s ({:.0} rows/s)",
        outcome.rows,
        outcome.accepted,
        outcome.duplicates,
        rate(outcome.rows)
    );
    if outcome.error_count > 0 {
        eprintln!(
            "{}: {counts}; refused: {} problem(s){}; nothing was stored (all-or-nothing per file)",
            path.display(),
            outcome.error_count,
            if outcome.error_count > outcome.errors.len() as u64 {
                String::new()
            } else {
                format!(" on {lines} line(s)")
            }
        );
        return Ok(false);
    }
    if dry_run {
        println!(
            "{}: dry run into {key}: {counts}; valid; nothing was stored",
            path.display()
        );
    } else {
        println!(
            "{}: imported into {key}: {counts}; committed (all-or-nothing per file)",
            path.display()
        );
    }
    Ok(true)
}

/// `offerlab export`: every event of the initiative, in ingestion order, read in pages.
fn export_events(store: &Store, key: &str, out: Option<&std::path::Path>) -> anyhow::Result<u64> {
    use offerlab::api::event_csv;
    let key = offerlab::domain::InitiativeKey::parse(key)
        .map_err(|e| anyhow::anyhow!("initiative key '{key}' {e}"))?;
    let mut conn = store.conn()?;
    let initiative = store::initiatives::get(&mut conn, &key)?;
    let sink: Box<dyn std::io::Write> = match out {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut writer = csv::Writer::from_writer(std::io::BufWriter::with_capacity(1 << 20, sink));
    event_csv::write_header(&mut writer)?;
    let (mut after, mut written) = (0, 0u64);
    loop {
        let page = store::events::page(&mut conn, initiative.id, after, 5_000)?;
        after = page.rows.last().map_or(after, |r| r.id);
        for row in page.rows {
            event_csv::write_event(
                &mut writer,
                &offerlab::api::events::StoredEventView::from(row),
            )?;
            written += 1;
        }
        if !page.has_more {
            break;
        }
    }
    writer.flush()?;
    Ok(written)
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
            // Before the demo, so a fresh database always gets its first admin key.
            first_start_key(&store)?;
            let mut demo_viewer_sign_in = None;
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
                    println!("{}", demo_words(&summary));
                    demo_viewer_sign_in = demo_viewer(&store)?;
                }
            }
            let url = settings.database.url.to_string();
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
            if let Some((email, password)) = demo_viewer_sign_in {
                println!(
                    "  Demo sign-in (viewer): http://{host}:{}/sign-in  email {email}  password {password}",
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
            let store = Store::open(options).with_context(|| {
                format!("cannot migrate the database {}", settings.database.url)
            })?;
            let target = format!("{}: {}", store.backend().name(), settings.database.url);
            match store.migrations_applied() {
                [] => println!("database already up to date ({target})"),
                applied => println!(
                    "applied {} migration{} ({target}): {}",
                    applied.len(),
                    if applied.len() == 1 { "" } else { "s" },
                    applied.join(", ")
                ),
            }
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
                    let created = store::keys::create(
                        &mut conn,
                        &cli_actor(),
                        &label,
                        role,
                        team,
                        chrono::Utc::now(),
                    )?;
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
                    let keys = store::keys::list(&mut conn)?;
                    println!(
                        "{:>4}  {:<8} {:<12} {:<20} {:<16} {:<16} {:<16} label",
                        "id", "role", "team", "prefix", "created", "last used", "revoked"
                    );
                    let minute =
                        |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M").to_string();
                    for k in &keys {
                        println!(
                            "{:>4}  {:<8} {:<12} {:<20} {:<16} {:<16} {:<16} {}",
                            k.id,
                            k.role.as_str(),
                            k.team
                                .as_ref()
                                .map_or_else(|| "-".into(), |t| t.to_string()),
                            k.prefix,
                            minute(k.created_at),
                            k.last_used_at.map_or_else(|| "-".into(), minute),
                            k.revoked_at.map_or_else(|| "-".into(), minute),
                            k.label,
                        );
                    }
                    println!(
                        "{} key{}",
                        keys.len(),
                        if keys.len() == 1 { "" } else { "s" }
                    );
                }
                KeysAction::Revoke { id } => {
                    let k = store::keys::revoke(&mut conn, &cli_actor(), id, chrono::Utc::now())?;
                    println!("revoked key {} ({})", k.id, k.label);
                }
            }
        }
        Command::Inbox { db, action } => {
            let settings = settings_with(&db)?;
            let store = open_store(&settings)?;
            let mut conn = store.conn()?;
            match action {
                InboxAction::List {
                    provider,
                    status,
                    format,
                } => inbox_list(&mut conn, provider, &status, format)?,
                InboxAction::Replay { id } => inbox_replay(&mut conn, id)?,
            }
        }
        Command::Audit { db, limit, format } => {
            let settings = settings_with(&db)?;
            let store = open_store(&settings)?;
            let mut conn = store.conn()?;
            let page = store::audit::page(&mut conn, &Default::default(), limit)?;
            match format {
                ReportFormat::Table => {
                    for e in page.entries {
                        println!(
                            "{:>6}  {}  {:<7} {:<24} {:<20} {} {}",
                            e.id,
                            e.at.format("%Y-%m-%d %H:%M:%S"),
                            e.actor_kind.as_str(),
                            e.actor_id
                                .map(|id| format!("{} ({id})", e.actor_name))
                                .unwrap_or(e.actor_name),
                            e.action.as_str(),
                            e.target_type.as_str(),
                            e.target_id
                        );
                    }
                }
                ReportFormat::Json => {
                    let entries: Vec<_> = page
                        .entries
                        .into_iter()
                        .map(offerlab::api::audit::AuditEntryView::from)
                        .collect();
                    println!("{}", serde_json::to_string_pretty(&entries)?);
                }
            }
        }
        Command::Users { db, action } => {
            let settings = settings_with(&db)?;
            let store = open_store(&settings)?;
            let mut conn = store.conn()?;
            match action {
                UsersAction::Invite {
                    email,
                    name,
                    role,
                    teams,
                    base_url,
                } => {
                    let new = offerlab::api::users::parse_invite(&email, &name, &role, &teams)
                        .map_err(|e| anyhow::anyhow!("{}", describe(&e)))?;
                    let ttl = chrono::Duration::hours(i64::from(settings.dashboard.invite_hours));
                    let (user, token) = store::users::invite(
                        &mut conn,
                        &cli_actor(),
                        &new,
                        ttl,
                        chrono::Utc::now(),
                    )?;
                    let base =
                        base_url.unwrap_or_else(|| format!("http://{}", settings.server.bind));
                    println!(
                        "invited user {} ({}, {}, {}{}); send them this link, it works once for {} hours:",
                        user.id,
                        user.name,
                        user.email,
                        user.role,
                        {
                            let names: Vec<&str> = user.teams.iter().map(|t| t.as_str()).collect();
                            match names.len() {
                                0 => String::new(),
                                1 => format!(", team {}", names.join("")),
                                _ => format!(", teams {}", names.join(", ")),
                            }
                        },
                        settings.dashboard.invite_hours,
                    );
                    println!("{}/invite/{token}", base.trim_end_matches('/'));
                }
                UsersAction::List => {
                    for u in store::users::list(&mut conn)? {
                        let view = offerlab::api::users::UserView::from(u);
                        println!(
                            "{:>4}  {:<8} {:<12} {:<9} {} <{}>",
                            view.id,
                            view.role.as_str(),
                            if view.teams.is_empty() {
                                "-".to_owned()
                            } else {
                                view.teams.join(",")
                            },
                            view.status,
                            view.name,
                            view.email,
                        );
                    }
                }
                UsersAction::Disable { id } => {
                    let u = store::users::disable(&mut conn, &cli_actor(), id, chrono::Utc::now())?;
                    println!(
                        "disabled user {} ({}); their sessions have ended",
                        u.id, u.email
                    );
                }
            }
        }
        Command::Webhooks { db, action } => {
            let settings = settings_with(&db)?;
            let store = open_store(&settings)?;
            let mut conn = store.conn()?;
            webhooks_command(&mut conn, &settings, action)?;
        }
        Command::Import {
            db,
            initiative,
            file,
            dry_run,
        } => {
            let settings = settings_with(&db)?;
            let store = open_store(&settings)?;
            if !import_file(&store, &settings, &initiative, &file, dry_run)? {
                std::process::exit(1);
            }
        }
        Command::Export {
            db,
            initiative,
            out,
        } => {
            let settings = settings_with(&db)?;
            let store = open_store(&settings)?;
            let written = export_events(&store, &initiative, out.as_deref())?;
            if let Some(path) = out {
                println!(
                    "{written} events of {initiative} written to {}",
                    path.display()
                );
            }
        }
        Command::Demo { db, seed } => {
            let settings = settings_with(&db)?;
            offerlab::telemetry::init(&settings.log);
            let store = open_store(&settings)?;
            let summary = load_demo(&store, seed)?;
            println!("{} ({})", demo_words(&summary), settings.database.url);
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
            let created = webhooks::create(conn, &cli_actor(), &new, &secret, chrono::Utc::now())?;
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
            webhooks::delete(conn, &cli_actor(), id, chrono::Utc::now())?;
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
