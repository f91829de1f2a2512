//! Template databases: the migrations run once, and each test gets a copy.
//!
//! - SQLite: a template file is migrated once and copied per test. It is named after a
//!   hash of `migrations/sqlite` and kept under Cargo's `CARGO_TARGET_TMPDIR`; it is built
//!   under a name of this process and renamed into place (atomic), so test binaries running
//!   at once never copy a half-migrated file, and a changed migration makes a new template.
//! - PostgreSQL: a template database `offerlab_tpl_<hash of migrations/postgres>` is
//!   migrated once (built under a name of this process, then renamed), its migrating
//!   connection closed and its connections disallowed, so `CREATE DATABASE ... TEMPLATE`
//!   never meets another session on it. A `CREATE DATABASE` that does (a session that was
//!   still closing, a concurrent clone) is retried.
//!
//! The server under test then finds nothing to migrate at start-up.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use diesel::{Connection, RunQueryDsl};
use offerlab::store::{DbConn, run_migrations};
use sha2::{Digest, Sha256};

/// A hash of a backend's migration files: names and contents.
fn migrations_hash(backend: &str) -> String {
    let root = Path::new("migrations").join(backend);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("migrations folder")
        .flat_map(|dir| {
            let dir = dir.expect("migration").path();
            std::fs::read_dir(&dir)
                .expect("migration folder")
                .map(|f| f.expect("migration file").path())
                .collect::<Vec<_>>()
        })
        .collect();
    files.sort();
    let mut hash = Sha256::new();
    for f in files {
        hash.update(f.to_string_lossy().as_bytes());
        hash.update(std::fs::read(&f).expect("read migration"));
    }
    hex::encode(&hash.finalize()[..6])
}

/// The migrated SQLite template file of this run.
fn sqlite_template() -> &'static Path {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("db-templates");
        std::fs::create_dir_all(&dir).expect("template folder");
        let hash = migrations_hash("sqlite");
        let path = dir.join(format!("sqlite-{hash}.db"));
        if !path.exists() {
            let building = dir.join(format!("sqlite-{hash}.{}.building", std::process::id()));
            let _ = std::fs::remove_file(&building);
            {
                let url = building.to_str().expect("UTF-8 path");
                let mut conn = DbConn::Sqlite(
                    diesel::SqliteConnection::establish(url).expect("create SQLite template"),
                );
                diesel::connection::SimpleConnection::batch_execute(
                    &mut conn,
                    "PRAGMA journal_mode = WAL;",
                )
                .expect("WAL");
                run_migrations(&mut conn).expect("migrate SQLite template");
                // Closing the last connection checkpoints the WAL into the file.
            }
            std::fs::rename(&building, &path).expect("SQLite template in place");
        }
        path
    })
}

/// A copy of the migrated SQLite template at `path`.
pub fn sqlite_copy(path: &Path) {
    std::fs::copy(sqlite_template(), path).expect("copy SQLite template");
}

/// Runs `sql` on `conn`, again while the database it names is still used by another
/// session (a connection that is closing, a concurrent `CREATE DATABASE ... TEMPLATE`).
fn execute_retrying(conn: &mut diesel::PgConnection, sql: &str) -> diesel::QueryResult<usize> {
    let mut tries = 0;
    loop {
        match diesel::sql_query(sql).execute(conn) {
            Err(e) if e.to_string().contains("being accessed by other users") && tries < 200 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(25));
            }
            other => return other,
        }
    }
}

fn database_exists(admin: &mut diesel::PgConnection, name: &str) -> bool {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query("SELECT COUNT(*) AS n FROM pg_database WHERE datname = $1")
        .bind::<diesel::sql_types::Text, _>(name)
        .get_result::<Count>(admin)
        .expect("look up database")
        .n
        > 0
}

/// The URL of database `name` on the server of `admin_url`.
pub fn postgres_url(admin_url: &str, name: &str) -> String {
    let base = admin_url
        .split('?')
        .next()
        .and_then(|u| u.rsplit_once('/'))
        .map(|(b, _)| b.to_owned())
        .expect("admin URL with a database name");
    format!("{base}/{name}")
}

/// The name of the migrated PostgreSQL template database of this run.
fn postgres_template(admin_url: &str) -> &'static str {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let name = format!("offerlab_tpl_{}", migrations_hash("postgres"));
        let mut admin = diesel::PgConnection::establish(admin_url).expect("connect to PostgreSQL");
        if database_exists(&mut admin, &name) {
            return name;
        }
        let building = format!("{name}_b{}", std::process::id());
        execute_retrying(
            &mut admin,
            &format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"),
        )
        .expect("drop a stale template");
        execute_retrying(&mut admin, &format!("CREATE DATABASE {building}"))
            .expect("create PostgreSQL template");
        {
            let mut conn = DbConn::Postgres(
                diesel::PgConnection::establish(&postgres_url(admin_url, &building))
                    .expect("connect to the template"),
            );
            run_migrations(&mut conn).expect("migrate PostgreSQL template");
        }
        execute_retrying(
            &mut admin,
            &format!("ALTER DATABASE {building} WITH ALLOW_CONNECTIONS false"),
        )
        .expect("close the template");
        if let Err(e) = execute_retrying(
            &mut admin,
            &format!("ALTER DATABASE {building} RENAME TO {name}"),
        ) {
            // Another test binary put its identical template in place first.
            assert!(database_exists(&mut admin, &name), "rename template: {e}");
            let _ = execute_retrying(
                &mut admin,
                &format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"),
            );
        }
        name
    })
}

/// Creates database `name` as a copy of the migrated PostgreSQL template.
pub fn postgres_copy(admin: &mut diesel::PgConnection, admin_url: &str, name: &str) {
    let template = postgres_template(admin_url);
    execute_retrying(
        admin,
        &format!("CREATE DATABASE {name} TEMPLATE {template}"),
    )
    .expect("create test database from the template");
}
