//! Where the server is and which project to act on.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::Error;

/// Connection settings: a base URL, a project (organization and project slugs) and the token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Base URL of the server, e.g. `http://127.0.0.1:8000`.
    pub base_url: String,
    /// Organization slug.
    pub organization: String,
    /// Project slug.
    pub project: String,
    /// The bearer token: the secret part of a project key (or a legacy token).
    pub token: String,
}

/// The parts of a project key (`base64("org/project/secret")`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProjectKey {
    /// Organization slug.
    pub organization: String,
    /// Project slug.
    pub project: String,
    /// The secret sent as the bearer token.
    pub secret: String,
}

impl ProjectKey {
    /// Decodes a project key the way the official SDK does; `None` if `key` is not one.
    ///
    /// ```
    /// let key = ratel_client::ProjectKey::parse("YWNtZS9iaWxsaW5nL3MzY3JldA==").unwrap();
    /// assert_eq!(key.organization, "acme");
    /// assert_eq!(key.project, "billing");
    /// assert_eq!(key.secret, "s3cret");
    /// ```
    pub fn parse(key: &str) -> Option<ProjectKey> {
        let decoded = String::from_utf8(STANDARD.decode(key.trim()).ok()?).ok()?;
        let mut parts = decoded.split('/');
        let (org, project, secret) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || org.is_empty() || project.is_empty() || secret.is_empty() {
            return None;
        }
        Some(ProjectKey {
            organization: org.to_owned(),
            project: project.to_owned(),
            secret: secret.to_owned(),
        })
    }
}

/// The environment variables read by [`Config::from_env`], official SDK names first.
pub const ENV_HOST: [&str; 2] = ["RATEL_HOST", "TASKBADGER_HOST"];
/// API key variables.
pub const ENV_KEY: [&str; 2] = ["RATEL_API_KEY", "TASKBADGER_API_KEY"];
/// Organization variables.
pub const ENV_ORG: [&str; 2] = ["RATEL_ORG", "TASKBADGER_ORG"];
/// Project variables.
pub const ENV_PROJECT: [&str; 2] = ["RATEL_PROJECT", "TASKBADGER_PROJECT"];

fn env_first(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
}

impl Config {
    /// Settings from a base URL and a project key; the key names its organization and project.
    ///
    /// ```
    /// let cfg = ratel_client::Config::new("http://127.0.0.1:8000", "YWNtZS9iaWxsaW5nL3MzY3JldA==")?;
    /// assert_eq!((cfg.organization.as_str(), cfg.project.as_str()), ("acme", "billing"));
    /// assert_eq!(cfg.token, "s3cret");
    /// # Ok::<(), ratel_client::Error>(())
    /// ```
    pub fn new(base_url: impl Into<String>, key: &str) -> Result<Config, Error> {
        let key = ProjectKey::parse(key).ok_or_else(|| {
            Error::Config("not a project key (base64 of org/project/secret)".into())
        })?;
        Ok(Config {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            organization: key.organization,
            project: key.project,
            token: key.secret,
        })
    }

    /// Settings from explicit parts (for a legacy token that does not name its project).
    pub fn with_parts(
        base_url: impl Into<String>,
        organization: impl Into<String>,
        project: impl Into<String>,
        token: impl Into<String>,
    ) -> Config {
        Config {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            organization: organization.into(),
            project: project.into(),
            token: token.into(),
        }
    }

    /// Settings from the environment: `RATEL_HOST`/`TASKBADGER_HOST`,
    /// `RATEL_API_KEY`/`TASKBADGER_API_KEY`, and, when the key does not name them,
    /// `RATEL_ORG`/`TASKBADGER_ORG` and `RATEL_PROJECT`/`TASKBADGER_PROJECT`.
    pub fn from_env() -> Result<Config, Error> {
        Config::resolve(None, None, None, None, None)
    }

    /// Combines explicit values (for example command-line flags) with the environment and a
    /// fallback (for example a config file), in that order of precedence.
    pub fn resolve(
        host: Option<String>,
        key: Option<String>,
        organization: Option<String>,
        project: Option<String>,
        fallback: Option<&Config>,
    ) -> Result<Config, Error> {
        let host = host
            .or_else(|| env_first(&ENV_HOST))
            .or_else(|| fallback.map(|f| f.base_url.clone()))
            .ok_or_else(|| Error::Config("no server: set RATEL_HOST or TASKBADGER_HOST".into()))?;
        let explicit_key = key.or_else(|| env_first(&ENV_KEY));
        let (mut org, mut proj, token) = match explicit_key {
            Some(k) => match ProjectKey::parse(&k) {
                Some(pk) => (Some(pk.organization), Some(pk.project), pk.secret),
                None => (None, None, k),
            },
            None => {
                let f = fallback.ok_or_else(|| {
                    Error::Config("no API key: set RATEL_API_KEY or TASKBADGER_API_KEY".into())
                })?;
                (
                    Some(f.organization.clone()),
                    Some(f.project.clone()),
                    f.token.clone(),
                )
            }
        };
        org = organization.or(org).or_else(|| env_first(&ENV_ORG));
        proj = project.or(proj).or_else(|| env_first(&ENV_PROJECT));
        match (org, proj) {
            (Some(o), Some(p)) => Ok(Config::with_parts(host, o, p, token)),
            _ => Err(Error::Config(
                "the key does not name a project: set RATEL_ORG and RATEL_PROJECT".into(),
            )),
        }
    }
}
