//! Authentication and tenancy: which project a bearer token opens.

use subtle::ConstantTimeEq;

use super::{DomainError, DomainResult, keys};
use crate::storage::Store;

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
    token: Option<&str>,
    organization: &str,
    project: &str,
) -> DomainResult<ProjectScope> {
    let token = token
        .filter(|t| !t.is_empty())
        .ok_or(DomainError::NotAuthenticated)?;
    let secret = keys::secret_of(token);
    let hash = keys::hash_secret(&secret);
    let owner = store
        .find_key(&hash)
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
