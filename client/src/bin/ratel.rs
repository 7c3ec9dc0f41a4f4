//! `ratel`: the command-line client. Mirrors the official `taskbadger` CLI: `configure`,
//! `create`, `update`, `get`, `list`, and `run NAME [--monitor-id ID] -- CMD ARGS...`, which
//! wraps any command in a tracked task (a monitor's run with `--monitor-id`); beyond it,
//! `webhooks`, `deliveries` and `monitors`.
//!
//! Settings, highest precedence first: flags, the environment (`RATEL_*` or `TASKBADGER_*`),
//! the config file (`ratel configure` writes it). The API key is never a flag.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use ratel_client::generated::types::DeliveryStatusEnum;
use ratel_client::{
    Action, Client, Config, DeliveryFilter, Error, Field, ListFilter, NewMonitor, NewTask,
    NewWebhook, ProjectKey, Status, Task, TaskUpdate,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Parser)]
#[command(
    name = "ratel",
    version,
    about = "Track jobs in Ratel (or Task Badger)"
)]
struct Cli {
    /// Server base URL (else RATEL_HOST / TASKBADGER_HOST, else the config file).
    #[arg(long, global = true)]
    host: Option<String>,
    /// Organization slug, when the key does not name it.
    #[arg(long, global = true)]
    org: Option<String>,
    /// Project slug, when the key does not name it.
    #[arg(long, global = true)]
    project: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Save the host and API key (read from a prompt, or from stdin when piped).
    Configure,
    /// Create a task and print its id.
    Create {
        name: String,
        #[command(flatten)]
        fields: Fields,
    },
    /// Update a task.
    Update {
        id: String,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        fields: Fields,
    },
    /// Print a task as JSON.
    Get { id: String },
    /// List tasks, newest first.
    List {
        /// At most this many tasks.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Only these statuses.
        #[arg(long)]
        status: Vec<String>,
        /// Only this name.
        #[arg(long)]
        name: Option<String>,
        /// Print JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Run a command as a tracked task: success on exit code 0, error otherwise.
    Run {
        /// The task's name.
        name: String,
        /// An action: "TRIGGER INTEGRATION [key:value,...]", e.g. "error email to:me@x.com".
        #[arg(long = "action", short = 'a')]
        actions: Vec<String>,
        /// Seconds between heartbeats while the command runs.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
        update_frequency: u64,
        /// Check in to this monitor (its UUID): the task is one of its runs.
        #[arg(long)]
        monitor_id: Option<String>,
        /// The command and its arguments.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Web hook endpoints (the `webhook:<slug>` of actions).
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// The delivery log: every event sent through an integration.
    #[command(subcommand)]
    Deliveries(DeliveriesCommand),
    /// Monitors: the expectation that a scheduled job runs.
    #[command(subcommand)]
    Monitors(MonitorsCommand),
}

#[derive(Subcommand)]
enum MonitorsCommand {
    /// Add a monitor (one of --interval or --cron); prints its id.
    Create {
        name: String,
        /// Expect a run within this many seconds after the previous one started.
        #[arg(long, conflicts_with = "cron", required_unless_present = "cron")]
        interval: Option<u32>,
        /// Expect a run at each time of this five-field cron schedule.
        #[arg(long)]
        cron: Option<String>,
        /// The IANA time zone of the cron schedule (default UTC).
        #[arg(long, requires = "cron")]
        timezone: Option<String>,
        /// Seconds a run may be late before the monitor is down (default 300).
        #[arg(long)]
        grace: Option<u32>,
        /// Seconds a run may take before it counts as failed.
        #[arg(long)]
        max_runtime: Option<u32>,
        /// Where its events go: email or webhook:<slug>.
        #[arg(long)]
        alert: Option<String>,
        /// The addresses of an email alert (comma-separated).
        #[arg(long, requires = "alert")]
        alert_to: Option<String>,
    },
    /// List the project's monitors.
    List,
    /// Print a monitor as JSON.
    Show { id: String },
    /// Pause a monitor: its runs are still linked, and nothing is expected or sent.
    Pause { id: String },
    /// Resume a paused monitor (it expects nothing until its next run).
    Resume { id: String },
}

#[derive(Subcommand)]
enum WebhooksCommand {
    /// Register an endpoint; prints its signing secret (shown only once) as the last line.
    Create {
        slug: String,
        url: String,
        #[arg(long)]
        description: Option<String>,
    },
    /// List the project's endpoints.
    List,
    /// Replace an endpoint's signing secret (the old one keeps signing for 24 hours); prints
    /// the new one.
    RotateSecret { slug: String },
}

#[derive(Subcommand)]
enum DeliveriesCommand {
    /// List deliveries, newest first.
    List {
        /// Only this task's.
        #[arg(long)]
        task: Option<String>,
        /// Only pending, delivered or failed ones.
        #[arg(long)]
        status: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Print a delivery and its attempts as JSON.
    Show { id: String },
    /// Queue a delivery again, due now.
    Retry { id: String },
}

#[derive(Args)]
struct Fields {
    /// Status (pending, pre_processing, processing, post_processing, success, error, cancelled).
    #[arg(long)]
    status: Option<String>,
    /// Progress value.
    #[arg(long)]
    value: Option<i64>,
    /// The value at which the task is complete.
    #[arg(long)]
    value_max: Option<i64>,
    /// JSON data.
    #[arg(long)]
    data: Option<String>,
    /// A tag, namespace=value (repeatable).
    #[arg(long = "tag")]
    tags: Vec<String>,
    /// An action, as for `run` (repeatable).
    #[arg(long = "action", short = 'a')]
    actions: Vec<String>,
}

/// The config file.
#[derive(Default, Serialize, Deserialize)]
struct FileConfig {
    host: Option<String>,
    key: Option<String>,
    org: Option<String>,
    project: Option<String>,
}

fn config_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("RATEL_CONFIG") {
        return Some(PathBuf::from(p));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("ratel").join("config.toml"))
}

fn read_file_config() -> Result<FileConfig, Error> {
    let Some(path) = config_path() else {
        return Ok(FileConfig::default());
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
        }
        Err(_) => Ok(FileConfig::default()),
    }
}

fn client(cli: &Cli) -> Result<Client, Error> {
    let file = read_file_config()?;
    let fallback = match (&file.host, &file.key) {
        (Some(host), Some(key)) => Some(match ProjectKey::parse(key) {
            Some(_) => Config::new(host.clone(), key)?,
            None => Config::with_parts(
                host.clone(),
                file.org.clone().unwrap_or_default(),
                file.project.clone().unwrap_or_default(),
                key.clone(),
            ),
        }),
        _ => None,
    };
    let config = Config::resolve(
        cli.host.clone(),
        None,
        cli.org.clone(),
        cli.project.clone(),
        fallback.as_ref(),
    )?;
    Client::new(config)
}

fn parse_status(s: &str) -> Result<Status, Error> {
    serde_json::from_value(Value::String(s.to_owned()))
        .map_err(|_| Error::Config(format!("unknown status {s:?}")))
}

/// `"TRIGGER INTEGRATION [key:value,...]"`, as the official CLI takes it.
fn parse_action(spec: &str) -> Result<Action, Error> {
    let parts: Vec<&str> = spec.split_whitespace().collect();
    let (trigger, integration, config) = match parts.as_slice() {
        [t, i] => (*t, *i, None),
        [t, i, c] => (*t, *i, Some(*c)),
        _ => {
            return Err(Error::Config(format!(
                "action {spec:?}: expected \"TRIGGER INTEGRATION [key:value,...]\""
            )));
        }
    };
    let config = config.map(|c| {
        let map: serde_json::Map<String, Value> = c
            .split(',')
            .filter_map(|kv| kv.split_once(':'))
            .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
            .collect();
        Value::Object(map)
    });
    Ok(Action {
        trigger: trigger.to_owned(),
        integration: integration.to_owned(),
        config,
    })
}

fn parse_tags(tags: &[String]) -> Result<BTreeMap<String, String>, Error> {
    tags.iter()
        .map(|t| {
            t.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| Error::Config(format!("tag {t:?}: expected namespace=value")))
        })
        .collect()
}

fn parse_data(data: &Option<String>) -> Result<Option<Value>, Error> {
    data.as_deref()
        .map(|d| serde_json::from_str(d).map_err(|e| Error::Config(format!("--data: {e}"))))
        .transpose()
}

fn print_json(task: &Task) {
    println!(
        "{}",
        serde_json::to_string_pretty(task.data()).unwrap_or_default()
    );
}

async fn configure() -> Result<(), Error> {
    let path =
        config_path().ok_or_else(|| Error::Config("no HOME to keep the config in".into()))?;
    let mut file = read_file_config()?;
    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal();
    let ask = |prompt: &str| -> Result<String, Error> {
        if interactive {
            eprint!("{prompt}: ");
            let _ = std::io::stderr().flush();
        }
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| Error::Config(e.to_string()))?;
        Ok(line.trim().to_owned())
    };
    let host = ask("Host (e.g. http://127.0.0.1:8000)")?;
    let key = ask("API key")?;
    if key.is_empty() {
        return Err(Error::Config("no API key given".into()));
    }
    if !host.is_empty() {
        file.host = Some(host);
    }
    if ProjectKey::parse(&key).is_none() && (file.org.is_none() || file.project.is_none()) {
        file.org = Some(ask("Organization slug")?);
        file.project = Some(ask("Project slug")?);
    }
    file.key = Some(key);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::Config(e.to_string()))?;
    }
    let text = toml::to_string(&file).map_err(|e| Error::Config(e.to_string()))?;
    write_private(&path, &text).map_err(|e| Error::Config(e.to_string()))?;
    eprintln!("saved {}", path.display());
    Ok(())
}

#[cfg(unix)]
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

/// Runs the command; returns the exit code `ratel` itself should end with.
async fn run(
    client: Client,
    name: String,
    actions: Vec<String>,
    frequency: u64,
    monitor: Option<String>,
    command: Vec<String>,
) -> Result<u8, Error> {
    let mut new = NewTask::new(name)
        .status(Status::Processing)
        .stale_timeout(u32::try_from(frequency * 2).unwrap_or(u32::MAX));
    for a in &actions {
        new = new.action(parse_action(a)?);
    }
    if let Some(monitor) = monitor {
        new = new.monitor(monitor);
    }
    let mut task = match Task::create(&client, new).await {
        Ok(task) => Some(task),
        Err(e) => {
            eprintln!("ratel: could not create the task ({e}); running the command untracked");
            None
        }
    };
    let mut child = tokio::process::Command::new(&command[0])
        .args(&command[1..])
        .spawn()
        .map_err(|e| Error::Config(format!("cannot run {:?}: {e}", command[0])))?;
    let mut ticker = tokio::time::interval(Duration::from_secs(frequency));
    ticker.tick().await;
    let status = loop {
        tokio::select! {
            status = child.wait() => break status.map_err(|e| Error::Config(e.to_string()))?,
            _ = ticker.tick() => {
                if let Some(task) = task.as_mut()
                    && let Err(e) = task.ping().await
                {
                    eprintln!("ratel: heartbeat failed: {e}");
                }
            }
        }
    };
    let (return_code, exit) = match status.code() {
        Some(code) => (i64::from(code), u8::try_from(code).unwrap_or(1)),
        None => {
            #[cfg(unix)]
            let signal = std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(0);
            #[cfg(not(unix))]
            let signal = 0;
            // Python reports a signal as a negative return code; shells exit 128 + signal.
            (
                -i64::from(signal),
                u8::try_from(128 + signal).unwrap_or(255),
            )
        }
    };
    if let Some(task) = task.as_mut() {
        let result = if return_code == 0 {
            task.success().await
        } else {
            task.error(Some(serde_json::json!({ "return_code": return_code })))
                .await
        };
        if let Err(e) = result {
            eprintln!("ratel: could not record the result: {e}");
        }
    }
    Ok(exit)
}

async fn execute(cli: Cli) -> Result<u8, Error> {
    match &cli.command {
        Command::Configure => configure().await.map(|()| 0),
        Command::Create { name, fields } => {
            let client = client(&cli)?;
            let mut new = NewTask::new(name.clone());
            if let Some(s) = &fields.status {
                new = new.status(parse_status(s)?);
            }
            if let Some(v) = fields.value {
                new = new.value(v);
            }
            if let Some(v) = fields.value_max {
                new = new.value_max(v);
            }
            if let Some(d) = parse_data(&fields.data)? {
                new = new.data(d);
            }
            new = new.tags(parse_tags(&fields.tags)?);
            for a in &fields.actions {
                new = new.action(parse_action(a)?);
            }
            let task = client.create(new).await?;
            println!("{}", task.id());
            Ok(0)
        }
        Command::Update { id, name, fields } => {
            let client = client(&cli)?;
            let mut task = client.get(id).await?;
            let update = TaskUpdate {
                name: name.clone(),
                status: fields.status.as_deref().map(parse_status).transpose()?,
                value: fields.value.map_or(Field::Unchanged, Field::Set),
                value_max: fields.value_max,
                data: parse_data(&fields.data)?.map_or(Field::Unchanged, Field::Set),
                tags: parse_tags(&fields.tags)?,
                actions: fields
                    .actions
                    .iter()
                    .map(|a| parse_action(a))
                    .collect::<Result<_, _>>()?,
                ..TaskUpdate::default()
            };
            task.update(update).await?;
            print_json(&task);
            Ok(0)
        }
        Command::Get { id } => {
            let task = client(&cli)?.get(id).await?;
            print_json(&task);
            Ok(0)
        }
        Command::List {
            limit,
            status,
            name,
            json,
        } => {
            let client = client(&cli)?;
            let filter = ListFilter {
                page_size: Some((*limit).clamp(1, 1000) as u64),
                status: status
                    .iter()
                    .map(|s| parse_status(s))
                    .collect::<Result<_, _>>()?,
                name: name.clone(),
                ..ListFilter::default()
            };
            let mut pager = client.list(filter);
            let mut shown = 0;
            while shown < *limit {
                let Some(task) = pager.next().await? else {
                    break;
                };
                let d = task.data();
                if *json {
                    println!("{}", serde_json::to_string(d).unwrap_or_default());
                } else {
                    let pct = d.value_percent.map_or("-".to_owned(), |p| format!("{p}%"));
                    println!(
                        "{}  {:<15}  {:>5}  {}",
                        d.id,
                        d.status.to_string(),
                        pct,
                        d.name.as_str()
                    );
                }
                shown += 1;
            }
            Ok(0)
        }
        Command::Run {
            name,
            actions,
            update_frequency,
            monitor_id,
            command,
        } => {
            let client = client(&cli)?;
            run(
                client,
                name.clone(),
                actions.clone(),
                *update_frequency,
                monitor_id.clone(),
                command.clone(),
            )
            .await
        }
        Command::Webhooks(command) => webhooks(client(&cli)?, command).await,
        Command::Deliveries(command) => deliveries(client(&cli)?, command).await,
        Command::Monitors(command) => monitors(client(&cli)?, command).await,
    }
}

async fn monitors(client: Client, command: &MonitorsCommand) -> Result<u8, Error> {
    let show = |m: &ratel_client::generated::types::Monitor| {
        println!("{}", serde_json::to_string_pretty(m).unwrap_or_default());
    };
    match command {
        MonitorsCommand::Create {
            name,
            interval,
            cron,
            timezone,
            grace,
            max_runtime,
            alert,
            alert_to,
        } => {
            let mut new = match (interval, cron) {
                (Some(secs), _) => NewMonitor::interval(name.clone(), *secs),
                (None, Some(schedule)) => NewMonitor::cron(name.clone(), schedule.clone()),
                (None, None) => return Err(Error::Config("give --interval or --cron".into())),
            };
            if let Some(tz) = timezone {
                new = new.timezone(tz.clone());
            }
            if let Some(grace) = grace {
                new = new.grace(*grace);
            }
            if let Some(max) = max_runtime {
                new = new.max_runtime(*max);
            }
            if let Some(integration) = alert {
                let config = alert_to.as_ref().map(|to| serde_json::json!({ "to": to }));
                new = new.alert(integration.clone(), config);
            }
            println!("{}", client.create_monitor(new).await?.id);
        }
        MonitorsCommand::List => {
            for m in client.monitors().await? {
                let expects = match (&m.interval, &m.schedule) {
                    (Some(secs), _) => format!("every {secs}s"),
                    (_, Some(schedule)) => format!("{} {}", schedule.as_str(), m.timezone.as_str()),
                    _ => "-".to_owned(),
                };
                let next = m
                    .next_expected_at
                    .map_or("-".to_owned(), |t| t.to_rfc3339());
                println!(
                    "{}  {:<7}  {:<24}  {:<32}  {}",
                    m.id,
                    m.state.to_string(),
                    expects,
                    next,
                    m.name.as_str()
                );
            }
        }
        MonitorsCommand::Show { id } => show(&client.monitor(id).await?),
        MonitorsCommand::Pause { id } => show(&client.set_monitor_enabled(id, false).await?),
        MonitorsCommand::Resume { id } => show(&client.set_monitor_enabled(id, true).await?),
    }
    Ok(0)
}

async fn webhooks(client: Client, command: &WebhooksCommand) -> Result<u8, Error> {
    match command {
        WebhooksCommand::Create {
            slug,
            url,
            description,
        } => {
            let mut new = NewWebhook::new(slug.clone(), url.clone());
            if let Some(d) = description {
                new = new.description(d.clone());
            }
            let hook = client.create_webhook(new).await?;
            println!(
                "created web hook {} ({}); its secret is shown only once:",
                hook.slug.as_str(),
                hook.url.as_str()
            );
            println!("{}", hook.secret);
        }
        WebhooksCommand::List => {
            for hook in client.webhooks().await? {
                println!(
                    "{:<20}  {:<8}  {}",
                    hook.slug.as_str(),
                    if hook.enabled { "enabled" } else { "disabled" },
                    hook.url.as_str()
                );
            }
        }
        WebhooksCommand::RotateSecret { slug } => {
            println!("{}", client.rotate_webhook_secret(slug).await?);
        }
    }
    Ok(0)
}

async fn deliveries(client: Client, command: &DeliveriesCommand) -> Result<u8, Error> {
    match command {
        DeliveriesCommand::List {
            task,
            status,
            limit,
        } => {
            let status = status
                .as_deref()
                .map(|s| {
                    s.parse::<DeliveryStatusEnum>().map_err(|_| {
                        Error::Config(format!("\"{s}\" is not pending, delivered or failed"))
                    })
                })
                .transpose()?;
            let filter = DeliveryFilter {
                task: task.clone(),
                status,
            };
            let (mut shown, mut cursor) = (0, None);
            'pages: loop {
                let (rows, next) = client.deliveries(&filter, cursor.as_deref()).await?;
                for d in rows {
                    if shown == *limit {
                        break 'pages;
                    }
                    println!(
                        "{}  {:<9}  {:>2}  {:<20}  {:<24}  {}",
                        d.id,
                        d.status.to_string(),
                        d.attempt_count,
                        d.integration,
                        d.trigger,
                        d.last_error.as_deref().unwrap_or("")
                    );
                    shown += 1;
                }
                match next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
        }
        DeliveriesCommand::Show { id } => println!(
            "{}",
            serde_json::to_string_pretty(&client.delivery(id).await?).unwrap_or_default()
        ),
        DeliveriesCommand::Retry { id } => {
            let d = client.retry_delivery(id).await?;
            println!("{} is {} again", d.id, d.status);
        }
    }
    Ok(0)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ratel: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(execute(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("ratel: {e}");
            ExitCode::FAILURE
        }
    }
}
