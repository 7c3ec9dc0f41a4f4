//! A kill -9 under load: writers create tasks and PATCH their values upward as fast as the
//! server answers; the process is killed at a random moment and restarted on the same
//! database. Every acknowledged create is there with at least its acknowledged value, and
//! nothing was invented (no task, no value that was never sent).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{Backend, Server, expect};

const WRITERS: usize = 16;
/// Each task is created at value 0, then PATCHed to 1, 2, ... up to this.
const STEPS: i64 = 5;

/// What one writer was told: per task name, the highest value acknowledged (None: the create
/// was sent but never answered) and the highest value sent.
#[derive(Default)]
struct Ledger {
    acked: HashMap<String, Option<i64>>,
    sent: HashMap<String, i64>,
    ids: HashMap<String, String>,
}

async fn writer(n: usize, base: String, key: String, ledger: Arc<Mutex<Ledger>>) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    for k in 0.. {
        let name = format!("w{n}-{k}");
        ledger.lock().unwrap().sent.insert(name.clone(), 0);
        let resp = client
            .post(format!("{base}/api/default/default/tasks/"))
            .bearer_auth(&key)
            .json(&json!({"name": name, "value": 0, "external_id": name}))
            .send()
            .await;
        let Ok(resp) = resp else { return };
        if resp.status().as_u16() != 201 {
            return;
        }
        let Ok(task) = resp.json::<Value>().await else {
            return;
        };
        let id = task["id"].as_str().unwrap().to_owned();
        {
            let mut l = ledger.lock().unwrap();
            l.acked.insert(name.clone(), Some(0));
            l.ids.insert(name.clone(), id.clone());
        }
        for value in 1..=STEPS {
            ledger.lock().unwrap().sent.insert(name.clone(), value);
            let resp = client
                .patch(format!("{base}/api/default/default/tasks/{id}/"))
                .bearer_auth(&key)
                .json(&json!({"value": value}))
                .send()
                .await;
            match resp {
                Ok(r) if r.status().as_u16() == 200 => {
                    ledger
                        .lock()
                        .unwrap()
                        .acked
                        .insert(name.clone(), Some(value));
                }
                _ => return,
            }
        }
    }
}

fn acknowledged(ledger: &Mutex<Ledger>) -> usize {
    let l = ledger.lock().unwrap();
    l.acked.values().filter(|v| v.is_some()).count()
}

/// Every task of the default project, by name: (id, value).
async fn all_tasks(s: &Server) -> HashMap<String, (String, Option<i64>)> {
    let mut tasks = HashMap::new();
    let mut next = Some(s.url("/api/default/default/tasks/?page_size=100"));
    while let Some(url) = next {
        let page = expect(s.req(Method::GET, &url).send().await.unwrap(), 200).await;
        for t in page["results"].as_array().unwrap() {
            let name = t["name"].as_str().unwrap().to_owned();
            let id = t["id"].as_str().unwrap().to_owned();
            tasks.insert(name, (id, t["value"].as_i64()));
        }
        next = page["next"].as_str().map(str::to_owned);
    }
    tasks
}

async fn kill9_under_load_loses_nothing_acknowledged(backend: Backend) {
    let s = Server::start(backend).await;
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let writers: Vec<_> = (0..WRITERS)
        .map(|n| tokio::spawn(writer(n, s.base.clone(), s.key.clone(), ledger.clone())))
        .collect();
    // The kill comes once every writer could have had a create acknowledged (a loaded CI
    // machine can take longer than any fixed delay to get there), then after a random extra
    // 0 to 1 s of load (printed, to replay a failure).
    let started = tokio::time::Instant::now();
    while acknowledged(&ledger) < WRITERS {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the load never started: {} creates acknowledged in 60 s",
            acknowledged(&ledger)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let delay = Duration::from_millis(u64::from(nanos % 1000));
    println!("killing the server {delay:?} after the first {WRITERS} creates were acknowledged");
    tokio::time::sleep(delay).await;
    let key = s.key.clone();
    let db = s.kill9();
    for w in writers {
        w.await.unwrap();
    }
    let mut s = Server::start_on(db, &[]);
    s.key = key;
    let found = all_tasks(&s).await;
    let ledger = std::mem::take(&mut *ledger.lock().unwrap());
    let acked: Vec<_> = ledger.acked.iter().filter(|(_, v)| v.is_some()).collect();
    println!(
        "{} creates acknowledged, {} sent; {} found after the restart",
        acked.len(),
        ledger.sent.len(),
        found.len()
    );
    for (name, value) in &acked {
        let (id, stored) = found
            .get(*name)
            .unwrap_or_else(|| panic!("acknowledged task {name} is lost"));
        assert_eq!(Some(id), ledger.ids.get(*name), "{name} kept its id");
        assert!(
            stored.unwrap_or(-1) >= value.unwrap(),
            "{name}: acknowledged value {value:?}, stored {stored:?}"
        );
    }
    for (name, (_, stored)) in &found {
        let sent = ledger
            .sent
            .get(name)
            .unwrap_or_else(|| panic!("task {name} was never sent"));
        assert!(
            stored.unwrap_or(0) <= *sent,
            "{name}: stored {stored:?}, never sent above {sent}"
        );
    }
    // The restarted server goes on taking writes on the same database.
    s.create(json!({"name": "after the crash"})).await;
}

on_both_backends!(kill9_under_load_loses_nothing_acknowledged);
