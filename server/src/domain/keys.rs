//! Project keys: `base64("org/project/secret")`, the format the official SDK decodes.
//! Only the SHA-256 of the secret is stored.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::Rng;
use rand::distr::Alphanumeric;
use sha2::{Digest, Sha256};

/// Length of a generated secret (alphanumeric, ~238 bits).
const SECRET_LEN: usize = 40;
/// How much of the secret `list-keys` shows.
pub const PREFIX_LEN: usize = 6;

/// A freshly generated key; `full` is shown once and never stored.
pub struct NewKey {
    pub full: String,
    pub secret_hash: String,
    pub prefix: String,
}

pub fn generate(org: &str, project: &str) -> NewKey {
    let secret: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(SECRET_LEN)
        .map(char::from)
        .collect();
    NewKey {
        full: STANDARD.encode(format!("{org}/{project}/{secret}")),
        secret_hash: hash_secret(&secret),
        prefix: secret[..PREFIX_LEN].to_owned(),
    }
}

/// Hex SHA-256 of a secret.
pub fn hash_secret(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let mut out = String::with_capacity(64);
    for byte in digest {
        use std::fmt::Write;
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// The secret a bearer token carries: the third part of a whole project key, or the token
/// itself (what the official SDK sends after decoding the key).
pub fn secret_of(token: &str) -> String {
    parse_key(token).map_or_else(|| token.to_owned(), |key| key.secret)
}

/// The parts of a whole project key.
#[derive(Debug, PartialEq, Eq)]
pub struct ParsedKey {
    pub organization: String,
    pub project: String,
    pub secret: String,
}

/// Splits a whole project key into its parts the way the official SDK does: strict base64,
/// UTF-8, exactly three non-empty parts separated by `/`.
pub fn parse_key(token: &str) -> Option<ParsedKey> {
    let decoded = String::from_utf8(STANDARD.decode(token).ok()?).ok()?;
    let mut parts = decoded.split('/');
    let (org, project, secret) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || org.is_empty() || project.is_empty() || secret.is_empty() {
        return None;
    }
    Some(ParsedKey {
        organization: org.to_owned(),
        project: project.to_owned(),
        secret: secret.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_round_trips_and_hashes_its_secret() {
        let key = generate("acme", "billing");
        let parsed = parse_key(&key.full).expect("a generated key parses");
        assert_eq!(parsed.organization, "acme");
        assert_eq!(parsed.project, "billing");
        assert_eq!(hash_secret(&parsed.secret), key.secret_hash);
        assert_eq!(secret_of(&key.full), parsed.secret);
        assert_eq!(secret_of(&parsed.secret), parsed.secret);
        assert!(parsed.secret.starts_with(&key.prefix));
    }

    #[test]
    fn malformed_keys_are_not_parsed() {
        assert_eq!(parse_key("not base64!"), None);
        assert_eq!(parse_key(&STANDARD.encode("a/b")), None);
        assert_eq!(parse_key(&STANDARD.encode("a//c")), None);
        assert_eq!(parse_key(&STANDARD.encode("a/b/c/d")), None);
    }
}

/// Property tests: any bearer token decodes to a key or to nothing, never a panic; generated
/// keys decode to their parts.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_token_is_a_key_or_nothing(token in any::<String>()) {
            if let Some(key) = parse_key(&token) {
                prop_assert!(!key.organization.is_empty() && !key.project.is_empty());
                prop_assert!(!key.secret.contains('/'));
            }
            let _ = secret_of(&token);
        }

        #[test]
        fn base64_of_any_bytes_is_a_key_or_nothing(bytes in prop::collection::vec(any::<u8>(), 0..80)) {
            let token = STANDARD.encode(&bytes);
            if let Some(key) = parse_key(&token) {
                let whole = format!("{}/{}/{}", key.organization, key.project, key.secret);
                prop_assert_eq!(whole.as_bytes(), &bytes[..]);
            }
        }

        #[test]
        fn generated_keys_decode_to_their_parts(org in "[a-z0-9-]{1,50}", project in "[a-z0-9-]{1,50}") {
            let key = generate(&org, &project);
            let parsed = parse_key(&key.full).unwrap();
            prop_assert_eq!((parsed.organization, parsed.project), (org, project));
            prop_assert_eq!(hash_secret(&parsed.secret), key.secret_hash);
        }
    }
}
