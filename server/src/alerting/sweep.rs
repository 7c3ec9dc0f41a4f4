//! The sweeps: tasks whose `stale_timeout` has passed since their last update become `stale`;
//! running tasks past their `max_runtime` fire `max_runtime_exceeded` once (their status is
//! unchanged); then the monitor sweep (`monitor_sweep`). The task sweeps find due tasks
//! through an index and flip each with a compare-and-set, so with several replicas exactly
//! one wins and exactly one event results.

use std::time::Duration;

use chrono::Utc;

use super::outbox::{record_change, wake};
use super::state::{prior_snapshot, snapshot};
use super::trigger::Change;
use crate::domain::tasks::now;
use crate::storage::sweeps::{Due, Sweep};
use crate::storage::tasks::ms;
use crate::storage::{StorageResult, Store};

/// Tasks flipped per query; more are taken on the next round at once.
const BATCH: u64 = 256;

pub async fn run(store: Store, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        for sweep in [Sweep::Stale, Sweep::MaxRuntime] {
            loop {
                match sweep_once(&store, sweep).await {
                    Ok((seen, queued)) => {
                        if queued > 0 {
                            wake(&store);
                        }
                        if seen < BATCH as usize {
                            break;
                        }
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, ?sweep, "sweep failed");
                        break;
                    }
                }
            }
        }
        loop {
            match super::monitor_sweep::sweep_once(&store).await {
                Ok((seen, queued)) => {
                    if queued > 0 {
                        wake(&store);
                    }
                    if seen < super::monitor_sweep::BATCH as usize {
                        break;
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, "monitor sweep failed");
                    break;
                }
            }
        }
    }
}

/// One round: the tasks due now, each flipped in its own transaction. Returns how many were
/// due and how many deliveries were queued.
pub async fn sweep_once(store: &Store, sweep: Sweep) -> StorageResult<(usize, usize)> {
    let due = store.due_tasks(sweep, ms(Utc::now()), BATCH).await?;
    let mut queued = 0;
    for d in &due {
        queued += flip(store, sweep, d).await?;
    }
    Ok((due.len(), queued))
}

async fn flip(store: &Store, sweep: Sweep, due: &Due) -> StorageResult<usize> {
    let at = now();
    let w = store.begin_write().await?;
    let Some(mut row) = store.flip_due(&w, sweep, due, at).await? else {
        return Ok(0);
    };
    let change = match sweep {
        Sweep::Stale => Change::Write {
            before: prior_snapshot(&row),
            after: snapshot(&row),
        },
        Sweep::MaxRuntime => Change::MaxRuntimeExceeded,
    };
    let (queued, _) = record_change(&w.txn, &mut row, change, at).await?;
    w.commit().await?;
    Ok(queued)
}
