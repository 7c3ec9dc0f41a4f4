//! Schema conformance: schemathesis (pinned in tests/conformance/requirements.txt) generates
//! requests from the schema the server serves at /api/schema.json, valid and invalid, and
//! checks every response: no 5xx, the documented status codes, and bodies that match the
//! documented schemas. Bounded in time per store; zero failures.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use serde_json::json;

use crate::on_both_backends;
use crate::support::{Backend, Server, python_venv, temp_dir};

/// Seconds schemathesis may spend per store.
const BUDGET_SECS: &str = "60";

fn venv() -> PathBuf {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| python_venv("schemathesis-venv", "conformance/requirements.txt"))
        .clone()
}

async fn served_schema_conformance(backend: Backend) {
    let venv = venv();
    let s = Server::start(backend).await;
    // Something for the generated requests to find: a task with an action and a web hook.
    s.add_webhook("hook-1", "https://hooks.example.com/1").await;
    let seed = s
        .create(json!({"name": "seed", "value": 5, "tags": {"env": "ci"},
        "actions": [{"trigger": "error", "integration": "webhook:hook-1"}]}))
        .await;
    let config =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/schemathesis.toml");
    let home = temp_dir();
    let out = Command::new(venv.join("bin/st"))
        .arg("--config-file")
        .arg(&config)
        .args(["run", &s.url("/api/schema.json")])
        .args(["--url", &s.base])
        .args([
            "--checks",
            "not_a_server_error,response_schema_conformance,status_code_conformance",
        ])
        .args(["--max-time", BUDGET_SECS, "--workers", "2"])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--suppress-health-check", "all"])
        .args(["--header", &format!("Authorization: Bearer {}", s.key)])
        .args(["--generation-database", "none"])
        .args(["--seed", "20261203"])
        .env("RATEL_SEED_TASK", seed["id"].as_str().unwrap())
        // Its caches and reports stay in the test's own directory.
        .current_dir(&home.0)
        .env("HOME", &home.0)
        .env("SCHEMATHESIS_TELEMETRY", "false")
        .env("NO_COLOR", "1")
        .output()
        .expect("schemathesis runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The summary (operations, test cases, checks) stays in the test's output.
    println!("{stdout}");
    assert!(
        out.status.success(),
        "schemathesis found failures\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
}

on_both_backends!(served_schema_conformance);
