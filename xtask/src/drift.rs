//! Part 2 of `cargo xtask check`: the server's own document (emitted by poem-openapi) must be
//! equivalent to the canonical openapi.yaml. Descriptions, examples, tags, security and
//! ordering may differ; operations, parameters, request bodies, response statuses and schemas
//! (types, formats, nullability, enums, bounds, required properties, defaults) may not.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::spec::deref;

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// A trailing slash is not a difference.
fn path_key(path: &str) -> String {
    path.trim_end_matches('/').to_owned()
}

struct Operation<'a> {
    path: &'a str,
    method: &'a str,
    op: &'a Value,
    path_item: &'a Value,
}

fn operations(doc: &Value) -> BTreeMap<(String, String), Operation<'_>> {
    let mut out = BTreeMap::new();
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            for method in METHODS {
                if let Some(op) = item.get(method) {
                    out.insert(
                        (path_key(path), method.to_owned()),
                        Operation {
                            path,
                            method,
                            op,
                            path_item: item,
                        },
                    );
                }
            }
        }
    }
    out
}

/// Parameters of an operation (path-level ones included), keyed by (location, name).
fn parameters<'a>(doc: &'a Value, op: &Operation<'a>) -> BTreeMap<(String, String), &'a Value> {
    let mut out = BTreeMap::new();
    for list in [op.path_item.get("parameters"), op.op.get("parameters")]
        .into_iter()
        .flatten()
    {
        for p in list.as_array().into_iter().flatten() {
            let p = deref(doc, p);
            let location = p.get("in").and_then(Value::as_str).unwrap_or("").to_owned();
            let name = p
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            // Header names are case-insensitive.
            let name = if location == "header" {
                name.to_ascii_lowercase()
            } else {
                name
            };
            out.insert((location, name), p);
        }
    }
    out
}

fn media_type_key(ct: &str) -> String {
    ct.split(';')
        .next()
        .unwrap_or(ct)
        .trim()
        .to_ascii_lowercase()
}

fn content(doc: &Value, holder: &Value) -> BTreeMap<String, Value> {
    deref(doc, holder)
        .get("content")
        .and_then(Value::as_object)
        .map(|c| {
            c.iter()
                .map(|(ct, m)| {
                    (
                        media_type_key(ct),
                        m.get("schema").cloned().unwrap_or(Value::Null),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

struct Comparer<'a> {
    spec: &'a Value,
    server: &'a Value,
    out: Vec<String>,
}

fn describe(s: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(t) = s.get("type").and_then(Value::as_str) {
        parts.push(t.to_owned());
    } else if s.get("$ref").is_some() || s.get("properties").is_some() {
        parts.push("object".to_owned());
    } else {
        parts.push("any".to_owned());
    }
    if let Some(f) = s.get("format").and_then(Value::as_str) {
        parts.push(format!("({f})"));
    }
    if s.get("nullable") == Some(&Value::Bool(true)) {
        parts.push("nullable".to_owned());
    }
    parts.join(" ")
}

fn schema_name(s: &Value) -> Option<&str> {
    s.get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.rsplit('/').next())
}

/// `allOf: [one]` (how some generators wrap a `$ref`) is the one schema.
fn unwrap_all_of(s: &Value) -> &Value {
    match s.get("allOf").and_then(Value::as_array) {
        Some(items) if items.len() == 1 => &items[0],
        _ => s,
    }
}

impl Comparer<'_> {
    fn diff(
        &mut self,
        at: &str,
        what: &str,
        spec: impl std::fmt::Display,
        server: impl std::fmt::Display,
    ) {
        self.out
            .push(format!("{at}{what}: spec {spec}, server {server}"));
    }

    fn schema(&mut self, at: &str, name: &str, spec: &Value, server: &Value, depth: usize) {
        let (spec, server) = (unwrap_all_of(spec), unwrap_all_of(server));
        let name = match (schema_name(spec), schema_name(server)) {
            (Some(a), _) if name.is_empty() => a.to_owned(),
            (None, Some(b)) if name.is_empty() => b.to_owned(),
            _ => name.to_owned(),
        };
        // A $ref's siblings (nullable) still count.
        let spec_nullable = spec.get("nullable").cloned();
        let server_nullable = server.get("nullable").cloned();
        let spec = unwrap_all_of(deref(self.spec, spec));
        let server = unwrap_all_of(deref(self.server, server));
        if depth > 12 {
            return;
        }
        let label = if name.is_empty() {
            "body".to_owned()
        } else {
            name.clone()
        };
        let with_nullable = |s: &Value, n: Option<Value>| {
            let mut s = s.clone();
            if let (Some(n), Some(obj)) = (n, s.as_object_mut()) {
                obj.insert("nullable".into(), n);
            }
            s
        };
        let (spec_n, server_n) = (
            with_nullable(spec, spec_nullable),
            with_nullable(server, server_nullable),
        );
        let nullable = |s: &Value| s.get("nullable") == Some(&Value::Bool(true));
        let shape_differs = spec_n.get("type") != server_n.get("type")
            || spec_n.get("format") != server_n.get("format")
            || nullable(&spec_n) != nullable(&server_n);
        if shape_differs {
            self.out.push(format!(
                "{at}{label}: spec {}, server {}",
                describe(&spec_n),
                describe(&server_n)
            ));
        }
        for key in [
            "minimum",
            "maximum",
            "exclusiveMinimum",
            "exclusiveMaximum",
            "minLength",
            "maxLength",
            "minItems",
            "maxItems",
            "pattern",
            "default",
        ] {
            let (a, b) = (spec.get(key), server.get(key));
            let same = match (a.and_then(Value::as_f64), b.and_then(Value::as_f64)) {
                (Some(x), Some(y)) => x == y,
                _ => a == b,
            };
            if !same {
                let show = |v: Option<&Value>| v.map_or("none".to_owned(), Value::to_string);
                self.diff(at, &format!("{label} {key}"), show(a), show(b));
            }
        }
        let set = |s: &Value, key: &str| -> BTreeSet<String> {
            s.get(key)
                .and_then(Value::as_array)
                .map(|a| a.iter().map(|v| v.to_string()).collect())
                .unwrap_or_default()
        };
        let (enum_a, enum_b) = (set(spec, "enum"), set(server, "enum"));
        if enum_a != enum_b {
            self.diff(
                at,
                &format!("{label} enum"),
                fmt_set(&enum_a),
                fmt_set(&enum_b),
            );
        }
        let (req_a, req_b) = (set(spec, "required"), set(server, "required"));
        for field in req_a.symmetric_difference(&req_b) {
            let field = field.trim_matches('"');
            let (a, b) = if req_a.contains(&format!("\"{field}\"")) {
                ("required", "optional")
            } else {
                ("optional", "required")
            };
            self.diff(at, &format!("{label}.{field}"), a, b);
        }
        let props = |s: &Value| -> BTreeMap<String, Value> {
            s.get("properties")
                .and_then(Value::as_object)
                .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default()
        };
        let (pa, pb) = (props(spec), props(server));
        for key in pa.keys().chain(pb.keys()).collect::<BTreeSet<_>>() {
            let child = format!("{label}.{key}");
            match (pa.get(key), pb.get(key)) {
                (Some(a), Some(b)) => self.schema(at, &child, a, b, depth + 1),
                (Some(_), None) => self
                    .out
                    .push(format!("{at}{child}: in the spec, missing from the server")),
                (None, Some(_)) => self
                    .out
                    .push(format!("{at}{child}: in the server, missing from the spec")),
                (None, None) => {}
            }
        }
        if let (Some(a), Some(b)) = (spec.get("items"), server.get("items")) {
            self.schema(at, &format!("{label}[]"), a, b, depth + 1);
        } else if spec.get("items").is_some() != server.get("items").is_some() {
            self.diff(
                at,
                &format!("{label} items"),
                spec.get("items").is_some(),
                server.get("items").is_some(),
            );
        }
        match (
            spec.get("additionalProperties"),
            server.get("additionalProperties"),
        ) {
            (Some(a), Some(b)) if a.is_object() && b.is_object() => {
                self.schema(at, &format!("{label}{{*}}"), a, b, depth + 1)
            }
            (a, b) => {
                let norm = |v: Option<&Value>| match v {
                    None | Some(Value::Bool(true)) => "allowed".to_owned(),
                    Some(Value::Bool(false)) => "forbidden".to_owned(),
                    Some(_) => "typed".to_owned(),
                };
                if norm(a) != norm(b) {
                    self.diff(
                        at,
                        &format!("{label} additionalProperties"),
                        norm(a),
                        norm(b),
                    );
                }
            }
        }
    }

    fn operation(&mut self, spec: &Operation<'_>, server: &Operation<'_>) {
        let at = format!("{} {}", spec.method.to_uppercase(), spec.path);
        let id = |o: &Operation<'_>| {
            o.op.get("operationId")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        if id(spec) != id(server) {
            self.diff(&format!("{at} "), "operationId", id(spec), id(server));
        }
        let (pa, pb) = (parameters(self.spec, spec), parameters(self.server, server));
        for key in pa.keys().chain(pb.keys()).collect::<BTreeSet<_>>() {
            let ctx = format!("{at} parameter {} ({}) ", key.1, key.0);
            match (pa.get(key), pb.get(key)) {
                (Some(a), Some(b)) => {
                    let req = |p: &Value| p.get("required") == Some(&Value::Bool(true));
                    if req(a) != req(b) {
                        self.diff(&ctx, "required", req(a), req(b));
                    }
                    let (sa, sb) = (
                        a.get("schema").cloned().unwrap_or(Value::Null),
                        b.get("schema").cloned().unwrap_or(Value::Null),
                    );
                    self.schema(&ctx, &key.1, &sa, &sb, 0);
                }
                (Some(_), None) => self
                    .out
                    .push(format!("{ctx}: in the spec, missing from the server")),
                (None, Some(_)) => self
                    .out
                    .push(format!("{ctx}: in the server, missing from the spec")),
                (None, None) => {}
            }
        }
        match (spec.op.get("requestBody"), server.op.get("requestBody")) {
            (Some(a), Some(b)) => {
                let (a, b) = (deref(self.spec, a), deref(self.server, b));
                let req = |r: &Value| r.get("required") == Some(&Value::Bool(true));
                if req(a) != req(b) {
                    self.diff(&format!("{at} requestBody "), "required", req(a), req(b));
                }
                self.content(&format!("{at} requestBody "), a, b);
            }
            (Some(_), None) => self.out.push(format!(
                "{at} requestBody: in the spec, missing from the server"
            )),
            (None, Some(_)) => self.out.push(format!(
                "{at} requestBody: in the server, missing from the spec"
            )),
            (None, None) => {}
        }
        let responses = |o: &Operation<'_>| -> BTreeMap<String, Value> {
            o.op.get("responses")
                .and_then(Value::as_object)
                .map(|r| r.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default()
        };
        let (ra, rb) = (responses(spec), responses(server));
        for status in ra.keys().chain(rb.keys()).collect::<BTreeSet<_>>() {
            match (ra.get(status), rb.get(status)) {
                (Some(a), Some(b)) => self.content(&format!("{at} {status} "), a, b),
                (Some(_), None) => self.out.push(format!(
                    "{at} {status}: documented in the spec, not by the server"
                )),
                (None, Some(_)) => self.out.push(format!(
                    "{at} {status}: returned by the server, not documented in the spec"
                )),
                (None, None) => {}
            }
        }
    }

    fn content(&mut self, at: &str, spec: &Value, server: &Value) {
        let (ca, cb) = (content(self.spec, spec), content(self.server, server));
        for ct in ca.keys().chain(cb.keys()).collect::<BTreeSet<_>>() {
            match (ca.get(ct), cb.get(ct)) {
                (Some(a), Some(b)) => self.schema(at, "", a, b, 0),
                (Some(_), None) => self
                    .out
                    .push(format!("{at}{ct}: in the spec, missing from the server")),
                (None, Some(_)) => self
                    .out
                    .push(format!("{at}{ct}: in the server, missing from the spec")),
                (None, None) => {}
            }
        }
    }
}

fn fmt_set(s: &BTreeSet<String>) -> String {
    if s.is_empty() {
        "none".to_owned()
    } else {
        format!("[{}]", s.iter().cloned().collect::<Vec<_>>().join(", "))
    }
}

/// Every difference between the canonical document and the server's, one per line.
pub fn compare(spec: &Value, server: &Value) -> Vec<String> {
    let mut c = Comparer {
        spec,
        server,
        out: Vec::new(),
    };
    let (oa, ob) = (operations(spec), operations(server));
    for key in oa.keys().chain(ob.keys()).collect::<BTreeSet<_>>() {
        match (oa.get(key), ob.get(key)) {
            (Some(a), Some(b)) => c.operation(a, b),
            (Some(a), None) => c.out.push(format!(
                "{} {}: in the spec, missing from the server",
                a.method.to_uppercase(),
                a.path
            )),
            (None, Some(b)) => c.out.push(format!(
                "{} {}: served, missing from the spec",
                b.method.to_uppercase(),
                b.path
            )),
            (None, None) => {}
        }
    }
    let mut seen = BTreeSet::new();
    c.out.retain(|line| seen.insert(line.clone()));
    c.out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::check::server_document;
    use crate::spec::load_canonical;

    fn pair() -> (Value, Value) {
        (load_canonical().unwrap(), server_document())
    }

    fn reported(spec: &Value, server: &Value, needle: &str) {
        let diffs = compare(spec, server);
        assert!(
            diffs.iter().any(|d| d.contains(needle)),
            "expected a line containing {needle:?}, got:\n{}",
            diffs.join("\n")
        );
    }

    #[test]
    fn the_server_implements_the_canonical_document() {
        let (spec, server) = pair();
        let diffs = compare(&spec, &server);
        assert!(diffs.is_empty(), "drift:\n{}", diffs.join("\n"));
    }

    #[test]
    fn renamed_property_is_reported() {
        let (spec, mut server) = pair();
        let props = server["components"]["schemas"]["Task"]["properties"]
            .as_object_mut()
            .unwrap();
        let v = props.remove("queue").unwrap();
        props.insert("queue_name".into(), v);
        reported(
            &spec,
            &server,
            "Task.queue: in the spec, missing from the server",
        );
        reported(
            &spec,
            &server,
            "Task.queue_name: in the server, missing from the spec",
        );
    }

    #[test]
    fn dropped_operation_is_reported() {
        let (spec, mut server) = pair();
        let path = "/api/{organization_slug}/{project_slug}/tasks/{id}";
        server["paths"][path]
            .as_object_mut()
            .unwrap()
            .remove("delete");
        reported(
            &spec,
            &server,
            "DELETE /api/{organization_slug}/{project_slug}/tasks/{id}/: in the spec, missing from the server",
        );
    }

    #[test]
    fn changed_type_or_format_is_reported() {
        let (spec, mut server) = pair();
        server["components"]["schemas"]["Task"]["properties"]["value_max"]["format"] =
            json!("int32");
        reported(
            &spec,
            &server,
            "Task.value_max: spec integer (int64), server integer (int32)",
        );
        let (spec, mut server) = pair();
        server["components"]["schemas"]["Task"]["properties"]["name"]["type"] = json!("integer");
        reported(&spec, &server, "Task.name: spec string, server integer");
        let (spec, mut server) = pair();
        server["components"]["schemas"]["Task"]["properties"]["value"]
            .as_object_mut()
            .unwrap()
            .remove("nullable");
        reported(
            &spec,
            &server,
            "Task.value: spec integer (int64) nullable, server integer (int64)",
        );
    }

    #[test]
    fn required_made_optional_is_reported() {
        let (spec, mut server) = pair();
        let required = server["components"]["schemas"]["TaskRequest"]["required"]
            .as_array_mut()
            .unwrap();
        required.retain(|f| f != "name");
        reported(
            &spec,
            &server,
            "TaskRequest.name: spec required, server optional",
        );
    }

    #[test]
    fn undocumented_status_is_reported() {
        let (spec, mut server) = pair();
        let path = "/api/{organization_slug}/{project_slug}/tasks/{id}";
        server["paths"][path]["get"]["responses"]["418"] = json!({"description": "teapot"});
        reported(
            &spec,
            &server,
            "GET /api/{organization_slug}/{project_slug}/tasks/{id}/ 418: returned by the server, not documented in the spec",
        );
    }

    #[test]
    fn server_route_missing_from_the_spec_is_reported() {
        let (spec, mut server) = pair();
        server["paths"]["/api/{organization_slug}/{project_slug}/reports"] = json!({
            "get": {"operationId": "report_list", "responses": {"200": {"description": ""}}}
        });
        reported(
            &spec,
            &server,
            "GET /api/{organization_slug}/{project_slug}/reports: served, missing from the spec",
        );
    }
}
