//! Test support: build and start the real `ratel-server` on a random port against a fresh
//! SQLite file or a fresh PostgreSQL database, and talk HTTP to it.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;

pub mod receiver;

pub const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Builds a binary of the workspace and returns its path.
fn workspace_bin(package: &str, bin: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/<test> -> target/<profile>/<bin>
    let dir = exe.parent().and_then(|p| p.parent()).expect("target dir");
    let profile = dir.file_name().and_then(|n| n.to_str()).unwrap_or("debug");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "-p", package, "--bin", bin]);
    if profile == "release" {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("cargo runs");
    assert!(status.success(), "building {bin} failed");
    dir.join(bin)
}

/// The `ratel-server` binary, built once per test run.
pub fn server_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| workspace_bin("ratel-server", "ratel-server"))
        .clone()
}

/// The `ratel` CLI binary, built once per test run.
pub fn cli_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| workspace_bin("ratel-client", "ratel"))
        .clone()
}

/// Makes (if missing) a virtualenv `target/<name>` and installs the pinned `requirements`
/// (a path under tests/) into it; returns the virtualenv's path. Call it once per run.
pub fn python_venv(name: &str, requirements: &str) -> PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::current_exe()
        .unwrap()
        .ancestors()
        .nth(3)
        .expect("target dir")
        .to_owned();
    let venv = target.join(name);
    let python = venv.join("bin/python");
    if !python.exists() {
        let status = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("python3 runs");
        assert!(status.success(), "creating the virtualenv {name} failed");
    }
    let status = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(root.join(requirements))
        .status()
        .expect("pip runs");
    assert!(status.success(), "installing {requirements} failed");
    venv
}

/// A database the test owns; dropped (PostgreSQL) or deleted (SQLite) at the end.
pub struct TestDb {
    pub url: String,
    pg_name: Option<String>,
    _dir: Option<TempDir>,
}

pub struct TempDir(pub PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn temp_dir() -> TempDir {
    let dir = std::env::temp_dir().join(format!("ratel-test-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    TempDir(dir)
}

async fn pg_exec(sql: String) {
    use sea_orm::ConnectionTrait;
    let db = sea_orm::Database::connect(PG_ADMIN_URL)
        .await
        .expect("PostgreSQL on 127.0.0.1:5432 (user postgres) is reachable");
    db.execute_unprepared(&sql).await.expect(&sql);
    let _ = db.close().await;
}

impl TestDb {
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = temp_dir();
                let url = format!("sqlite://{}/ratel.sqlite3?mode=rwc", dir.0.display());
                TestDb {
                    url,
                    pg_name: None,
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let name = format!(
                    "ratel_test_{}",
                    ulid::Ulid::new().to_string().to_lowercase()
                );
                pg_exec(format!("CREATE DATABASE {name}")).await;
                TestDb {
                    url: format!("postgres://postgres@127.0.0.1:5432/{name}"),
                    pg_name: Some(name),
                    _dir: None,
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            // Drop runs inside the test's runtime; do the async work on a thread of its own.
            let _ = std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime")
                    .block_on(pg_exec(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
            })
            .join();
        }
    }
}

/// A running server.
pub struct Server {
    pub base: String,
    /// The key printed on first start (project `default/default`).
    pub key: String,
    db: Option<TestDb>,
    child: Child,
    client: reqwest::Client,
}

impl Server {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, &[]).await
    }

    pub async fn start_with(backend: Backend, args: &[&str]) -> Self {
        let db = TestDb::new(backend).await;
        Self::start_on(db, args)
    }

    pub fn start_on(db: TestDb, args: &[&str]) -> Self {
        Self::spawn(db, args, Stdio::inherit(), &[])
    }

    /// Starts a server with extra environment.
    pub async fn start_with_env(backend: Backend, env: &[(&str, &str)]) -> Self {
        Self::spawn(TestDb::new(backend).await, &[], Stdio::inherit(), env)
    }

    /// Starts a server on an existing database, with extra environment.
    pub fn start_on_with_env(db: TestDb, env: &[(&str, &str)]) -> Self {
        Self::spawn(db, &[], Stdio::inherit(), env)
    }

    /// A second server on the same database (a replica); it owns no database.
    pub fn replica(&self, env: &[(&str, &str)]) -> Self {
        let db = TestDb {
            url: self.db().url.clone(),
            pg_name: None,
            _dir: None,
        };
        let mut replica = Self::spawn(db, &[], Stdio::inherit(), env);
        replica.key = self.key.clone();
        replica
    }

    /// Starts a server whose logs (stderr) go to `log`, with extra environment.
    pub fn start_logging(db: TestDb, log: &std::path::Path, env: &[(&str, &str)]) -> Self {
        let file = std::fs::File::create(log).expect("log file");
        Self::spawn(db, &[], Stdio::from(file), env)
    }

    fn spawn(db: TestDb, args: &[&str], stderr: Stdio, env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(server_bin())
            .args(["serve", "--bind", "127.0.0.1:0"])
            .args(args)
            .env("DATABASE_URL", &db.url)
            .env("RATEL_LOG_LEVEL", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("server starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut key = String::new();
        let base = loop {
            let line = lines
                .next()
                .expect("server printed its address before exiting")
                .expect("stdout is UTF-8");
            if line.ends_with("a project key:") {
                key = lines.next().unwrap().unwrap().trim().to_owned();
            }
            if let Some(addr) = line.strip_prefix("listening on ") {
                break addr.to_owned();
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server {
            base,
            key,
            db: Some(db),
            child,
            client: reqwest::Client::new(),
        }
    }

    pub fn db(&self) -> &TestDb {
        self.db.as_ref().expect("database present until shutdown")
    }

    /// Runs `ratel-server admin ...` against this server's database; returns stdout.
    pub fn admin(&self, args: &[&str]) -> (bool, String) {
        let out = Command::new(server_bin())
            .arg("admin")
            .args(args)
            .env("DATABASE_URL", &self.db().url)
            .env("RATEL_LOG_LEVEL", "warn")
            .output()
            .expect("admin runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    /// Creates a key for another project; returns the whole key.
    pub fn create_key(&self, org: &str, project: &str) -> String {
        let (ok, out) = self.admin(&["create-key", "--org", org, "--project", project]);
        assert!(ok, "create-key failed: {out}");
        out.lines().last().expect("key line").trim().to_owned()
    }

    /// An SDK client for the default project.
    pub fn sdk(&self) -> ratel_client::Client {
        ratel_client::Client::new(ratel_client::Config::new(&self.base, &self.key).unwrap())
            .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn tasks_url(&self) -> String {
        self.url("/api/default/default/tasks/")
    }

    pub fn task_url(&self, id: &str) -> String {
        self.url(&format!("/api/default/default/tasks/{id}/"))
    }

    pub fn raw(&self, method: Method, url: &str) -> RequestBuilder {
        self.client.request(method, url)
    }

    /// A request with the default key.
    pub fn req(&self, method: Method, url: &str) -> RequestBuilder {
        self.raw(method, url).bearer_auth(&self.key)
    }

    pub async fn create(&self, body: Value) -> Value {
        let resp = self
            .req(Method::POST, &self.tasks_url())
            .json(&body)
            .send()
            .await
            .unwrap();
        expect(resp, 201).await
    }

    pub async fn get_task(&self, id: &str) -> Value {
        let resp = self
            .req(Method::GET, &self.task_url(id))
            .send()
            .await
            .unwrap();
        expect(resp, 200).await
    }

    pub async fn patch(&self, id: &str, body: Value) -> Value {
        let resp = self
            .req(Method::PATCH, &self.task_url(id))
            .json(&body)
            .send()
            .await
            .unwrap();
        expect(resp, 200).await
    }

    /// Kills the server with SIGKILL (no chance to finish anything); returns the database.
    pub fn kill9(mut self) -> TestDb {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.db.take().expect("database")
    }

    /// Registers a web hook endpoint in the default project (for actions that name it);
    /// returns its signing secret.
    pub async fn add_webhook(&self, slug: &str, url: &str) -> String {
        let resp = self
            .req(Method::POST, &self.url("/api/default/default/webhooks/"))
            .json(&serde_json::json!({"slug": slug, "url": url}))
            .send()
            .await
            .unwrap();
        let body = expect(resp, 201).await;
        body["secret"].as_str().expect("secret").to_owned()
    }

    /// Sends SIGTERM.
    pub fn sigterm(&self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
    }

    /// Stops the server with SIGTERM; returns its exit status and the database.
    pub fn shutdown(mut self) -> (std::process::ExitStatus, TestDb) {
        self.sigterm();
        let status = self.child.wait().expect("server exits");
        (status, self.db.take().expect("database"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// openapi.yaml, loaded once, to validate every response body against.
pub fn contract() -> &'static xtask::contract::Contract {
    static CONTRACT: OnceLock<xtask::contract::Contract> = OnceLock::new();
    CONTRACT.get_or_init(xtask::contract::Contract::canonical)
}

/// Asserts the status, checks the body against openapi.yaml (the schema documented for this
/// path and status), and returns the JSON body (Null for an empty body).
pub async fn expect(resp: Response, status: u16) -> Value {
    let got = resp.status().as_u16();
    let path = resp.url().path().to_owned();
    let text = resp.text().await.unwrap();
    assert_eq!(got, status, "unexpected status; body: {text}");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    };
    if let Err(e) = contract().check_any_method(&path, got, &body) {
        panic!("response breaks the contract: {e}");
    }
    body
}

/// Asserts an error response: status, JSON content type, `type`, first `code` and `attr`.
pub async fn expect_error(resp: Response, status: u16, ty: &str, code: &str) -> Value {
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = expect(resp, status).await;
    assert!(ct.starts_with("application/json"), "content type {ct}");
    assert_eq!(body["type"], ty, "{body}");
    assert_eq!(body["errors"][0]["code"], code, "{body}");
    body
}

/// Generates one test per backend for each listed async fn taking `Backend`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::support::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::support::Backend::Postgres).await
                }
            )*
        }
    };
}
