//! Contract checks for the black-box tests: a response body must match what openapi.yaml
//! documents for its path and status.

use serde_json::Value;

use crate::spec::{self, SchemaSet, deref};

pub struct Contract {
    doc: Value,
    schemas: SchemaSet,
}

fn matches(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (
        template.trim_matches('/').split('/').collect(),
        path.trim_matches('/').split('/').collect(),
    );
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(a, b)| (a.starts_with('{') && a.ends_with('}') && !b.is_empty()) || a == b)
}

impl Contract {
    pub fn canonical() -> Self {
        let doc = spec::load_canonical().expect("openapi.yaml loads");
        Self {
            schemas: SchemaSet::new(&doc),
            doc,
        }
    }

    /// Checks one response. `path` is the request path; `body` is `Null` when empty.
    /// Paths outside the API (docs, health) are not checked.
    pub fn check(&self, method: &str, path: &str, status: u16, body: &Value) -> Result<(), String> {
        if !path.starts_with("/api/")
            || path.starts_with("/api/docs")
            || path.starts_with("/api/schema")
        {
            return Ok(());
        }
        let item = self
            .doc
            .get("paths")
            .and_then(Value::as_object)
            .and_then(|paths| paths.iter().find(|(t, _)| matches(t, path)).map(|(_, i)| i));
        let error_schema = serde_json::json!({"$ref": "#/components/schemas/ErrorResponse"});
        let Some(item) = item else {
            // An unknown route answers with the error body.
            return self.validate(&error_schema, body, &format!("{status} {path}"));
        };
        let method = method.to_ascii_lowercase();
        let response = item
            .get(&method)
            .and_then(|op| op.get("responses"))
            .and_then(|r| r.get(status.to_string()))
            .map(|r| deref(&self.doc, r));
        let Some(response) = response else {
            // A method the path does not have is answered with a documented 405 of the path.
            if status == 405 {
                return self.validate(&error_schema, body, &format!("405 {path}"));
            }
            return Err(format!(
                "{} {path}: status {status} is not documented",
                method.to_uppercase()
            ));
        };
        match response.pointer("/content/application~1json/schema") {
            Some(schema) => self.validate(
                schema,
                body,
                &format!("{} {path} {status}", method.to_uppercase()),
            ),
            None if body.is_null() => Ok(()),
            None => Err(format!(
                "{} {path} {status}: documented without a body, got {body}",
                method.to_uppercase()
            )),
        }
    }

    /// Like [`Contract::check`] when the method is unknown: the body must match what some
    /// method of the path documents for the status (in this API the path and the status
    /// determine the schema).
    pub fn check_any_method(&self, path: &str, status: u16, body: &Value) -> Result<(), String> {
        let methods = ["get", "put", "post", "delete", "patch"];
        let mut errors = Vec::new();
        for method in methods {
            match self.check(method, path, status, body) {
                Ok(()) => return Ok(()),
                Err(e) => errors.push(e),
            }
        }
        Err(errors.join("\n"))
    }

    /// Checks a document against a named component schema (e.g. `WebhookEvent`, which no
    /// response carries).
    pub fn check_schema(&self, name: &str, body: &Value) -> Result<(), String> {
        let schema = serde_json::json!({ "$ref": format!("#/components/schemas/{name}") });
        self.validate(&schema, body, name)
    }

    fn validate(&self, schema: &Value, body: &Value, at: &str) -> Result<(), String> {
        self.schemas.validate(schema, body).map_err(|errors| {
            format!(
                "{at}: the body does not match openapi.yaml: {}",
                errors.join("; ")
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_templates() {
        assert!(matches("/api/{o}/{p}/tasks/", "/api/a/b/tasks"));
        assert!(matches("/api/{o}/{p}/tasks/{id}/", "/api/a/b/tasks/x/"));
        assert!(!matches("/api/{o}/{p}/tasks/", "/api/a/b/tasks/x"));
    }

    #[test]
    fn contract_rejects_what_the_spec_does_not_describe() {
        let c = Contract::canonical();
        let err = serde_json::json!({"type": "client_error", "errors": [
            {"code": "not_found", "detail": "Not found.", "attr": null}]});
        assert!(c.check("GET", "/api/o/p/tasks/x/", 404, &err).is_ok());
        assert!(
            c.check(
                "GET",
                "/api/o/p/tasks/x/",
                404,
                &serde_json::json!({"detail": "x"})
            )
            .is_err()
        );
        assert!(
            c.check("GET", "/api/o/p/tasks/x/", 418, &err).is_err(),
            "undocumented status"
        );
        let bad_task = serde_json::json!({"id": "x", "status": "weird"});
        assert!(c.check("GET", "/api/o/p/tasks/x/", 200, &bad_task).is_err());
    }
}
