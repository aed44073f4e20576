//! A throwaway PostgreSQL server for the test binary, started once on first
//! use from the installed server binaries, with a fresh database per test.
//!
//! Set `TEST_POSTGRES_URL` to use an existing server instead. A watchdog
//! process stops the server and removes its files when the test process
//! exits, however it exits.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use sqlx::Connection;

pub struct Postgres {
    /// `postgres://user@host:port` without a database.
    base_url: String,
    /// Set when this process started the server (not TEST_POSTGRES_URL).
    control: Option<Control>,
}

/// What it takes to stop and start a server this process started.
struct Control {
    bin: PathBuf,
    data: PathBuf,
    log: PathBuf,
    options: String,
    as_postgres: bool,
}

static SERVER: OnceLock<Postgres> = OnceLock::new();

fn bin_dir() -> PathBuf {
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dirs| {
            dirs.filter_map(|d| d.ok())
                .map(|d| d.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    candidates.retain(|dir| dir.join("initdb").exists());
    candidates.sort();
    candidates.pop().unwrap_or_else(|| {
        panic!(
            "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin; \
             install postgresql (scripts/install-test-deps does) or set TEST_POSTGRES_URL"
        )
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Runs a PostgreSQL tool, as the `postgres` user when we are root (initdb
/// refuses to run as root).
fn run_pg(tool: &Path, args: &[&str], as_postgres: bool) {
    let mut command = if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(tool);
        c
    } else {
        Command::new(tool)
    };
    let output = command
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", tool.display()));
    assert!(
        output.status.success(),
        "{} failed: {}{}",
        tool.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

impl Postgres {
    /// Starts a new server of its own (or, with TEST_POSTGRES_URL set,
    /// uses that one; then it cannot be restarted).
    pub fn start() -> Postgres {
        if let Ok(url) = std::env::var("TEST_POSTGRES_URL") {
            return Postgres {
                base_url: url.trim_end_matches('/').to_string(),
                control: None,
            };
        }
        let bin = bin_dir();
        let root = is_root();
        let dir = tempfile::Builder::new()
            .prefix("memorid-pg.")
            .tempdir_in("/tmp")
            .expect("creating a temp dir")
            .keep();
        let port = {
            let socket = std::net::TcpListener::bind("127.0.0.1:0").expect("finding a free port");
            socket.local_addr().unwrap().port()
        };
        if root {
            run_pg(Path::new("chmod"), &["755", dir.to_str().unwrap()], false);
            run_pg(
                Path::new("chown"),
                &["postgres:", dir.to_str().unwrap()],
                false,
            );
        }
        let data = dir.join("data");
        run_pg(
            &bin.join("initdb"),
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            root,
        );
        let control = Control {
            options: format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300",
                dir.display()
            ),
            log: dir.join("log"),
            data,
            bin,
            as_postgres: root,
        };
        control.start();
        // Stop the server when this process goes away, however it ends.
        let stop = if root {
            format!("runuser -u postgres -- {}/pg_ctl", control.bin.display())
        } else {
            format!("{}/pg_ctl", control.bin.display())
        };
        let watchdog = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; \
             {stop} -D {data} -m immediate stop >/dev/null 2>&1; rm -rf {dir}",
            pid = std::process::id(),
            data = control.data.display(),
            dir = dir.display(),
        );
        // The inner shell is put in the background and outlives this one.
        let started = Command::new("sh")
            .args(["-c", &format!("({watchdog}) </dev/null >/dev/null 2>&1 &")])
            .status()
            .expect("starting the PostgreSQL watchdog");
        assert!(started.success(), "starting the PostgreSQL watchdog failed");
        Postgres {
            base_url: format!("postgres://postgres@127.0.0.1:{port}"),
            control: Some(control),
        }
    }

    /// The postmaster's process id (its backends are its children), when
    /// this server is ours.
    #[allow(dead_code)] // only benches/gateway reads it
    pub fn postmaster_pid(&self) -> Option<u32> {
        let control = self.control.as_ref()?;
        let pid_file = std::fs::read_to_string(control.data.join("postmaster.pid")).ok()?;
        pid_file.lines().next()?.trim().parse().ok()
    }

    /// A URL of a new, empty database on this server.
    pub async fn database(&self) -> String {
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&format!("{}/postgres", self.base_url))
            .await
            .expect("connecting to the test PostgreSQL");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("creating a test database");
        admin.close().await.ok();
        format!("{}/{name}", self.base_url)
    }

    /// Stops the server at once, as a crash would.
    pub fn stop(&self) {
        self.control
            .as_ref()
            .expect("a server this test started")
            .stop();
    }

    pub fn restart(&self) {
        self.control
            .as_ref()
            .expect("a server this test started")
            .start();
    }
}

impl Control {
    fn pg_ctl(&self, args: &[&str]) {
        let mut all = vec!["-D", self.data.to_str().unwrap()];
        all.extend_from_slice(args);
        run_pg(&self.bin.join("pg_ctl"), &all, self.as_postgres);
    }

    fn start(&self) {
        self.pg_ctl(&[
            "-l",
            self.log.to_str().unwrap(),
            "-w",
            "-o",
            &self.options,
            "start",
        ]);
    }

    fn stop(&self) {
        self.pg_ctl(&["-m", "immediate", "-w", "stop"]);
    }
}

/// A URL of a new, empty database on the shared test server.
pub async fn fresh_database() -> String {
    SERVER.get_or_init(Postgres::start).database().await
}

/// Drops a database `fresh_database` made (its connections closed first),
/// so that a benchmark's runs each start on a server holding nothing of
/// the runs before.
#[allow(dead_code, reason = "used by benches/augmentation.rs")]
pub async fn drop_database(url: &str) {
    let server = SERVER.get_or_init(Postgres::start);
    let name = url.rsplit('/').next().expect("a database URL");
    let mut admin = sqlx::PgConnection::connect(&format!("{}/postgres", server.base_url))
        .await
        .expect("connecting to the test PostgreSQL");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .expect("dropping a test database");
    admin.close().await.ok();
}

/// A store on a new, migrated database of this server (16 connections, as
/// the benchmarks use it), and the database's URL.
#[allow(dead_code, reason = "used by the benchmarks")]
pub async fn fresh_store() -> (memorid::storage::Store, String) {
    let url = fresh_database().await;
    let store = memorid::storage::Store::connect(&memorid::config::StorageConfig {
        url: url.clone(),
        max_connections: 16,
        acquire_timeout_secs: 10,
    })
    .await
    .expect("connecting to a fresh test database");
    store
        .migrate()
        .await
        .expect("migrating a fresh test database");
    (store, url)
}
