//! The canonical document: loading it, resolving `$ref`s, checking it, and turning its
//! OpenAPI 3.0 schemas into JSON Schema so that examples and responses can be validated.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::{Map, Value, json};

/// The workspace root (xtask lives one level below it).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
        .to_owned()
}

pub fn canonical_path() -> PathBuf {
    workspace_root().join("openapi.yaml")
}

/// Parses YAML (or JSON) text into a JSON value.
pub fn parse(text: &str) -> Result<Value> {
    serde_norway::from_str(text).context("openapi.yaml is not valid YAML")
}

pub fn load_canonical() -> Result<Value> {
    let path = canonical_path();
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    parse(&text)
}

/// Follows a local `$ref` (`#/a/b/c`).
pub fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    doc.pointer(pointer)
}

/// Follows `$ref`s until a value without one.
pub fn deref<'a>(doc: &'a Value, mut value: &'a Value) -> &'a Value {
    for _ in 0..32 {
        match value.get("$ref").and_then(Value::as_str) {
            Some(r) => match resolve(doc, r) {
                Some(target) => value = target,
                None => return value,
            },
            None => return value,
        }
    }
    value
}

/// Every `$ref` in the document that does not resolve.
pub fn unresolved_refs(doc: &Value) -> Vec<String> {
    fn walk(doc: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    if key == "$ref" {
                        if let Some(r) = child.as_str()
                            && resolve(doc, r).is_none()
                        {
                            out.push(format!("{at}: $ref {r} does not resolve"));
                        }
                    } else {
                        walk(doc, child, &format!("{at}/{key}"), out);
                    }
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(doc, child, &format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(doc, doc, "#", &mut out);
    out
}

/// Rewrites an OpenAPI 3.0 schema as JSON Schema: `nullable: true` becomes a `null` type.
pub fn to_json_schema(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, value) in map {
                match key.as_str() {
                    "nullable" | "example" | "readOnly" | "writeOnly" | "discriminator" | "xml"
                    | "externalDocs" | "deprecated" => {}
                    "properties" => {
                        let props = value
                            .as_object()
                            .map(|p| {
                                p.iter()
                                    .map(|(k, v)| (k.clone(), to_json_schema(v)))
                                    .collect::<Map<_, _>>()
                            })
                            .unwrap_or_default();
                        out.insert(key.clone(), Value::Object(props));
                    }
                    _ => {
                        out.insert(key.clone(), to_json_schema(value));
                    }
                }
            }
            if map.get("nullable") == Some(&Value::Bool(true)) {
                if let Some(Value::String(ty)) = out.get("type").cloned() {
                    out.insert("type".into(), json!([ty, "null"]));
                    if let Some(Value::Array(values)) = out.get_mut("enum") {
                        values.push(Value::Null);
                    }
                } else if out.contains_key("$ref") || out.contains_key("allOf") {
                    let inner = Value::Object(std::mem::take(&mut out));
                    out.insert("anyOf".into(), json!([inner, {"type": "null"}]));
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(to_json_schema).collect()),
        other => other.clone(),
    }
}

/// Validates values against schemas of one document.
pub struct SchemaSet {
    components: Value,
}

impl SchemaSet {
    pub fn new(doc: &Value) -> Self {
        Self {
            components: to_json_schema(doc.get("components").unwrap_or(&Value::Null)),
        }
    }

    /// Checks `value` against an OpenAPI `schema` of the document; the errors, one per line.
    pub fn validate(&self, schema: &Value, value: &Value) -> Result<(), Vec<String>> {
        let mut root = match to_json_schema(schema) {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        root.insert("components".into(), self.components.clone());
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .should_validate_formats(true)
            .build(&Value::Object(root))
            .map_err(|e| vec![format!("schema does not compile: {e}")])?;
        let errors: Vec<String> = validator
            .iter_errors(value)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// Every example in the document that does not validate against its schema.
pub fn invalid_examples(doc: &Value) -> Vec<String> {
    let set = SchemaSet::new(doc);
    let mut out = Vec::new();
    let mut check = |at: String, schema: &Value, example: &Value| {
        if let Err(errors) = set.validate(schema, example) {
            out.push(format!(
                "{at}: example does not match its schema: {}",
                errors.join("; ")
            ));
        }
    };
    if let Some(schemas) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        for (name, schema) in schemas {
            if let Some(example) = schema.get("example") {
                check(format!("#/components/schemas/{name}"), schema, example);
            }
        }
    }
    // Media types anywhere (responses, request bodies, shared responses).
    fn media_types<'a>(value: &'a Value, at: String, out: &mut Vec<(String, &'a Value)>) {
        if let Value::Object(map) = value {
            for (key, child) in map {
                let here = format!("{at}/{key}");
                if key == "content"
                    && let Value::Object(content) = child
                {
                    for (ct, media) in content {
                        out.push((format!("{here}/{ct}"), media));
                    }
                } else {
                    media_types(child, here, out);
                }
            }
        }
    }
    let mut medias = Vec::new();
    media_types(doc, "#".into(), &mut medias);
    for (at, media) in medias {
        let Some(schema) = media.get("schema") else {
            continue;
        };
        if let Some(example) = media.get("example") {
            check(at.clone(), schema, example);
        }
        if let Some(Value::Object(examples)) = media.get("examples") {
            for (name, example) in examples {
                let example = deref(doc, example);
                if let Some(value) = example.get("value") {
                    check(format!("{at}/examples/{name}"), schema, value);
                }
            }
        }
    }
    out
}

/// Part 1 of `cargo xtask check`: the document is OpenAPI 3.0.3, its `$ref`s resolve and its
/// examples validate. Returns the problems, one per line.
pub fn check_document(text: &str) -> Vec<String> {
    let doc = match parse(text) {
        Ok(doc) => doc,
        Err(e) => return vec![format!("{e:#}")],
    };
    let mut out = Vec::new();
    if doc.get("openapi").and_then(Value::as_str) != Some("3.0.3") {
        out.push("openapi: the document must declare OpenAPI 3.0.3".to_owned());
    }
    if let Err(e) = serde_json::from_value::<openapiv3::OpenAPI>(doc.clone()) {
        out.push(format!(
            "the document is not a valid OpenAPI 3.0 document: {e}"
        ));
    }
    out.extend(unresolved_refs(&doc));
    out.extend(invalid_examples(&doc));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_document_is_valid() {
        let text = std::fs::read_to_string(canonical_path()).unwrap();
        let problems = check_document(&text);
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn broken_refs_and_examples_are_reported() {
        let mut doc = load_canonical().unwrap();
        doc["components"]["schemas"]["Task"]["example"]["status"] = json!("nonsense");
        doc["components"]["schemas"]["Action"]["properties"]["status"]["$ref"] =
            json!("#/components/schemas/Missing");
        let problems = check_document(&serde_json::to_string(&doc).unwrap());
        assert!(
            problems
                .iter()
                .any(|p| p.contains("#/components/schemas/Task: example")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("#/components/schemas/Missing does not resolve")),
            "{problems:?}"
        );
    }

    #[test]
    fn nullable_becomes_a_null_type() {
        let s = to_json_schema(&json!({"type": "integer", "nullable": true}));
        assert_eq!(s, json!({"type": ["integer", "null"]}));
    }
}
