//! [`Client`]: the configured connection every SDK call goes through.

use std::future::Future;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};

use crate::generated;
use crate::{Config, Error};

/// How idempotent calls are retried after a 429, a 503 or a connection failure: exponential
/// backoff with jitter between `min_delay` and `max_delay`, at most `max_retries` times, and
/// never sooner than the server's `Retry-After`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 disables retrying).
    pub max_retries: usize,
    /// First backoff delay.
    pub min_delay: Duration,
    /// Largest backoff delay (a longer `Retry-After` is still honoured).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
        }
    }
}

/// A connection to a Ratel (or Task Badger) server for one project. Cheap to clone.
///
/// ```no_run
/// # async fn demo() -> Result<(), ratel_client::Error> {
/// let client = ratel_client::Client::from_env()?; // TASKBADGER_HOST, TASKBADGER_API_KEY
/// let mut task = client.create(ratel_client::NewTask::new("nightly-export")).await?;
/// task.success().await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    api: generated::Client,
    http: reqwest::Client,
    config: Config,
    retry: RetryPolicy,
}

impl Client {
    /// A client for the given settings.
    pub fn new(config: Config) -> Result<Client, Error> {
        let mut headers = HeaderMap::new();
        let auth = HeaderValue::from_str(&format!("Bearer {}", config.token))
            .map_err(|_| Error::Config("the token is not a valid header value".into()))?;
        headers.insert(AUTHORIZATION, auth);
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(Client {
            api: generated::Client::new_with_client(&config.base_url, http.clone()),
            http,
            config,
            retry: RetryPolicy::default(),
        })
    }

    /// A client configured from the environment (see [`Config::from_env`]).
    pub fn from_env() -> Result<Client, Error> {
        Client::new(Config::from_env()?)
    }

    /// Replaces the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Client {
        self.retry = retry;
        self
    }

    /// The settings in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The generated low-level client, for anything the SDK does not wrap.
    pub fn api(&self) -> &generated::Client {
        &self.api
    }

    pub(crate) fn org(&self) -> &str {
        &self.config.organization
    }

    pub(crate) fn project(&self) -> &str {
        &self.config.project
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub(crate) fn task_url(&self, id: &str) -> String {
        format!(
            "{}/api/{}/{}/tasks/{}/",
            self.config.base_url, self.config.organization, self.config.project, id
        )
    }

    /// Runs an idempotent call, retrying transient failures per the policy.
    pub(crate) async fn idempotent<T, F, Fut>(&self, call: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.retry.min_delay)
            .with_max_delay(self.retry.max_delay)
            .with_max_times(self.retry.max_retries)
            .with_jitter();
        call.retry(backoff)
            .when(Error::is_transient)
            .adjust(|err, delay| delay.map(|d| err.retry_after().map_or(d, |r| r.max(d))))
            .await
    }
}
