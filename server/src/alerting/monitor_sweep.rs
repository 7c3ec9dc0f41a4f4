//! The monitor sweep: monitors whose due time has come turn late, then down (firing
//! `monitor.missed`); monitored runs whose task ended, or outlived the monitor's
//! `max_runtime`, are concluded (firing `monitor.failed` or `monitor.recovered`). Each change
//! is one transaction holding the monitor's row lock and checking the revision the due query
//! saw, and each run is concluded by whoever deletes it, so several replicas sweeping at once
//! produce one state change and one event per transition.

use chrono::{DateTime, Utc};

use super::monitor::{Outcome, on_due, on_outcome};
use super::outbox::monitor_delivery;
use crate::domain::tasks::now;
use crate::storage::deliveries::insert_deliveries;
use crate::storage::entities::task;
use crate::storage::monitors::{
    EndedRun, RUN_ENDING_STATUSES, lock_monitor, save_monitor, take_monitor_run,
};
use crate::storage::tasks::ms;
use crate::storage::{StorageResult, Store};

/// Monitors (and runs) handled per query; more are taken on the next round at once.
pub const BATCH: u64 = 256;

/// One round: due monitors, then ended runs. Returns how many of each were seen (the larger)
/// and how many deliveries were queued.
pub async fn sweep_once(store: &Store) -> StorageResult<(usize, usize)> {
    let at = now();
    let mut queued = 0;
    let due = store.due_monitors(ms(at), BATCH).await?;
    for (id, revision) in &due {
        queued += flip(store, id, *revision, at).await?;
    }
    let runs = store.ended_runs(ms(at), BATCH).await?;
    for run in &runs {
        queued += conclude(store, run, at).await?;
    }
    Ok((due.len().max(runs.len()), queued))
}

async fn flip(store: &Store, id: &str, revision: i64, at: DateTime<Utc>) -> StorageResult<usize> {
    let w = store.begin_write().await?;
    let Some(mut m) = lock_monitor(&w, id).await? else {
        return Ok(0);
    };
    if m.revision != revision {
        // Another replica or an edit got there first.
        return Ok(0);
    }
    let (changed, event) = on_due(&mut m, at);
    if !changed {
        return Ok(0);
    }
    m.updated = at;
    let m = save_monitor(&w, m).await?;
    let delivery = event.and_then(|e| monitor_delivery(&m, e, None, at));
    let queued = usize::from(delivery.is_some());
    insert_deliveries(&w.txn, delivery.into_iter().collect()).await?;
    w.commit().await?;
    Ok(queued)
}

/// Whether a run outlived its deadline: ended after it, or still running at `at` past it.
fn overran(run: &EndedRun, task: Option<&task::Model>, at: DateTime<Utc>) -> bool {
    let (Some(deadline), Some(task)) = (run.deadline_ms, task) else {
        return false;
    };
    let ended_at = if RUN_ENDING_STATUSES.contains(&task.status.as_str()) {
        task.end_time.unwrap_or(task.updated)
    } else {
        at
    };
    ms(ended_at) > deadline
}

async fn conclude(store: &Store, run: &EndedRun, at: DateTime<Utc>) -> StorageResult<usize> {
    let w = store.begin_write().await?;
    if !take_monitor_run(&w, &run.task_id).await? {
        return Ok(0);
    }
    let Some(mut m) = lock_monitor(&w, &run.monitor_id).await? else {
        w.commit().await?;
        return Ok(0);
    };
    let task = run.task.as_ref();
    let ended = task
        .map(|t| t.status.as_str())
        .filter(|s| RUN_ENDING_STATUSES.contains(s));
    let outcome = Outcome::of(ended, overran(run, task, at));
    let before = m.clone();
    let event = on_outcome(&mut m, outcome);
    let mut queued = 0;
    if m != before {
        m.updated = at;
        let m = save_monitor(&w, m).await?;
        let delivery = event.and_then(|e| monitor_delivery(&m, e, task, at));
        queued = usize::from(delivery.is_some());
        insert_deliveries(&w.txn, delivery.into_iter().collect()).await?;
    }
    w.commit().await?;
    Ok(queued)
}
