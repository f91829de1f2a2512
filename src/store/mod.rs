//! Storage: diesel over SQLite or PostgreSQL, one code path. The only module that knows SQL.

pub mod aggregates;
pub mod audit;
mod bulk;
pub mod events;
pub mod import;
pub mod inbox;
pub mod ingest;
pub mod initiatives;
pub mod keys;
mod models;
pub mod outbox;
pub mod schema;
pub mod segments;
pub mod sessions;
pub mod surveys;
mod typed;
pub mod users;
pub mod webhooks;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, PooledConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::domain::{FieldErrors, initiative::LifecycleError};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A connection to whichever backend is configured.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgres(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// Runs the same diesel code on the concrete connection of either backend. For the few
/// statements the `MultiConnection` derive cannot express (upserts).
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::store::DbConn::Postgres($c) => $body,
            $crate::store::DbConn::Sqlite($c) => $body,
        }
    };
}
pub(crate) use on_backend;

/// Which database a URL names. `Debug` hides a PostgreSQL URL's password.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Postgres(String),
    Sqlite(std::path::PathBuf),
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Postgres(url) => f
                .debug_tuple("Postgres")
                .field(&crate::secret::redact_url(url))
                .finish(),
            Self::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
        }
    }
}

impl DatabaseUrl {
    /// `postgres://` or `postgresql://` is PostgreSQL; `sqlite://PATH`, `sqlite:PATH` or a
    /// bare path is a SQLite file.
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        let url = url.trim();
        if url.is_empty() {
            return Err(StoreError::Config("database URL is empty".into()));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.contains("://") {
            return Err(StoreError::Config(format!(
                "unsupported database URL scheme in '{}': use postgres://, sqlite:// or a file path",
                crate::secret::redact_url(url)
            )));
        }
        Ok(Self::Sqlite(path.into()))
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Postgres(_) => Backend::Postgres,
            Self::Sqlite(_) => Backend::Sqlite,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "postgresql",
            Backend::Sqlite => "sqlite",
        }
    }
}

/// SQLite durability level. `full` syncs the WAL at every commit: an acknowledged event
/// survives a power cut. `normal` survives a process crash only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SqliteSync {
    Full,
    Normal,
}

/// Storage settings.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub url: DatabaseUrl,
    /// A PostgreSQL streaming replica for pages, reports and exports (`database.read_url`);
    /// `None`: they read from `url`. Writes always go to `url`.
    pub read_url: Option<DatabaseUrl>,
    pub pool_size: u32,
    pub sqlite_synchronous: SqliteSync,
    pub busy_timeout: Duration,
    /// Longest wait for a database connection (and, on the ingest path, for the writer)
    /// before a request is answered `503`.
    pub acquire_timeout: Duration,
}

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    #[error("database configuration: {0}")]
    Config(String),
    #[error("database error: {0}")]
    Database(diesel::result::Error),
    #[error("could not connect to the database: {0}")]
    Connection(String),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("stored data could not be read: {0}")]
    Corrupt(String),
    #[error("{0}")]
    ReadOnly(String),
    /// Every pooled connection stayed busy for the whole acquire timeout.
    #[error(
        "all {size} database connections of this instance stayed busy for {} ms \
         (database.pool_size; the database may be slow or overloaded)", .waited.as_millis()
    )]
    PoolExhausted { size: u32, waited: Duration },
}

/// A database failure that is not the request's fault: it says what the operator (or the
/// client, by retrying) can do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The server cannot be reached (down, restarting, network): retry shortly.
    Unreachable,
    /// SQLite's lock wait ran out: retry shortly.
    Busy,
    /// No space left for the database: writes fail until space is freed.
    StorageFull,
    /// The database file or its folder cannot be written.
    ReadOnly,
}

impl Fault {
    /// What an operator reads in the logs and in `/readyz`.
    pub fn describe(self) -> &'static str {
        match self {
            Fault::Unreachable => "the database is unreachable; requests resume when it answers",
            Fault::Busy => "the database is busy",
            Fault::StorageFull => {
                "database storage is full: free disk space; writes resume by themselves"
            }
            Fault::ReadOnly => {
                "the database is read-only: make its file and folder writable; writes resume by themselves"
            }
        }
    }

    /// Classifies a database message (both backends; the driver's kind is too coarse).
    fn of_message(message: &str) -> Option<Self> {
        let m = message.to_ascii_lowercase();
        let any = |needles: &[&str]| needles.iter().any(|n| m.contains(n));
        if any(&[
            "database or disk is full",
            "no space left on device",
            "disk full",
        ]) {
            Some(Fault::StorageFull)
        } else if any(&[
            "readonly database",
            "read-only file system",
            "read-only database",
        ]) {
            Some(Fault::ReadOnly)
        } else if any(&["database is locked", "database table is locked"]) {
            Some(Fault::Busy)
        } else if any(&[
            "server closed the connection",
            "no connection to the server",
            "terminating connection",
            "connection refused",
            "could not connect",
            "connection to server",
            "the database system is",
            "could not receive data from server",
            "could not send data to server",
            "ssl syscall error",
            "timeout expired",
        ]) {
            Some(Fault::Unreachable)
        } else {
            None
        }
    }

    fn of_diesel(e: &diesel::result::Error) -> Option<Self> {
        use diesel::result::{DatabaseErrorKind as Kind, Error};
        match e {
            Error::DatabaseError(Kind::ClosedConnection | Kind::UnableToSendCommand, _) => {
                Some(Fault::Unreachable)
            }
            Error::DatabaseError(_, info) => Fault::of_message(info.message()),
            Error::RollbackErrorOnCommit {
                commit_error,
                rollback_error,
            } => Fault::of_diesel(commit_error).or_else(|| Fault::of_diesel(rollback_error)),
            _ => None,
        }
    }
}

impl StoreError {
    /// The database fault behind this error, if it is one (not a bug nor bad input).
    pub fn fault(&self) -> Option<Fault> {
        match self {
            StoreError::Connection(m) => Some(Fault::of_message(m).unwrap_or(Fault::Unreachable)),
            StoreError::ReadOnly(_) => Some(Fault::ReadOnly),
            StoreError::PoolExhausted { .. } => Some(Fault::Busy),
            StoreError::Database(e) => Fault::of_diesel(e),
            StoreError::Migration(m) => Fault::of_message(m),
            _ => None,
        }
    }
}

impl From<diesel::result::Error> for StoreError {
    /// A stored value that does not read (a closed set's text outside the set: see
    /// `store::typed`) is corrupt data, not a database failure.
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::DeserializationError(why) => {
                StoreError::Corrupt(why.to_string())
            }
            e => StoreError::Database(e),
        }
    }
}

impl From<r2d2::PoolError> for StoreError {
    fn from(e: r2d2::PoolError) -> Self {
        StoreError::Connection(e.to_string())
    }
}

impl From<FieldErrors> for StoreError {
    fn from(e: FieldErrors) -> Self {
        StoreError::Invalid(e)
    }
}

/// Opens connections of the configured backend and applies per-connection settings.
#[derive(Debug, Clone)]
pub struct ConnectionFactory {
    options: StoreOptions,
    /// Opens connections to the read replica instead of `options.url`.
    replica: bool,
}

impl ConnectionFactory {
    fn url(&self) -> &DatabaseUrl {
        match (&self.options.read_url, self.replica) {
            (Some(url), true) => url,
            _ => &self.options.url,
        }
    }

    pub fn open(&self) -> Result<DbConn, StoreError> {
        match self.url() {
            DatabaseUrl::Postgres(url) => diesel::PgConnection::establish(&with_connect_timeout(
                url,
                self.options.acquire_timeout,
            ))
            .map(DbConn::Postgres)
            .map_err(|e| StoreError::Connection(e.to_string())),
            DatabaseUrl::Sqlite(path) => {
                let path_str = path.to_string_lossy();
                let mut c = diesel::SqliteConnection::establish(&path_str)
                    .map_err(|e| StoreError::Connection(e.to_string()))?;
                let sync = match self.options.sqlite_synchronous {
                    SqliteSync::Full => "FULL",
                    SqliteSync::Normal => "NORMAL",
                };
                // busy_timeout first, so the other settings wait for locks too. WAL mode
                // is a property of the file, set once by `Store::open`.
                c.batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; PRAGMA synchronous = {sync}; \
                     PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536; \
                     PRAGMA temp_store = MEMORY;",
                    self.options.busy_timeout.as_millis()
                ))?;
                Ok(DbConn::Sqlite(c))
            }
        }
    }
}

impl ManageConnection for ConnectionFactory {
    type Connection = DbConn;
    type Error = StoreError;

    fn connect(&self) -> Result<DbConn, StoreError> {
        self.open()
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), StoreError> {
        conn.batch_execute("SELECT 1").map_err(StoreError::from)
    }

    fn has_broken(&self, _conn: &mut DbConn) -> bool {
        false
    }
}

/// The PostgreSQL URL with a `connect_timeout` (whole seconds; libpq's least is 2) unless
/// it names one: connecting to a host that does not answer must not hang.
fn with_connect_timeout(url: &str, timeout: Duration) -> String {
    if url.contains("connect_timeout=") {
        return url.to_owned();
    }
    let secs = timeout.as_millis().div_ceil(1000).max(2);
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}connect_timeout={secs}")
}

pub type Pool = r2d2::Pool<ConnectionFactory>;
pub type PooledConn = PooledConnection<ConnectionFactory>;

/// The database: a connection pool plus what is needed to open dedicated connections.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    /// Connections to the read replica, when `database.read_url` is set.
    read_pool: Option<Pool>,
    factory: ConnectionFactory,
    health: Arc<WriteHealth>,
    /// The migrations this `open` applied, oldest first.
    migrated: Arc<[String]>,
}

/// The last write fault (storage full, read-only) until a write succeeds again: while it
/// lasts, `/readyz` says not ready.
#[derive(Debug, Default)]
struct WriteHealth {
    fault: Mutex<Option<WriteFault>>,
}

#[derive(Debug, Clone, Copy)]
struct WriteFault {
    kind: Fault,
    at: Instant,
    /// Free bytes for the SQLite file when the write failed.
    free_bytes: Option<u64>,
}

/// How long a write fault that nothing can re-check (PostgreSQL storage, read-only)
/// keeps `/readyz` not ready after the last failing write.
const WRITE_FAULT_HOLD: Duration = Duration::from_secs(30);
/// Free space that must appear after a SQLite "disk full" before `/readyz` is ready again.
const FREED_BYTES: u64 = 1 << 20;

impl Store {
    /// Connects, creating the SQLite file's folder if needed, and runs pending migrations.
    pub fn open(options: StoreOptions) -> Result<Self, StoreError> {
        if let DatabaseUrl::Sqlite(path) = &options.url
            && let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Config(format!("cannot create folder {}: {e}", dir.display()))
            })?;
        }
        // A read-only file or mount: say so, rather than SQLite's "unable to open".
        if let DatabaseUrl::Sqlite(path) = &options.url
            && let Some(why) = sqlite_read_only(path, false)
        {
            return Err(read_only_error(path, &why, None));
        }
        let factory = ConnectionFactory {
            options,
            replica: false,
        };
        // Migrate on one connection before the pool opens any, so every pooled SQLite
        // connection sees WAL mode and the final schema.
        let migrated = factory.open().and_then(|mut first| {
            if let DbConn::Sqlite(c) = &mut first {
                c.batch_execute("PRAGMA journal_mode = WAL;")?;
            }
            run_migrations(&mut first)
        });
        if let (Err(e), DatabaseUrl::Sqlite(path)) = (&migrated, &factory.options.url)
            && let Some(why) = sqlite_read_only(path, true)
        {
            return Err(read_only_error(path, &why, Some(e)));
        }
        let migrated = migrated?;
        let pool = r2d2::Pool::builder()
            .max_size(factory.options.pool_size.max(1))
            .connection_timeout(factory.options.acquire_timeout)
            .build(factory.clone())
            .map_err(|e| StoreError::Connection(e.to_string()))?;
        // The replica's pool connects on demand: a replica that is down at start-up makes
        // reads answer 503 until it is back, it does not stop the service from starting.
        let read_pool = factory.options.read_url.as_ref().map(|_| {
            r2d2::Pool::builder()
                .max_size(factory.options.pool_size.max(1))
                .min_idle(Some(0))
                .connection_timeout(factory.options.acquire_timeout)
                .build_unchecked(ConnectionFactory {
                    options: factory.options.clone(),
                    replica: true,
                })
        });
        Ok(Self {
            pool,
            read_pool,
            factory,
            health: Arc::default(),
            migrated: migrated.into(),
        })
    }

    /// The names of the migrations opening the store applied, oldest first (none: the
    /// database was up to date).
    pub fn migrations_applied(&self) -> &[String] {
        &self.migrated
    }

    /// A pooled connection for pages, reports and exports: to the read replica when
    /// `database.read_url` is set, else to the primary. Never write through it.
    pub fn read_conn(&self) -> Result<PooledConn, StoreError> {
        self.checkout(self.read_pool.as_ref().unwrap_or(&self.pool))
    }

    /// A connection of `pool`; when none came free within the acquire timeout while all
    /// were handed out, says the pool is exhausted (a `503` with `Retry-After`), not that
    /// the database is unreachable.
    fn checkout(&self, pool: &Pool) -> Result<PooledConn, StoreError> {
        pool.get().map_err(|e| {
            let state = pool.state();
            if state.connections >= pool.max_size() && state.idle_connections == 0 {
                StoreError::PoolExhausted {
                    size: pool.max_size(),
                    waited: self.acquire_timeout(),
                }
            } else {
                StoreError::from(e)
            }
        })
    }

    /// Whether reads go to a replica (`database.read_url` is set).
    pub fn reads_from_replica(&self) -> bool {
        self.read_pool.is_some()
    }

    /// The configured wait for a connection.
    pub fn acquire_timeout(&self) -> Duration {
        self.factory.options.acquire_timeout
    }

    pub fn backend(&self) -> Backend {
        self.factory.options.url.backend()
    }

    /// A pooled connection. Blocking: call from a blocking context.
    pub fn conn(&self) -> Result<PooledConn, StoreError> {
        self.checkout(&self.pool)
    }

    /// A connection of its own, outside the pool (the ingest writer keeps one).
    pub fn dedicated(&self) -> Result<DbConn, StoreError> {
        self.factory.open()
    }

    /// Checks that the database answers, without waiting on the pool: an idle pooled
    /// connection when there is one, else a new connection of its own (bounded by the
    /// connect timeout), so a busy or still-recovering pool cannot make it wait.
    pub fn ping(&self) -> Result<(), StoreError> {
        if let Some(mut c) = self.pool.try_get()
            && c.batch_execute("SELECT 1").is_ok()
        {
            return Ok(());
        }
        let mut c = self.factory.open()?;
        c.batch_execute("SELECT 1")?;
        Ok(())
    }

    /// Remembers a failed write when it is a storage fault (full, read-only), logging it
    /// once in words an operator acts on.
    pub fn record_write_failure(&self, error: &StoreError) {
        let Some(kind @ (Fault::StorageFull | Fault::ReadOnly)) = error.fault() else {
            return;
        };
        let free_bytes = self.free_bytes();
        let mut fault = self
            .health
            .fault
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if fault.is_none_or(|f| f.kind != kind) {
            tracing::error!(error = %error, "{}", kind.describe());
        }
        *fault = Some(WriteFault {
            kind,
            at: Instant::now(),
            free_bytes,
        });
    }

    /// A write succeeded: any storage fault is over.
    pub fn record_write_success(&self) {
        let mut fault = self
            .health
            .fault
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(f) = fault.take() {
            tracing::info!(fault = ?f.kind, "database writes work again");
        }
    }

    /// The storage fault that makes writes fail now, if any. A SQLite "disk full" lasts
    /// until space is freed (or a write succeeds); other faults until a write succeeds or
    /// a while after the last failing write, so that a fixed problem is noticed.
    pub fn write_fault(&self) -> Option<Fault> {
        let mut guard = self
            .health
            .fault
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let fault = (*guard)?;
        let over = match (fault.kind, fault.free_bytes) {
            (Fault::StorageFull, Some(before)) => self
                .free_bytes()
                .is_some_and(|now| now > before.saturating_add(FREED_BYTES)),
            _ => fault.at.elapsed() > WRITE_FAULT_HOLD,
        };
        if over {
            tracing::info!(fault = ?fault.kind, "database storage fault may be over; accepting writes again");
            *guard = None;
            return None;
        }
        Some(fault.kind)
    }

    /// Free bytes on the SQLite file's file system (`None` for PostgreSQL).
    fn free_bytes(&self) -> Option<u64> {
        let DatabaseUrl::Sqlite(path) = &self.factory.options.url else {
            return None;
        };
        let dir = folder_of(path);
        rustix::fs::statvfs(dir)
            .ok()
            .map(|s| s.f_bavail.saturating_mul(s.f_frsize))
    }
}

/// The folder that holds a SQLite file.
fn folder_of(path: &std::path::Path) -> &std::path::Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => std::path::Path::new("."),
    }
}

fn read_only_error(path: &std::path::Path, why: &str, sqlite: Option<&StoreError>) -> StoreError {
    StoreError::ReadOnly(format!(
        "the SQLite database {} is read-only ({why}): offerlab must write to the file and \
         create its -wal and -shm files next to it{}",
        path.display(),
        sqlite
            .map(|e| format!(" (SQLite said: {e})"))
            .unwrap_or_default()
    ))
}

/// Why a SQLite file cannot be written, if it cannot: a read-only mount, or a file (or,
/// with `probe_folder`, a folder) this process may not write.
fn sqlite_read_only(path: &std::path::Path, probe_folder: bool) -> Option<String> {
    let dir = folder_of(path);
    if let Ok(vfs) = rustix::fs::statvfs(dir)
        && vfs.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY)
    {
        return Some(format!("{} is on a read-only file system", dir.display()));
    }
    if path.exists()
        && let Err(e) = std::fs::OpenOptions::new().write(true).open(path)
        && matches!(
            e.kind(),
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
        )
    {
        return Some(format!("the file cannot be opened for writing: {e}"));
    }
    if !probe_folder {
        return None;
    }
    let probe = dir.join(format!(".offerlab-write-check-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            None
        }
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
            ) =>
        {
            Some(format!("the folder {} is not writable: {e}", dir.display()))
        }
        Err(_) => None,
    }
}

/// Runs `f` in a transaction that changes data. On SQLite it begins `IMMEDIATE`, taking
/// the write lock before the first read: a deferred transaction that read first cannot
/// upgrade once another connection (the ingest writer, the webhook sender) has committed
/// since, and fails at once with `SQLITE_BUSY` instead of waiting `busy_timeout`. On
/// PostgreSQL it is a plain transaction. Nested `transaction` calls inside become
/// savepoints, as usual.
pub fn write_transaction<T, F>(conn: &mut DbConn, f: F) -> Result<T, StoreError>
where
    F: FnOnce(&mut DbConn) -> Result<T, StoreError>,
{
    write_transaction_or(conn, f)
}

/// [`write_transaction`] for work that can fail for reasons of its own (`E`), besides
/// the database's: any error rolls everything back.
pub fn write_transaction_or<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    E: From<StoreError>,
    F: FnOnce(&mut DbConn) -> Result<T, E>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    let outermost =
        <DbConn as Connection>::TransactionManager::transaction_manager_status_mut(conn)
            .transaction_depth()
            .map_err(StoreError::from)?
            .is_none();
    match conn {
        DbConn::Sqlite(c) if outermost => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")
                .map_err(StoreError::from)?;
        }
        // Inside a transaction already (a savepoint), or PostgreSQL.
        _ => <DbConn as Connection>::TransactionManager::begin_transaction(conn)
            .map_err(StoreError::from)?,
    }
    match f(conn) {
        Ok(value) => {
            <DbConn as Connection>::TransactionManager::commit_transaction(conn)
                .map_err(StoreError::from)?;
            Ok(value)
        }
        Err(e) => {
            // The error that made us roll back is the one to report.
            let _ = <DbConn as Connection>::TransactionManager::rollback_transaction(conn);
            Err(e)
        }
    }
}

/// Applies every embedded migration of the connection's backend that has not run yet, and
/// answers their names (`2026-11-25-000001_create_core`), oldest first.
pub fn run_migrations(conn: &mut DbConn) -> Result<Vec<String>, StoreError> {
    use diesel::migration::MigrationSource;
    fn names<DB: diesel::backend::Backend>(
        source: &EmbeddedMigrations,
        applied: &[diesel::migration::MigrationVersion<'_>],
    ) -> Vec<String> {
        let all = MigrationSource::<DB>::migrations(source).unwrap_or_default();
        applied
            .iter()
            .map(|version| {
                all.iter()
                    .find(|m| m.name().version() == *version)
                    .map_or_else(|| version.to_string(), |m| m.name().to_string())
            })
            .collect()
    }
    let applied = match conn {
        DbConn::Postgres(c) => {
            // Instances starting together take turns: one migrates, the others then
            // find nothing pending. The lock is released at the end of the session
            // or explicitly below.
            c.batch_execute("SELECT pg_advisory_lock(7166157301)")?;
            let result = c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|v| names::<diesel::pg::Pg>(&POSTGRES_MIGRATIONS, &v));
            c.batch_execute("SELECT pg_advisory_unlock(7166157301)")?;
            result
        }
        DbConn::Sqlite(c) => c
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|v| names::<diesel::sqlite::Sqlite>(&SQLITE_MIGRATIONS, &v)),
    };
    applied.map_err(|e| StoreError::Migration(e.to_string()))
}

/// Opens a write transaction that takes the initiative's write lock first: a row lock
/// on PostgreSQL (so concurrent instances serialize per initiative) and the database
/// write lock on SQLite (so the transaction never has to upgrade from a read lock,
/// which SQLite cannot wait for). Returns how many initiatives matched.
pub(crate) fn lock_initiatives(conn: &mut DbConn, keys: &[&str]) -> Result<usize, StoreError> {
    use schema::initiatives::dsl as i;
    let mut sorted: Vec<&str> = keys.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut matched = 0;
    // One statement per key, in key order: two instances locking overlapping sets
    // always take the locks in the same order, so they cannot deadlock.
    for key in sorted {
        matched += diesel::update(i::initiatives.filter(i::key.eq(key)))
            .set(i::status.eq(i::status))
            .execute(conn)?;
    }
    Ok(matched)
}

/// Where a read was served from, and how far behind the primary it may be.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Freshness {
    /// `primary`, or `replica` when `database.read_url` is set and that server is a standby.
    pub read_from: ReadFrom,
    /// On a replica: seconds between now and the last transaction it replayed, or 0 when it
    /// has replayed all it received (an idle primary sends nothing, so a caught-up replica
    /// reads 0, not the time since the last write). `null` on the primary.
    pub replica_lag_seconds: Option<f64>,
}

/// Which server a read came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReadFrom {
    Primary,
    Replica,
}

impl Freshness {
    pub const PRIMARY: Self = Self {
        read_from: ReadFrom::Primary,
        replica_lag_seconds: None,
    };
}

/// How fresh reads on `conn` are: asks PostgreSQL whether it is a standby and how far its
/// replay is behind; SQLite and a primary are current.
pub fn freshness(conn: &mut DbConn) -> Result<Freshness, StoreError> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        standby: bool,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Double>)]
        lag: Option<f64>,
    }
    let DbConn::Postgres(c) = conn else {
        return Ok(Freshness::PRIMARY);
    };
    let row: Row = diesel::sql_query(
        "SELECT pg_is_in_recovery() AS standby, CASE \
           WHEN NOT pg_is_in_recovery() THEN NULL \
           WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0 \
           ELSE GREATEST(0, EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()))::float8 \
         END AS lag",
    )
    .get_result(c)?;
    Ok(if row.standby {
        Freshness {
            read_from: ReadFrom::Replica,
            replica_lag_seconds: Some(row.lag.unwrap_or(0.0)),
        }
    } else {
        Freshness::PRIMARY
    })
}

pub(crate) fn to_naive(t: chrono::DateTime<chrono::Utc>) -> chrono::NaiveDateTime {
    t.naive_utc()
}

pub(crate) fn to_utc(t: chrono::NaiveDateTime) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_naive_utc_and_offset(t, chrono::Utc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database_error(message: &str) -> StoreError {
        StoreError::Database(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::Unknown,
            Box::new(message.to_owned()),
        ))
    }

    #[test]
    fn faults_are_told_apart_by_their_messages() {
        let cases = [
            ("database or disk is full", Some(Fault::StorageFull)),
            (
                "could not extend file \"base/1/2\": No space left on device",
                Some(Fault::StorageFull),
            ),
            (
                "attempt to write a readonly database",
                Some(Fault::ReadOnly),
            ),
            ("database is locked", Some(Fault::Busy)),
            (
                "server closed the connection unexpectedly",
                Some(Fault::Unreachable),
            ),
            (
                "terminating connection due to administrator command",
                Some(Fault::Unreachable),
            ),
            ("UNIQUE constraint failed: events.event_id", None),
            ("syntax error", None),
        ];
        for (message, fault) in cases {
            assert_eq!(database_error(message).fault(), fault, "{message}");
        }
    }

    #[test]
    fn a_lost_connection_and_a_failed_rollback_are_unreachable() {
        use diesel::result::{DatabaseErrorKind, Error};
        let closed = || {
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection,
                Box::new("gone".to_owned()),
            )
        };
        assert_eq!(
            StoreError::Database(closed()).fault(),
            Some(Fault::Unreachable)
        );
        let on_commit = Error::RollbackErrorOnCommit {
            rollback_error: Box::new(closed()),
            commit_error: Box::new(Error::DatabaseError(
                DatabaseErrorKind::Unknown,
                Box::new("database or disk is full".to_owned()),
            )),
        };
        assert_eq!(
            StoreError::Database(on_commit).fault(),
            Some(Fault::StorageFull),
            "the commit's own error comes first"
        );
        assert_eq!(
            StoreError::Connection("pool timed out".into()).fault(),
            Some(Fault::Unreachable)
        );
        assert_eq!(StoreError::NotFound("x".into()).fault(), None);
    }

    #[test]
    fn the_postgres_url_gets_a_connect_timeout_unless_it_has_one() {
        let t = Duration::from_millis(2_500);
        assert_eq!(
            with_connect_timeout("postgres://u@h/db", t),
            "postgres://u@h/db?connect_timeout=3"
        );
        assert_eq!(
            with_connect_timeout(
                "postgres://u@h/db?sslmode=disable",
                Duration::from_millis(10)
            ),
            "postgres://u@h/db?sslmode=disable&connect_timeout=2"
        );
        assert_eq!(
            with_connect_timeout("postgres://u@h/db?connect_timeout=9", t),
            "postgres://u@h/db?connect_timeout=9"
        );
    }
}
