//! The official `taskbadger` Python SDK and CLI (pinned in tests/compat/requirements.txt)
//! against the real server, on both backends.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::on_both_backends;
use reqwest::Method;

use crate::support::{Backend, Server, expect, python_venv, temp_dir};

/// The virtualenv (made once per run under target/) with the pinned SDK and CLI and the test
/// SMTP server.
pub fn venv() -> PathBuf {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| python_venv("taskbadger-venv", "compat/requirements.txt"))
        .clone()
}

async fn official_sdk_and_cli(backend: Backend) {
    let venv = venv();
    let s = Server::start(backend).await;
    s.add_webhook("hook-1", "https://hooks.example.com/1").await;
    let home = temp_dir();
    let path = format!(
        "{}:{}",
        venv.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let monitor = expect(
        s.req(Method::POST, &s.url("/api/default/default/monitors/"))
            .json(&serde_json::json!({"name": "compat", "kind": "interval", "interval": 3600}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let monitor_id = monitor["id"].as_str().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("compat/sdk_compat.py");
    let out = Command::new(venv.join("bin/python"))
        .arg(script)
        .env("RATEL_MONITOR_ID", monitor_id)
        .env("TASKBADGER_HOST", &s.base)
        .env("TASKBADGER_API_KEY", &s.key)
        .env("HOME", &home.0)
        .env("PATH", path)
        .env("PYTHONWARNINGS", "ignore::DeprecationWarning")
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("all SDK and CLI checks passed"),
        "SDK compatibility failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    // The official CLI's and SDK's runs checked in: the monitor is up, the SDK's run last.
    let monitor = expect(
        s.req(
            Method::GET,
            &s.url(&format!("/api/default/default/monitors/{monitor_id}/")),
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(monitor["state"], "up", "{monitor}");
    let last = s.get_task(monitor["last_task"].as_str().unwrap()).await;
    assert_eq!(last["name"], "compat-sdk-monitored");
    assert_eq!(last["monitor"], monitor_id);
}

on_both_backends!(official_sdk_and_cli);
