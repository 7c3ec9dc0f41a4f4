//! The delivery log: every event's delivery through its integration, with its attempts, and
//! the manual retry.

use chrono::Utc;

use super::auth::ProjectScope;
use super::cursor;
use super::tasks::{self, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use super::{DomainError, DomainResult};
use crate::alerting::outbox::wake;
use crate::storage::Store;
use crate::storage::deliveries::DeliveryFilter;
use crate::storage::entities::{delivery, delivery_attempt};
use crate::storage::tasks::{Seek, ms};

pub struct DeliveryPage {
    pub deliveries: Vec<delivery::Model>,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub page_size: u64,
}

pub async fn list(
    store: &Store,
    scope: &ProjectScope,
    filter: DeliveryFilter,
    cursor: Option<String>,
    page_size: Option<u64>,
) -> DomainResult<DeliveryPage> {
    let page_size = page_size
        .unwrap_or(DEFAULT_PAGE_SIZE)
        .clamp(1, MAX_PAGE_SIZE);
    let seek = match &cursor {
        Some(c) => cursor::decode(c)?,
        None => Seek::First,
    };
    // A task filter that cannot be a task id, or a NUL in a filter, matches nothing.
    let impossible = filter
        .task
        .as_deref()
        .is_some_and(|t| tasks::known_id(t).is_err())
        || filter.status.as_deref().is_some_and(|s| s.contains('\0'));
    let (rows, more) = if impossible {
        (Vec::new(), false)
    } else {
        store
            .list_deliveries(scope.project_id, &filter, &seek, page_size)
            .await?
    };
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Ok(DeliveryPage {
            deliveries: rows,
            next: None,
            previous: None,
            page_size,
        });
    };
    let (first, last) = (first.id.clone(), last.id.clone());
    let (more_older, more_newer, ceiling) = match &seek {
        Seek::First => (more, false, first.clone()),
        Seek::Older { ceiling, .. } => (more, true, ceiling.clone()),
        Seek::Newer { ceiling, .. } => (true, more, ceiling.clone()),
    };
    let next = more_older.then(|| Seek::Older {
        anchor: last,
        ceiling: ceiling.clone(),
    });
    let previous = more_newer.then_some(Seek::Newer {
        anchor: first,
        ceiling,
    });
    Ok(DeliveryPage {
        deliveries: rows,
        next: next.as_ref().and_then(cursor::encode),
        previous: previous.as_ref().and_then(cursor::encode),
        page_size,
    })
}

pub async fn get(
    store: &Store,
    scope: &ProjectScope,
    id: &str,
) -> DomainResult<(delivery::Model, Vec<delivery_attempt::Model>)> {
    tasks::known_id(id)?;
    let row = store
        .get_delivery(scope.project_id, id)
        .await?
        .ok_or(DomainError::NotFound)?;
    let attempts = store.list_attempts(id).await?;
    Ok((row, attempts))
}

/// Queues a delivery again, due now, whatever its state.
pub async fn retry(store: &Store, scope: &ProjectScope, id: &str) -> DomainResult<delivery::Model> {
    tasks::known_id(id)?;
    let row = store
        .requeue_delivery(scope.project_id, id, ms(Utc::now()))
        .await?
        .ok_or(DomainError::NotFound)?;
    wake(store);
    Ok(row)
}
