//! The `ratel` CLI against the real server.

use std::process::{Command, Output};

use ratel_client::{ListFilter, Status};

use crate::on_both_backends;
use crate::support::{Backend, Server, cli_bin, temp_dir};

pub fn ratel(s: &Server, home: &std::path::Path, args: &[&str]) -> Output {
    Command::new(cli_bin())
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("TASKBADGER_HOST", &s.base)
        .env("TASKBADGER_API_KEY", &s.key)
        .output()
        .expect("ratel runs")
}

async fn find(s: &Server, name: &str) -> ratel_client::Task {
    s.sdk()
        .list(ListFilter {
            name: Some(name.into()),
            ..ListFilter::default()
        })
        .collect()
        .await
        .unwrap()
        .remove(0)
}

async fn run_wraps_a_command(backend: Backend) {
    let s = Server::start(backend).await;
    let home = temp_dir();
    let ok = ratel(&s, &home.0, &["run", "cli-ok", "--", "true"]);
    assert_eq!(ok.status.code(), Some(0));
    assert_eq!(find(&s, "cli-ok").await.status(), Status::Success);

    let three = ratel(
        &s,
        &home.0,
        &[
            "run",
            "cli-three",
            "--action",
            "error email to:ops@example.com",
            "--",
            "sh",
            "-c",
            "exit 3",
        ],
    );
    assert_eq!(three.status.code(), Some(3), "the command's own exit code");
    let t = find(&s, "cli-three").await;
    assert_eq!(t.status(), Status::Error);
    assert_eq!(t.data().data.as_ref().unwrap()["return_code"], 3);
    let actions = s
        .sdk()
        .api()
        .action_list("default", "default", t.id())
        .await
        .unwrap();
    assert_eq!(actions.into_inner().len(), 1);

    let killed = ratel(
        &s,
        &home.0,
        &["run", "cli-signal", "--", "sh", "-c", "kill -TERM $$"],
    );
    assert_eq!(
        killed.status.code(),
        Some(143),
        "128 + SIGTERM, as a shell reports it"
    );
    let t = find(&s, "cli-signal").await;
    assert_eq!(t.status(), Status::Error);
    assert_eq!(t.data().data.as_ref().unwrap()["return_code"], -15);
}

async fn create_update_get_list(backend: Backend) {
    let s = Server::start(backend).await;
    let home = temp_dir();
    let out = ratel(
        &s,
        &home.0,
        &[
            "create",
            "cli-task",
            "--value-max",
            "50",
            "--tag",
            "env=ci",
            "--data",
            "{\"a\":1}",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let out = ratel(
        &s,
        &home.0,
        &["update", &id, "--status", "processing", "--value", "25"],
    );
    assert!(out.status.success());
    let out = ratel(&s, &home.0, &["get", &id]);
    let task: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(task["value_percent"], 50);
    assert_eq!(task["tags"]["env"], "ci");
    let out = ratel(&s, &home.0, &["list", "--json"]);
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["id"], id.as_str());
    // Refusals: a clear one-line error and a non-zero exit.
    let out = ratel(&s, &home.0, &["update", &id, "--value-max=-5"]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("value_max"), "{err}");
}

async fn configure_and_precedence(backend: Backend) {
    let s = Server::start(backend).await;
    let home = temp_dir();
    // configure reads the host and key from stdin and writes the config file.
    let mut child = Command::new(cli_bin())
        .arg("configure")
        .env_clear()
        .env("HOME", &home.0)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    writeln!(child.stdin.take().unwrap(), "{}\n{}", s.base, s.key).unwrap();
    assert!(child.wait().unwrap().success());
    let config = std::fs::read_to_string(home.0.join(".config/ratel/config.toml")).unwrap();
    assert!(config.contains(&s.base));
    let only_file = |args: &[&str], env: &[(&str, &str)]| {
        Command::new(cli_bin())
            .args(args)
            .env_clear()
            .env("HOME", &home.0)
            .envs(env.iter().copied())
            .output()
            .unwrap()
    };
    // The file alone works.
    assert!(only_file(&["list"], &[]).status.success());
    // The environment beats the file: a wrong host in the environment fails...
    assert!(
        !only_file(&["list"], &[("RATEL_HOST", "http://127.0.0.1:9")])
            .status
            .success()
    );
    // ...and a flag beats the environment.
    assert!(
        only_file(
            &["--host", &s.base, "list"],
            &[("RATEL_HOST", "http://127.0.0.1:9")]
        )
        .status
        .success()
    );
}

/// `ratel monitors create|list|show|pause|resume`, and `ratel run --monitor-id`.
async fn monitors_and_monitored_runs(backend: Backend) {
    let s = Server::start(backend).await;
    let home = temp_dir();
    let text = |out: &Output| String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let out = ratel(
        &s,
        &home.0,
        &[
            "monitors",
            "create",
            "nightly",
            "--cron",
            "30 2 * * *",
            "--timezone",
            "Europe/Stockholm",
            "--grace",
            "600",
            "--max-runtime",
            "3600",
            "--alert",
            "email",
            "--alert-to",
            "ops@example.com",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let id = text(&out);
    let m = s.sdk().monitor(&id).await.unwrap();
    assert_eq!(
        (
            m.schedule.as_deref().map(|s| s.as_str()),
            m.timezone.as_str(),
            m.grace,
            m.max_runtime
        ),
        (Some("30 2 * * *"), "Europe/Stockholm", 600, Some(3600))
    );
    assert_eq!(m.alert_config["to"], "ops@example.com");
    let out = ratel(
        &s,
        &home.0,
        &["monitors", "create", "hourly", "--interval", "3600"],
    );
    assert!(out.status.success(), "{out:?}");
    let hourly = text(&out);
    // Neither or both of --interval and --cron: refused before anything is sent.
    let neither = ratel(&s, &home.0, &["monitors", "create", "bad"]);
    assert!(!neither.status.success());
    let both = ratel(
        &s,
        &home.0,
        &[
            "monitors",
            "create",
            "bad",
            "--interval",
            "60",
            "--cron",
            "* * * * *",
        ],
    );
    assert!(!both.status.success());
    // The server's refusals are reported with their field.
    let refused = ratel(
        &s,
        &home.0,
        &["monitors", "create", "bad", "--cron", "61 * * * *"],
    );
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("schedule"),
        "{refused:?}"
    );
    assert_eq!(s.sdk().monitors().await.unwrap().len(), 2);

    let list = text(&ratel(&s, &home.0, &["monitors", "list"]));
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "{list}");
    assert!(lines[0].starts_with(&id) && lines[0].contains("new") && lines[0].ends_with("nightly"));
    assert!(lines[1].contains("every 3600s"), "{list}");

    // A monitored run checks in: the monitor is up, with the run as its last task.
    let run = ratel(
        &s,
        &home.0,
        &["run", "hourly-job", "--monitor-id", &hourly, "--", "true"],
    );
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    let task = find(&s, "hourly-job").await;
    assert_eq!(task.data().monitor.as_deref(), Some(hourly.as_str()));
    let shown: serde_json::Value =
        serde_json::from_slice(&ratel(&s, &home.0, &["monitors", "show", &hourly]).stdout).unwrap();
    assert_eq!(shown["state"], "up");
    assert_eq!(shown["last_task"], task.id());

    let paused: serde_json::Value =
        serde_json::from_slice(&ratel(&s, &home.0, &["monitors", "pause", &hourly]).stdout)
            .unwrap();
    assert_eq!(paused["state"], "paused");
    let resumed: serde_json::Value =
        serde_json::from_slice(&ratel(&s, &home.0, &["monitors", "resume", &hourly]).stdout)
            .unwrap();
    assert_eq!(resumed["state"], "new");

    // An unknown monitor: the task is not created, and the command still runs untracked.
    let unknown = ratel(
        &s,
        &home.0,
        &[
            "run",
            "orphan",
            "--monitor-id",
            "6b1f2a52-3c7e-4f0b-9d7e-2f9c1e0a4b11",
            "--",
            "true",
        ],
    );
    assert_eq!(unknown.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("X-TASKBADGER-MONITOR"),
        "{unknown:?}"
    );
}

on_both_backends!(
    run_wraps_a_command,
    create_update_get_list,
    configure_and_precedence,
    monitors_and_monitored_runs
);
