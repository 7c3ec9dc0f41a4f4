//! The HTTP benchmark behind `cargo xtask bench`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use crate::spec::workspace_root;

#[derive(clap::Args, Clone)]
pub struct Options {
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Seconds each phase runs.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Tasks in the project before the list phase.
    #[arg(long, default_value_t = 100_000)]
    tasks: usize,
    /// Which stores to measure.
    #[arg(long, value_parser = ["sqlite", "postgres", "both"], default_value = "both")]
    backend: String,
    /// Another `ratel-server` binary (e.g. built from an earlier commit): its create, PATCH
    /// and GET throughput are measured side by side with this one's, alternating, on each
    /// selected store, and the ratios printed.
    #[arg(long)]
    baseline: Option<std::path::PathBuf>,
    /// Measure only SQLite `synchronous=FULL` against NORMAL (the durability default's figure).
    #[arg(long)]
    durability_only: bool,
    /// Measure only the side-by-side comparison with `--baseline`.
    #[arg(long, requires = "baseline")]
    baseline_only: bool,
    /// Measure only Ratel against the bare server on PostgreSQL.
    #[arg(long)]
    bare_only: bool,
}

struct Server {
    child: Child,
    base: String,
    key: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(bin: &Path, database_url: &str) -> Result<Server> {
        Server::start_with(bin, database_url, &[])
    }

    /// Starts `bin` with extra environment (settings) on top of the bench's own.
    fn start_with(bin: &Path, database_url: &str, env: &[(&str, &str)]) -> Result<Server> {
        let child = Command::new(bin)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .envs(env.iter().copied())
            .env("DATABASE_URL", database_url)
            .env("RATEL_LOG_LEVEL", "warn")
            // The benchmark's web hook receiver listens on loopback.
            .env("RATEL_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true")
            .stdout(Stdio::piped())
            .spawn()
            .context("starting ratel-server")?;
        Server::listening(child)
    }

    /// The bare server (`bare.rs`), run by this very binary, on a PostgreSQL database.
    fn start_bare(database_url: &str) -> Result<Server> {
        let child = Command::new(std::env::current_exe()?)
            .arg("bare-server")
            .env("DATABASE_URL", database_url)
            .stdout(Stdio::piped())
            .spawn()
            .context("starting the bare server")?;
        Server::listening(child)
    }

    /// Waits for a started server's `listening on` line (and the first start's key).
    fn listening(mut child: Child) -> Result<Server> {
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut key = String::new();
        let base = loop {
            let Some(line) = lines.next() else {
                bail!("server exited before listening")
            };
            let line = line?;
            if line.ends_with("a project key:") {
                key = lines.next().unwrap()?.trim().to_owned();
            }
            if let Some(addr) = line.strip_prefix("listening on ") {
                break addr.to_owned();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Ok(Server { child, base, key })
    }

    /// Peak resident set size (VmHWM) in MiB.
    fn peak_rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    }
}

struct PhaseResult {
    name: &'static str,
    requests: usize,
    non_2xx: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl PhaseResult {
    fn print(&mut self) {
        self.latencies.sort();
        let pct = |p: f64| {
            let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
            self.latencies
                .get(i)
                .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
        };
        println!(
            "  {:<16} {:>9.0} req/s   p50 {:>6.2} ms   p99 {:>6.2} ms   {:>7} requests   {} non-2xx",
            self.name,
            self.requests as f64 / self.elapsed.as_secs_f64(),
            pct(0.50),
            pct(0.99),
            self.requests,
            self.non_2xx
        );
    }
}

/// One request of a phase, given a sequence number: method, path and query, JSON body.
type MakeRequest = Arc<dyn Fn(usize) -> (Method, String, Option<String>) + Send + Sync + 'static>;

/// A bare HTTP/1.1 keep-alive connection: the load generator shares the server's cores, so it
/// should cost as little per request as it can (no pool, redirects or URL parsing per request).
async fn connect(addr: &str) -> Result<http1::SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

async fn phase(
    name: &'static str,
    server: &Server,
    connections: usize,
    duration: Duration,
    make: MakeRequest,
) -> Result<PhaseResult> {
    paced_phase(name, server, connections, duration, None, make).await
}

/// A phase whose connections each send at most one request per `pace` (none: closed loop,
/// each sends its next request as soon as the last is answered).
async fn paced_phase(
    name: &'static str,
    server: &Server,
    connections: usize,
    duration: Duration,
    pace: Option<Duration>,
    make: MakeRequest,
) -> Result<PhaseResult> {
    let counter = Arc::new(AtomicUsize::new(0));
    let authorization = format!("Bearer {}", server.key);
    let addr = server.base.trim_start_matches("http://").to_owned();
    let mut senders = Vec::new();
    for _ in 0..connections {
        senders.push(connect(&addr).await?);
    }
    let started = Instant::now();
    let deadline = started + duration;
    let mut workers = Vec::new();
    for mut sender in senders {
        let (make, counter) = (make.clone(), counter.clone());
        let (authorization, host) = (authorization.clone(), addr.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut non_2xx = 0;
            let mut ticks = pace.map(tokio::time::interval);
            while Instant::now() < deadline {
                if let Some(ticks) = &mut ticks {
                    ticks.tick().await;
                }
                let (method, path, body) = make(counter.fetch_add(1, Ordering::Relaxed));
                let mut request = Request::builder()
                    .method(method)
                    .uri(path)
                    .header(HOST, &host)
                    .header(AUTHORIZATION, &authorization);
                if body.is_some() {
                    request = request.header(CONTENT_TYPE, "application/json");
                }
                let request = request
                    .body(Full::new(Bytes::from(body.unwrap_or_default())))
                    .expect("request");
                let t = Instant::now();
                let ok = match sender.send_request(request).await {
                    Ok(resp) => {
                        let status = resp.status();
                        resp.into_body().collect().await.is_ok() && status.is_success()
                    }
                    Err(_) => false,
                };
                latencies.push(t.elapsed());
                if !ok {
                    non_2xx += 1;
                    if sender.ready().await.is_err() {
                        break;
                    }
                }
            }
            (latencies, non_2xx)
        }));
    }
    let mut result = PhaseResult {
        name,
        requests: 0,
        non_2xx: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
    };
    for w in workers {
        let (lat, bad) = w.await.expect("worker");
        result.requests += lat.len();
        result.non_2xx += bad;
        result.latencies.extend(lat);
    }
    result.elapsed = started.elapsed();
    Ok(result)
}

/// A local web hook receiver: answers 204 at once and records, per request, how long after
/// the event's `timestamp` (taken in the transaction that committed it) it arrived.
struct Receiver {
    addr: String,
    lags: Arc<std::sync::Mutex<Vec<Duration>>>,
}

impl Receiver {
    async fn start() -> Result<Receiver> {
        use hyper::service::service_fn;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?.to_string();
        let lags: Arc<std::sync::Mutex<Vec<Duration>>> = Arc::default();
        let recorded = lags.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let recorded = recorded.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                        let recorded = recorded.clone();
                        async move {
                            let body = req.into_body().collect().await?.to_bytes();
                            let at = chrono::Utc::now();
                            let event: Value = serde_json::from_slice(&body).unwrap_or_default();
                            let lag = event["timestamp"]
                                .as_str()
                                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                                .and_then(|t| (at - t.to_utc()).to_std().ok())
                                .unwrap_or_default();
                            recorded.lock().unwrap().push(lag);
                            let resp = hyper::Response::builder()
                                .status(204)
                                .body(Full::new(Bytes::new()))
                                .expect("response");
                            Ok::<_, hyper::Error>(resp)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Receiver { addr, lags })
    }

    fn received(&self) -> usize {
        self.lags.lock().unwrap().len()
    }
}

/// Tasks that each carry one web hook action with `trigger`.
/// The `p` quantile of sorted durations, in milliseconds (NaN when there are none).
fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
}

async fn tasks_with_action(
    base: &str,
    key: &str,
    count: usize,
    trigger: &str,
) -> Result<Vec<String>> {
    let client = reqwest::Client::new();
    let url = format!("{base}/api/default/default/tasks/");
    let mut ids = Vec::new();
    for _ in 0..count {
        let task: Value = client
            .post(&url)
            .bearer_auth(key)
            .json(
                &json!({"name": "alerting", "value": 0, "status": "processing",
                "actions": [{"trigger": trigger, "integration": "webhook:bench"}]}),
            )
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        ids.push(task["id"].as_str().unwrap_or_default().to_owned());
    }
    Ok(ids)
}

/// The alerting phases: PATCH of tasks whose action does not fire, PATCH that fires on every
/// request, and the deliveries those produce (throughput and commit-to-receipt latency).
async fn alerting_phases(server: &Server, o: &Options, without_actions: f64) -> Result<()> {
    let duration = Duration::from_secs(o.seconds);
    let tasks_path = "/api/default/default/tasks/";
    let receiver = Receiver::start().await?;
    reqwest::Client::new()
        .post(format!("{}/api/default/default/webhooks/", server.base))
        .bearer_auth(&server.key)
        .json(&json!({"slug": "bench", "url": format!("http://{}/hook", receiver.addr)}))
        .send()
        .await?
        .error_for_status()?;
    // A point the values never reach.
    let quiet = Arc::new(tasks_with_action(&server.base, &server.key, 1000, "1000000000").await?);
    let t = quiet.clone();
    let mut quiet_phase = phase(
        "PATCH, action",
        server,
        o.connections,
        duration,
        Arc::new(move |n| {
            let body = json!({"status": "processing", "value": n % 100});
            (
                Method::PATCH,
                format!("{tasks_path}{}/", t[n % t.len()]),
                Some(body.to_string()),
            )
        }),
    )
    .await?;
    quiet_phase.print();
    // */1 with a value that only grows: every PATCH passes a new point.
    let firing = Arc::new(tasks_with_action(&server.base, &server.key, 1000, "*/1").await?);
    let before = receiver.received();
    let t = firing.clone();
    let started = Instant::now();
    let mut fire_phase = phase(
        "PATCH, fires",
        server,
        o.connections,
        duration,
        Arc::new(move |n| {
            let body = json!({"status": "processing", "value": n + 1});
            (
                Method::PATCH,
                format!("{tasks_path}{}/", t[n % t.len()]),
                Some(body.to_string()),
            )
        }),
    )
    .await?;
    fire_phase.print();
    let fired = fire_phase.requests - fire_phase.non_2xx;
    let deadline = Instant::now() + Duration::from_secs(120);
    while receiver.received() < before + fired && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let drained = started.elapsed();
    let mut lags: Vec<Duration> = receiver.lags.lock().unwrap()[before..].to_vec();
    lags.sort();
    let pct = |p: f64| percentile_ms(&lags, p);
    println!(
        "  deliveries       {:>9.0} events/s   (backlog of the phase above) commit-to-receipt p50 {:.1} ms, p99 {:.1} ms   {} of {} events received",
        lags.len() as f64 / drained.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        lags.len(),
        fired
    );
    // Commit-to-receipt at a load the dispatcher keeps up with: 1,000 events/s.
    let before = receiver.received();
    let t = firing.clone();
    let offset = fire_phase.requests + 1;
    let paced = paced_phase(
        "PATCH, fires, 1,000/s",
        server,
        10,
        duration,
        Some(Duration::from_millis(10)),
        Arc::new(move |n| {
            let body = json!({"status": "processing", "value": offset + n + 1});
            (
                Method::PATCH,
                format!("{tasks_path}{}/", t[n % t.len()]),
                Some(body.to_string()),
            )
        }),
    )
    .await?;
    let fired = paced.requests - paced.non_2xx;
    let deadline = Instant::now() + Duration::from_secs(60);
    while receiver.received() < before + fired && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut lags: Vec<Duration> = receiver.lags.lock().unwrap()[before..].to_vec();
    lags.sort();
    let pct = |p: f64| percentile_ms(&lags, p);
    println!(
        "  deliveries at {:.0} events/s: commit-to-receipt p50 {:.1} ms, p99 {:.1} ms   {} of {} events received",
        fired as f64 / paced.elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        lags.len(),
        fired
    );
    let rate = |p: &PhaseResult| p.requests as f64 / p.elapsed.as_secs_f64();
    println!(
        "  PATCH with a non-firing action: {:.0}% of PATCH without; firing on every request: {:.0}%",
        100.0 * rate(&quiet_phase) / without_actions,
        100.0 * rate(&fire_phase) / without_actions
    );
    Ok(())
}

/// Creates (the bench's create body) on `server`: requests per second.
async fn create_rate_on(server: &Server, o: &Options) -> Result<f64> {
    let p = phase(
        "create",
        server,
        o.connections,
        Duration::from_secs(o.seconds),
        Arc::new(move |n| {
            let body =
                json!({"name": format!("bench-{n}"), "data": {"n": n}, "tags": {"env": "bench"}});
            (
                Method::POST,
                "/api/default/default/tasks/".to_owned(),
                Some(body.to_string()),
            )
        }),
    )
    .await?;
    Ok(p.requests as f64 / p.elapsed.as_secs_f64())
}

/// SQLite `synchronous=FULL` against NORMAL, this binary, alternating five rounds on fresh
/// databases: create and PATCH medians and their ratios (the figure behind the default).
async fn durability_comparison(bin: &Path, o: &Options) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("ratel-bench-sync-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir)?;
    let mut runs: [[Vec<f64>; 2]; 2] = Default::default(); // [normal, full] × [create, patch]
    for round in 0..5 {
        for (mode, full) in [(0, "false"), (1, "true")] {
            let url = format!("sqlite://{}/{mode}-{round}.sqlite3?mode=rwc", dir.display());
            let server = Server::start_with(bin, &url, &[("RATEL_SQLITE_SYNCHRONOUS_FULL", full)])?;
            runs[mode][0].push(create_rate_on(&server, o).await?);
            runs[mode][1].push(patch_rate_on(&server, o).await?);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    for (op, name) in [(0, "create"), (1, "PATCH progress")] {
        let (normal, full) = (median_f64(&runs[0][op]), median_f64(&runs[1][op]));
        println!(
            "  {name}, SQLite synchronous FULL vs NORMAL, side by side: {full:.0} vs {normal:.0} req/s: {:.1}% (runs: {:.0?} vs {:.0?})",
            100.0 * full / normal,
            runs[1][op],
            runs[0][op]
        );
    }
    Ok(())
}

fn median_f64(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// PATCH progress of 1,000 tasks created on `server`: requests per second.
async fn patch_rate_on(server: &Server, o: &Options) -> Result<f64> {
    let targets = Arc::new(create_tasks(&server.base, &server.key, 1000, o.connections).await?);
    let p = phase(
        "PATCH progress",
        server,
        o.connections,
        Duration::from_secs(o.seconds),
        Arc::new(move |n| {
            let body = json!({"status": "processing", "value": n % 100});
            let path = format!("/api/default/default/tasks/{}/", targets[n % targets.len()]);
            (Method::PATCH, path, Some(body.to_string()))
        }),
    )
    .await?;
    Ok(p.requests as f64 / p.elapsed.as_secs_f64())
}

/// GET by id of 1,000 tasks created on `server`: requests per second.
async fn get_rate_on(server: &Server, o: &Options) -> Result<f64> {
    let targets = Arc::new(create_tasks(&server.base, &server.key, 1000, o.connections).await?);
    let p = phase(
        "GET",
        server,
        o.connections,
        Duration::from_secs(o.seconds),
        Arc::new(move |n| {
            let path = format!("/api/default/default/tasks/{}/", targets[n % targets.len()]);
            (Method::GET, path, None)
        }),
    )
    .await?;
    Ok(p.requests as f64 / p.elapsed.as_secs_f64())
}

/// A fresh database of `backend` for one run: its URL, and how to drop it.
fn fresh_database(backend: &str, dir: &Path, name: &str) -> Result<(String, Option<String>)> {
    if backend == "postgres" {
        let db = format!(
            "ratel_bench_{}",
            ulid::Ulid::new().to_string().to_lowercase()
        );
        psql(&format!("CREATE DATABASE {db}"))?;
        Ok((format!("postgres://postgres@127.0.0.1:5432/{db}"), Some(db)))
    } else {
        let url = format!("sqlite://{}/{name}.sqlite3?mode=rwc", dir.display());
        Ok((url, None))
    }
}

/// Ratel against the bare server (`bare.rs`: one statement per request) on PostgreSQL,
/// alternating three rounds each on fresh databases: medians, and Ratel's as a multiple.
async fn bare_comparison(bin: &Path, o: &Options) -> Result<()> {
    let dir = std::env::temp_dir();
    let (mut bare, mut ratel) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        for (out, is_bare) in [(&mut bare, true), (&mut ratel, false)] {
            let (url, db) = fresh_database("postgres", &dir, "")?;
            let server = if is_bare {
                Server::start_bare(&url)?
            } else {
                Server::start(bin, &url)?
            };
            let create = create_rate_on(&server, o).await?;
            let patch = patch_rate_on(&server, o).await?;
            let get = get_rate_on(&server, o).await?;
            drop(server);
            if let Some(db) = db {
                psql(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))?;
            }
            out.push([create, patch, get]);
        }
    }
    println!("PostgreSQL, Ratel against a bare poem + sea-orm server (one statement per request):");
    for (i, label) in ["create", "PATCH progress", "GET"].iter().enumerate() {
        let bare: Vec<f64> = bare.iter().map(|r| r[i]).collect();
        let ratel: Vec<f64> = ratel.iter().map(|r| r[i]).collect();
        let (b, r) = (median_f64(&bare), median_f64(&ratel));
        println!(
            "  {label:<16} Ratel {r:.0} req/s, bare {b:.0} req/s: {:.2}x (runs: {ratel:.0?} vs {bare:.0?})",
            r / b
        );
    }
    Ok(())
}

/// This binary's create, PATCH and GET against a baseline's, alternating three rounds each on
/// fresh databases of each selected store; medians and their ratios.
async fn baseline_comparison(baseline: &Path, bin: &Path, o: &Options) -> Result<()> {
    let backends: &[&str] = match o.backend.as_str() {
        "both" => &["sqlite", "postgres"],
        "postgres" => &["postgres"],
        _ => &["sqlite"],
    };
    for backend in backends {
        let dir = std::env::temp_dir().join(format!("ratel-bench-base-{}", ulid::Ulid::new()));
        std::fs::create_dir_all(&dir)?;
        let (mut base, mut this) = (Vec::new(), Vec::new());
        for round in 0..3 {
            for (bin, out, name) in [(baseline, &mut base, "base"), (bin, &mut this, "this")] {
                let (url, pg) = fresh_database(backend, &dir, &format!("{name}-{round}"))?;
                let server = Server::start(bin, &url)?;
                let create = create_rate_on(&server, o).await?;
                let patch = patch_rate_on(&server, o).await?;
                let get = get_rate_on(&server, o).await?;
                drop(server);
                if let Some(db) = pg {
                    psql(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))?;
                }
                out.push([create, patch, get]);
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        for (i, label) in ["create", "PATCH progress", "GET"].iter().enumerate() {
            let base: Vec<f64> = base.iter().map(|r| r[i]).collect();
            let this: Vec<f64> = this.iter().map(|r| r[i]).collect();
            let (b, t) = (median_f64(&base), median_f64(&this));
            println!(
                "  {label}, {backend}, side by side: baseline {b:.0} req/s, this build {t:.0} req/s: {:.1}% (runs: {base:.0?} vs {this:.0?})",
                100.0 * t / b
            );
        }
    }
    Ok(())
}

async fn create_tasks(
    base: &str,
    key: &str,
    count: usize,
    connections: usize,
) -> Result<Vec<String>> {
    let url = format!("{base}/api/default/default/tasks/");
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..connections {
        let (url, key, next) = (url.clone(), key.to_owned(), next.clone());
        workers.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut ids = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < count {
                let resp = client
                    .post(&url)
                    .bearer_auth(&key)
                    .json(&json!({"name": "seed", "tags": {"env": "bench"}}))
                    .send()
                    .await?;
                let task: Value = resp.error_for_status()?.json().await?;
                ids.push(task["id"].as_str().unwrap_or_default().to_owned());
            }
            anyhow::Ok(ids)
        }));
    }
    let mut ids = Vec::new();
    for w in workers {
        ids.extend(w.await??);
    }
    Ok(ids)
}

async fn bench_backend(label: &str, bin: &Path, database_url: &str, o: &Options) -> Result<()> {
    let server = Server::start(bin, database_url)?;
    println!(
        "{label} ({} keep-alive connections from one load-generator thread, {} s per phase)",
        o.connections, o.seconds
    );
    let duration = Duration::from_secs(o.seconds);
    let (base, key) = (server.base.clone(), server.key.clone());
    let tasks_path = "/api/default/default/tasks/";
    let mut create = phase(
        "create",
        &server,
        o.connections,
        duration,
        Arc::new(move |n| {
            let body =
                json!({"name": format!("bench-{n}"), "data": {"n": n}, "tags": {"env": "bench"}});
            (Method::POST, tasks_path.to_owned(), Some(body.to_string()))
        }),
    )
    .await?;
    create.print();

    let targets = Arc::new(create_tasks(&base, &key, 1000, o.connections).await?);
    let t = targets.clone();
    let mut patch = phase(
        "PATCH progress",
        &server,
        o.connections,
        duration,
        Arc::new(move |n| {
            let body = json!({"status": "processing", "value": n % 100});
            let path = format!("{tasks_path}{}/", t[n % t.len()]);
            (Method::PATCH, path, Some(body.to_string()))
        }),
    )
    .await?;
    patch.print();

    let t = targets.clone();
    let mut get = phase(
        "GET",
        &server,
        o.connections,
        duration,
        Arc::new(move |n| {
            let path = format!("{tasks_path}{}/", t[n % t.len()]);
            (Method::GET, path, None)
        }),
    )
    .await?;
    get.print();

    alerting_phases(
        &server,
        o,
        patch.requests as f64 / patch.elapsed.as_secs_f64(),
    )
    .await?;

    let existing = create.requests + 1000;
    if existing < o.tasks {
        let started = Instant::now();
        create_tasks(&base, &key, o.tasks - existing, o.connections).await?;
        println!(
            "  (seeded {} more tasks to reach {} in {:.1} s)",
            o.tasks - existing,
            o.tasks,
            started.elapsed().as_secs_f64()
        );
    }
    if let Some(database) = database_url.strip_prefix("postgres://") {
        // Planner statistics for the bulk-loaded rows, as autovacuum would soon give them.
        psql_in(database.rsplit('/').next().unwrap_or("postgres"), "ANALYZE")?;
    }
    let mut list = phase(
        "list page (100)",
        &server,
        o.connections,
        duration,
        Arc::new(move |_| (Method::GET, format!("{tasks_path}?page_size=100"), None)),
    )
    .await?;
    list.print();
    println!("  peak RSS {:.1} MiB", server.peak_rss_mib());
    Ok(())
}

fn psql(sql: &str) -> Result<()> {
    psql_in("postgres", sql)
}

fn psql_in(database: &str, sql: &str) -> Result<()> {
    let status = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            database,
            "-q",
            "-c",
            sql,
        ])
        .status()
        .context("running psql")?;
    anyhow::ensure!(status.success(), "psql failed: {sql}");
    Ok(())
}

/// The SDK over one keep-alive client: sequential progress updates per second.
async fn sdk_progress(bin: &Path, database_url: &str, seconds: u64) -> Result<()> {
    let server = Server::start(bin, database_url)?;
    let client = ratel_client::Client::new(ratel_client::Config::new(&server.base, &server.key)?)?;
    let mut task = client
        .create(ratel_client::NewTask::new("sdk-bench"))
        .await?;
    let started = Instant::now();
    let mut n: i64 = 0;
    while started.elapsed() < Duration::from_secs(seconds) {
        n += 1;
        task.update_value(n).await?;
    }
    println!(
        "  SDK progress updates (1 keep-alive client): {:.0} updates/s",
        n as f64 / started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Wall time `ratel run NAME -- true` adds over running `true` alone (median of 20 each).
fn cli_overhead(ratel: &Path, bin: &Path, database_url: &str) -> Result<()> {
    let server = Server::start(bin, database_url)?;
    let time = |cmd: &mut Command| -> Result<Duration> {
        let t = Instant::now();
        let status = cmd.status()?;
        anyhow::ensure!(status.success(), "command failed");
        Ok(t.elapsed())
    };
    let mut bare = Vec::new();
    let mut wrapped = Vec::new();
    for _ in 0..20 {
        bare.push(time(&mut Command::new("true"))?);
        wrapped.push(time(
            Command::new(ratel)
                .args(["run", "bench", "--", "true"])
                .env("TASKBADGER_HOST", &server.base)
                .env("TASKBADGER_API_KEY", &server.key),
        )?);
    }
    let (b, w) = (median(bare), median(wrapped));
    println!(
        "  `ratel run NAME -- true`: median {:.1} ms vs `true` {:.1} ms: {:.1} ms added",
        w.as_secs_f64() * 1000.0,
        b.as_secs_f64() * 1000.0,
        (w.saturating_sub(b)).as_secs_f64() * 1000.0
    );
    Ok(())
}

pub fn run(o: Options) -> Result<()> {
    let root = workspace_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    if cfg!(debug_assertions) && std::env::var_os("XTASK_BENCH_DRIVER").is_none() {
        // Re-run this command optimized: a debug load generator would measure itself.
        let status = Command::new(&cargo)
            .args([
                "run",
                "--quiet",
                "--profile",
                "bench-driver",
                "-p",
                "xtask",
                "--",
                "bench",
            ])
            .args(std::env::args().skip(2))
            .env("XTASK_BENCH_DRIVER", "1")
            .current_dir(&root)
            .status()?;
        anyhow::ensure!(status.success(), "the optimized benchmark failed");
        return Ok(());
    }
    let status = Command::new(&cargo)
        .args([
            "build",
            "--release",
            "-p",
            "ratel-server",
            "-p",
            "ratel-client",
        ])
        .current_dir(&root)
        .status()?;
    anyhow::ensure!(status.success(), "release build failed");
    let ratel = root.join("target/release/ratel");
    let bin = root.join("target/release/ratel-server");
    // One load-generator thread (like `wrk -t1`): the server keeps at least the other core.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    if o.durability_only {
        return rt.block_on(durability_comparison(&bin, &o));
    }
    if let (true, Some(baseline)) = (o.baseline_only, &o.baseline) {
        return rt.block_on(baseline_comparison(baseline, &bin, &o));
    }
    if o.bare_only {
        return rt.block_on(bare_comparison(&bin, &o));
    }
    if o.backend != "postgres" {
        let dir = std::env::temp_dir().join(format!("ratel-bench-{}", ulid::Ulid::new()));
        std::fs::create_dir_all(&dir)?;
        let url = format!("sqlite://{}/bench.sqlite3?mode=rwc", dir.display());
        let result = rt.block_on(bench_backend("SQLite", &bin, &url, &o));
        let _ = std::fs::remove_dir_all(&dir);
        result?;
        let url = format!("sqlite://{}/sdk.sqlite3?mode=rwc", dir.display());
        std::fs::create_dir_all(&dir)?;
        rt.block_on(sdk_progress(&bin, &url, o.seconds))?;
        let url = format!("sqlite://{}/cli.sqlite3?mode=rwc", dir.display());
        cli_overhead(&ratel, &bin, &url)?;
        let _ = std::fs::remove_dir_all(&dir);
        rt.block_on(durability_comparison(&bin, &o))?;
    }
    if o.backend != "sqlite" {
        let name = format!(
            "ratel_bench_{}",
            ulid::Ulid::new().to_string().to_lowercase()
        );
        psql(&format!("CREATE DATABASE {name}"))?;
        let url = format!("postgres://postgres@127.0.0.1:5432/{name}");
        let result = rt.block_on(bench_backend("PostgreSQL", &bin, &url, &o));
        psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
        result?;
        psql(&format!("CREATE DATABASE {name}"))?;
        let result = rt.block_on(sdk_progress(&bin, &url, o.seconds));
        psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
        result?;
    }
    if o.backend != "sqlite" {
        rt.block_on(bare_comparison(&bin, &o))?;
    }
    if let Some(baseline) = &o.baseline {
        rt.block_on(baseline_comparison(baseline, &bin, &o))?;
    }
    Ok(())
}
