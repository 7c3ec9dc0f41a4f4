//! Listing tasks: a pager that follows cursors to the end.

use std::collections::VecDeque;

use crate::generated::types;
use crate::{Client, Error, Status, Task};

/// Filters for [`Client::list`]; all given ones must match.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListFilter {
    /// Tasks per page (the server caps it at 1000).
    pub page_size: Option<u64>,
    /// Only these statuses.
    pub status: Vec<Status>,
    /// Only this name.
    pub name: Option<String>,
    /// Only the children of this task.
    pub parent: Option<String>,
    /// Only this external id.
    pub external_id: Option<String>,
    /// Only tasks with every one of these tags.
    pub tags: Vec<(String, String)>,
    /// Only tasks created at or after this instant.
    pub created_after: Option<chrono::DateTime<chrono::Utc>>,
    /// Only tasks created before this instant.
    pub created_before: Option<chrono::DateTime<chrono::Utc>>,
}

/// Tasks, newest first, fetched a page at a time.
///
/// ```no_run
/// # async fn demo(client: ratel_client::Client) -> Result<(), ratel_client::Error> {
/// let mut tasks = client.list(ratel_client::ListFilter::default());
/// while let Some(task) = tasks.next().await? {
///     println!("{} {:?}", task.id(), task.status());
/// }
/// # Ok(()) }
/// ```
pub struct TaskPager {
    client: Client,
    filter: ListFilter,
    cursor: Option<String>,
    buffer: VecDeque<types::Task>,
    done: bool,
}

pub(crate) fn cursor_of(url: &str) -> Option<String> {
    let url = reqwest::Url::parse(url).ok()?;
    url.query_pairs()
        .find(|(k, _)| k == "cursor")
        .map(|(_, v)| v.into_owned())
}

impl TaskPager {
    pub(crate) fn new(client: Client, filter: ListFilter) -> TaskPager {
        TaskPager {
            client,
            filter,
            cursor: None,
            buffer: VecDeque::new(),
            done: false,
        }
    }

    /// The next page, or `None` after the last one.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Task>>, Error> {
        if self.done {
            return Ok(None);
        }
        let client = &self.client;
        let f = &self.filter;
        let tags: Vec<String> = f.tags.iter().map(|(k, v)| format!("{k}:{v}")).collect();
        let page_size = f.page_size.and_then(std::num::NonZeroU64::new);
        let cursor = self.cursor.clone();
        let page = client
            .idempotent(|| async {
                Ok(client
                    .api()
                    .task_list(
                        client.org(),
                        client.project(),
                        f.created_after.as_ref(),
                        f.created_before.as_ref(),
                        cursor.as_deref(),
                        f.external_id.as_deref(),
                        f.name.as_deref(),
                        page_size,
                        f.parent.as_deref(),
                        (!f.status.is_empty()).then_some(&f.status),
                        (!tags.is_empty()).then_some(&tags),
                    )
                    .await?
                    .into_inner())
            })
            .await?;
        self.cursor = page.next.as_deref().and_then(cursor_of);
        self.done = self.cursor.is_none();
        Ok(Some(
            page.results
                .into_iter()
                .map(|t| Task::from_data(&self.client, t))
                .collect(),
        ))
    }

    /// The next task, fetching pages as needed; `None` at the end.
    pub async fn next(&mut self) -> Result<Option<Task>, Error> {
        loop {
            if let Some(t) = self.buffer.pop_front() {
                return Ok(Some(Task::from_data(&self.client, t)));
            }
            match self.next_page().await? {
                Some(page) if !page.is_empty() => {
                    self.buffer
                        .extend(page.into_iter().map(|t| t.data().clone()));
                }
                Some(_) if !self.done => continue,
                _ => return Ok(None),
            }
        }
    }

    /// Every remaining task.
    pub async fn collect(mut self) -> Result<Vec<Task>, Error> {
        let mut out = Vec::new();
        while let Some(t) = self.next().await? {
            out.push(t);
        }
        Ok(out)
    }
}
