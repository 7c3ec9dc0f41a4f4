//! Opaque pagination cursors.
//!
//! A cursor names a position in the keyset (`anchor`, a task id) and the walk's `ceiling`: the
//! newest task id when the walk began. Pages never include tasks above the ceiling, so tasks
//! created during a walk neither shift its pages nor appear in it, and walking `previous`
//! returns exactly the pages that walking `next` returned.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{DomainError, DomainResult};
use crate::storage::tasks::Seek;

const OLDER: &str = "o";
const NEWER: &str = "n";

pub fn encode(seek: &Seek) -> Option<String> {
    let (dir, anchor, ceiling) = match seek {
        Seek::First => return None,
        Seek::Older { anchor, ceiling } => (OLDER, anchor, ceiling),
        Seek::Newer { anchor, ceiling } => (NEWER, anchor, ceiling),
    };
    Some(URL_SAFE_NO_PAD.encode(format!("{dir}.{anchor}.{ceiling}")))
}

/// Decodes a cursor; anything this server did not issue is `InvalidCursor`.
pub fn decode(cursor: &str) -> DomainResult<Seek> {
    let invalid = || DomainError::InvalidCursor;
    let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let raw = String::from_utf8(raw).map_err(|_| invalid())?;
    let mut parts = raw.split('.');
    let (dir, anchor, ceiling) = (
        parts.next().ok_or_else(invalid)?,
        parts.next().ok_or_else(invalid)?,
        parts.next().ok_or_else(invalid)?,
    );
    if parts.next().is_some() || !is_task_id(anchor) || !is_task_id(ceiling) || anchor > ceiling {
        return Err(invalid());
    }
    let (anchor, ceiling) = (anchor.to_owned(), ceiling.to_owned());
    match dir {
        OLDER => Ok(Seek::Older { anchor, ceiling }),
        NEWER => Ok(Seek::Newer { anchor, ceiling }),
        _ => Err(invalid()),
    }
}

/// Task ids are canonical ULID strings.
pub fn is_task_id(id: &str) -> bool {
    ulid::Ulid::from_string(id).is_ok_and(|u| u.to_string() == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let a = ulid::Ulid::new().to_string();
        let seek = Seek::Older {
            anchor: a.clone(),
            ceiling: a,
        };
        assert_eq!(decode(&encode(&seek).unwrap()).unwrap(), seek);
    }

    #[test]
    fn forged_cursors_are_rejected() {
        let a = ulid::Ulid::new().to_string();
        for bad in [
            "".to_owned(),
            "!!!".to_owned(),
            URL_SAFE_NO_PAD.encode("x.y.z"),
            URL_SAFE_NO_PAD.encode(format!("q.{a}.{a}")),
            URL_SAFE_NO_PAD.encode(format!("o.{a}")),
            URL_SAFE_NO_PAD.encode(format!("o.{a}.{a}.{a}")),
            URL_SAFE_NO_PAD.encode(format!("o.{}.{a}", a.to_lowercase())),
        ] {
            assert!(
                matches!(decode(&bad), Err(DomainError::InvalidCursor)),
                "{bad}"
            );
        }
    }
}

/// Property tests: any text decodes to a position or to `InvalidCursor`, never a panic; what
/// this server issues decodes back to itself.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn ulid() -> impl Strategy<Value = String> {
        any::<u128>().prop_map(|n| ulid::Ulid(n).to_string())
    }

    proptest! {
        #[test]
        fn any_text_is_a_cursor_or_invalid(text in any::<String>()) {
            match decode(&text) {
                Ok(seek) => prop_assert_eq!(encode(&seek), Some(text)),
                Err(e) => prop_assert!(matches!(e, DomainError::InvalidCursor)),
            }
        }

        #[test]
        fn base64_of_near_misses_is_invalid_or_canonical(raw in "[on]?\\.?[0-9A-Z.]{0,60}") {
            let text = URL_SAFE_NO_PAD.encode(&raw);
            if let Ok(seek) = decode(&text) {
                prop_assert_eq!(encode(&seek), Some(text));
            }
        }

        #[test]
        fn issued_cursors_round_trip(a in ulid(), b in ulid(), older in any::<bool>()) {
            let (anchor, ceiling) = if a <= b { (a, b) } else { (b, a) };
            let seek = if older {
                Seek::Older { anchor, ceiling }
            } else {
                Seek::Newer { anchor, ceiling }
            };
            let text = encode(&seek).unwrap();
            prop_assert_eq!(decode(&text).unwrap(), seek);
        }
    }
}
