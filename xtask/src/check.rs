//! `cargo xtask check`: the spec, the server and the client agree, or it says what differs and
//! which command fixes it.

use anyhow::Result;
use serde_json::Value;

use crate::{codegen, drift, spec};

/// The server's own document, as poem-openapi emits it (no database needed).
pub fn server_document() -> Value {
    serde_json::from_str(&ratel_server::http::api_service().spec())
        .expect("poem-openapi emits JSON")
}

/// Runs every part; returns whether all passed.
pub fn run() -> Result<bool> {
    let mut ok = true;
    let text = std::fs::read_to_string(spec::canonical_path())?;

    let problems = spec::check_document(&text);
    report(
        "1. openapi.yaml is valid OpenAPI 3.0.3 with valid refs and examples",
        &problems,
        "fix openapi.yaml",
    );
    ok &= problems.is_empty();

    let diffs = match spec::parse(&text) {
        Ok(doc) => drift::compare(&doc, &server_document()),
        Err(e) => vec![format!("{e:#}")],
    };
    report(
        "2. the server implements openapi.yaml",
        &diffs,
        "change the server (server/src/http) or openapi.yaml until they agree",
    );
    ok &= diffs.is_empty();

    match codegen::drift()? {
        None => println!("ok   3. the committed client matches a fresh generation"),
        Some(diff) => {
            ok = false;
            println!("FAIL 3. the committed client is stale; run `cargo xtask codegen`:\n{diff}");
        }
    }
    Ok(ok)
}

fn report(title: &str, problems: &[String], fix: &str) {
    if problems.is_empty() {
        println!("ok   {title}");
    } else {
        println!("FAIL {title} ({fix}):");
        for p in problems {
            println!("     {p}");
        }
    }
}
