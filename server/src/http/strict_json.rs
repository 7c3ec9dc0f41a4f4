//! Strict JSON request bodies: parsed by serde_json (its depth limit included) into a
//! `serde_json::Value`, except that an object with the same key twice, at any depth, is an
//! error naming the key. serde_json alone keeps the last value, so two parsers in front of
//! Ratel could read one request two ways.

use std::fmt;

use serde::de::{DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Parses `bytes` as one JSON value, refusing duplicate keys.
pub fn parse(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Strict.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

struct Strict;

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(Strict)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(A::Error::custom(format_args!("duplicate key {key:?}")));
            }
            let value = map.next_value_seed(Strict)?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_refused_at_any_depth() {
        for body in [
            r#"{"name": "a", "name": "b"}"#,
            r#"{"tags": {"env": "x", "env": "y"}}"#,
            r#"{"actions": [{"trigger": "a", "trigger": "b"}]}"#,
        ] {
            let err = parse(body.as_bytes()).unwrap_err().to_string();
            assert!(err.starts_with("duplicate key \""), "{body}: {err}");
        }
        let err = parse(br#"{"a": {"k": 1}, "b": {"k": 2}, "a": 3}"#).unwrap_err();
        assert!(err.to_string().contains("\"a\""), "{err}");
    }

    #[test]
    fn everything_else_parses_as_serde_json_does() {
        for body in [
            r#"{"name": "a", "tags": {"env": "x"}, "n": [1, -2, 3.5, true, null, "s"]}"#,
            r#"[]"#,
            r#"  "text"  "#,
            r#"18446744073709551615"#,
        ] {
            let ours = parse(body.as_bytes()).unwrap();
            let theirs: Value = serde_json::from_str(body).unwrap();
            assert_eq!(ours, theirs, "{body}");
        }
        assert!(parse(b"{} {}").is_err(), "trailing data");
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert!(parse(deep.as_bytes()).is_err(), "the depth limit stays");
    }
}

/// Property tests for the request-body reader's parser: any bytes are a value or a typed
/// error (never a panic or a stack overflow), any JSON without duplicate keys reads as
/// serde_json reads it, and a duplicated key anywhere is refused.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;
    use serde_json::{Map, Value};

    use super::*;

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            // Quarters print and read back exactly (serde_json's float reading is not
            // round-trip exact for every f64 without its float_roundtrip feature).
            any::<i32>().prop_map(|n| Value::from(f64::from(n) / 4.0)),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(6, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::btree_map(any::<String>(), inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_bytes_are_a_value_or_an_error(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn json_shaped_text_is_a_value_or_an_error(text in r#"[\[\]{}",:0-9a-z\\ .eE+-]{0,200}"#) {
            if let Ok(ours) = parse(text.as_bytes()) {
                let theirs: Value = serde_json::from_str(&text).unwrap();
                prop_assert_eq!(ours, theirs);
            }
        }

        #[test]
        fn reads_json_as_serde_json_does(value in json()) {
            let text = serde_json::to_string(&value).unwrap();
            prop_assert_eq!(parse(text.as_bytes()).unwrap(), value);
        }

        #[test]
        fn a_duplicated_key_is_refused(value in json(), key in any::<String>(), depth in 0usize..5) {
            let key_json = serde_json::to_string(&key).unwrap();
            let mut text = format!("{{{key_json}: 1, {key_json}: {}}}", serde_json::to_string(&value).unwrap());
            for _ in 0..depth {
                text = format!("{{\"k\": [{text}]}}");
            }
            let err = parse(text.as_bytes()).unwrap_err();
            prop_assert!(err.to_string().starts_with("duplicate key"), "{}", err);
        }
    }
}
