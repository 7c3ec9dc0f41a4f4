//! Authentication and tenancy: which project a bearer token opens.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use subtle::ConstantTimeEq;

use super::{DomainError, DomainResult, keys};
use crate::storage::Store;
use crate::storage::keys::KeyOwner;

/// Remembers recently seen keys for a short time, so most requests need no key lookup. A
/// revocation (by any process: another replica, `admin revoke-key`) empties it within
/// `REVOCATION_POLL` through `watch`; the cache's lifetime bounds it if the watch cannot read.
#[derive(Clone)]
pub struct KeyCache {
    cache: Option<moka::sync::Cache<String, KeyOwner>>,
    /// Bumped by every emptying, so that a lookup that read the key before a revocation does
    /// not put it back afterwards.
    generation: Arc<AtomicU64>,
}

/// How often every process checks for revocations.
pub const REVOCATION_POLL: Duration = Duration::from_millis(250);

impl KeyCache {
    /// A cache keeping entries for `ttl`; a zero `ttl` disables caching.
    pub fn new(ttl: Duration) -> Self {
        let cache = (!ttl.is_zero()).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(ttl)
                .build()
        });
        Self {
            cache,
            generation: Arc::default(),
        }
    }

    /// Empties the cache whenever the store's revocation mark changes, every
    /// `REVOCATION_POLL`, until the process stops.
    pub fn watch(&self, store: Store) {
        if self.cache.is_none() {
            return;
        }
        let keys = self.clone();
        tokio::spawn(async move {
            let mut last = None;
            let mut ticks = tokio::time::interval(REVOCATION_POLL);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match store.revocation_mark().await {
                    Ok(mark) => {
                        if last.is_some_and(|last| last != mark) {
                            keys.clear();
                        }
                        last = Some(mark);
                    }
                    Err(err) => tracing::debug!(error = %err, "reading key revocations failed"),
                }
            }
        });
    }

    fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Some(cache) = &self.cache {
            cache.invalidate_all();
        }
    }

    async fn lookup(&self, store: &Store, hash: &str) -> DomainResult<Option<KeyOwner>> {
        if let Some(owner) = self.cache.as_ref().and_then(|c| c.get(hash)) {
            return Ok(Some(owner));
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let owner = store.find_key(hash).await?;
        if let (Some(cache), Some(owner)) = (&self.cache, &owner)
            && self.generation.load(Ordering::SeqCst) == generation
        {
            cache.insert(hash.to_owned(), owner.clone());
        }
        Ok(owner)
    }
}

/// The project a request acts on, established from its key and its URL.
#[derive(Clone, Debug)]
pub struct ProjectScope {
    pub key_id: i64,
    pub project_id: i64,
    pub organization: String,
    pub project: String,
}

/// Checks a bearer token against the keys and the URL's organization and project slugs.
///
/// No token is `NotAuthenticated`, an unknown or revoked one `AuthenticationFailed`, and a
/// valid key of another project `PermissionDenied`.
pub async fn authorize(
    store: &Store,
    keys_cache: &KeyCache,
    token: Option<&str>,
    organization: &str,
    project: &str,
) -> DomainResult<ProjectScope> {
    let token = token
        .filter(|t| !t.is_empty())
        .ok_or(DomainError::NotAuthenticated)?;
    let secret = keys::secret_of(token);
    let hash = keys::hash_secret(&secret);
    let owner = keys_cache
        .lookup(store, &hash)
        .await?
        .ok_or(DomainError::AuthenticationFailed)?;
    // The lookup is by hash; compare again in constant time so that a timing difference in
    // the index lookup can never be turned into a guessing oracle on the stored value.
    if !bool::from(owner.secret_hash.as_bytes().ct_eq(hash.as_bytes())) {
        return Err(DomainError::AuthenticationFailed);
    }
    if owner.organization != organization || owner.project != project {
        return Err(DomainError::PermissionDenied);
    }
    Ok(ProjectScope {
        key_id: owner.key_id,
        project_id: owner.project_id,
        organization: owner.organization,
        project: owner.project,
    })
}

/// Slugs: lowercase letters, digits and hyphens, 1 to 50 characters.
pub fn valid_slug(slug: &str) -> bool {
    (1..=50).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::valid_slug;

    #[test]
    fn slugs() {
        assert!(valid_slug("default"));
        assert!(valid_slug("a-1"));
        assert!(!valid_slug(""));
        assert!(!valid_slug("Upper"));
        assert!(!valid_slug("under_score"));
        assert!(!valid_slug(&"a".repeat(51)));
    }
}
