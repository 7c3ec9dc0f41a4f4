//! Request bodies as the domain reads them: JSON checked field by field into typed inputs,
//! with one `FieldError` per invalid field (its `attr` a dotted path).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::actions::{ActionInput, ActionPatch};
use super::tasks::{Status, TaskInput, TaskPatch, parse_duration};
use super::{DomainError, DomainResult, FieldError};

/// A nullable field of a partial update: absent (`None`), null (`Some(None)`), or a value.
pub type Nullable<T> = Option<Option<T>>;

/// Reads the fields of one JSON object, collecting errors instead of stopping at the first.
pub struct Fields<'a> {
    obj: &'a Map<String, Value>,
    prefix: String,
    errors: &'a mut Vec<FieldError>,
}

const MAX_INT32: i64 = 2_147_483_647;

impl<'a> Fields<'a> {
    fn attr(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn error(&mut self, name: &str, code: &'static str, detail: impl Into<String>) {
        let attr = self.attr(name);
        self.errors.push(FieldError::new(attr, code, detail));
    }

    /// A NUL character: refused in every text (PostgreSQL cannot store it, so neither store
    /// takes it), with Django REST framework's code.
    fn null_characters(&mut self, name: &str) {
        self.error(
            name,
            "null_characters_not_allowed",
            "Null characters are not allowed.",
        );
    }

    /// A JSON value that may be stored as is (`data`, an action's `config`): no NUL in any
    /// string or key at any depth.
    fn free_json(&mut self, name: &str) -> Option<Value> {
        let value = self.raw(name)?;
        if has_nul(value) {
            self.null_characters(name);
        }
        Some(value.clone())
    }

    /// The raw value: `None` when absent, `Some(Value::Null)` when null.
    fn raw(&self, name: &str) -> Option<&'a Value> {
        self.obj.get(name)
    }

    fn required(&mut self, name: &str) -> Option<&'a Value> {
        let value = self.raw(name);
        if value.is_none() {
            self.error(name, "required", "This field is required.");
        }
        value
    }

    /// A string of `min..=max` characters. Null is an error unless `nullable`.
    fn string(&mut self, name: &str, value: &Value, min: usize, max: usize) -> Option<String> {
        let Value::String(s) = value else {
            self.error(name, "invalid", "Not a valid string.");
            return None;
        };
        if s.contains('\0') {
            self.null_characters(name);
            return None;
        }
        let len = s.chars().count();
        if len < min {
            if len == 0 {
                self.error(name, "blank", "This field may not be blank.");
            } else {
                self.error(
                    name,
                    "min_length",
                    format!("Ensure this field has at least {min} characters."),
                );
            }
            return None;
        }
        if len > max {
            self.error(
                name,
                "max_length",
                format!("Ensure this field has no more than {max} characters."),
            );
            return None;
        }
        Some(s.clone())
    }

    fn boolean(&mut self, name: &str, value: &Value) -> Option<bool> {
        match value {
            Value::Bool(b) => Some(*b),
            _ => {
                self.error(name, "invalid", "Must be a valid boolean.");
                None
            }
        }
    }

    fn int(&mut self, name: &str, value: &Value, min: i64, max: i64) -> Option<i64> {
        let Some(n) = value.as_i64() else {
            let detail = if value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0) {
                format!("Ensure this value is less than or equal to {max}.")
            } else {
                "A valid integer is required.".to_owned()
            };
            let code = if detail.starts_with("Ensure") {
                "max_value"
            } else {
                "invalid"
            };
            self.error(name, code, detail);
            return None;
        };
        if n < min {
            self.error(
                name,
                "min_value",
                format!("Ensure this value is greater than or equal to {min}."),
            );
            return None;
        }
        if n > max {
            self.error(
                name,
                "max_value",
                format!("Ensure this value is less than or equal to {max}."),
            );
            return None;
        }
        Some(n)
    }

    fn datetime(&mut self, name: &str, value: &Value) -> Option<DateTime<Utc>> {
        let parsed = value
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|d| d.with_timezone(&Utc));
        if parsed.is_none() {
            self.error(
                name,
                "invalid",
                "Datetime has wrong format. Use an RFC 3339 date-time such as 2026-01-31T12:00:00Z.",
            );
        }
        parsed
    }

    fn duration(&mut self, name: &str, value: &Value) -> Option<i64> {
        let parsed = match value {
            Value::String(s) => parse_duration(s),
            Value::Number(n) => n.as_f64().filter(|f| *f >= 0.0).map(|f| (f * 1e6) as i64),
            _ => None,
        };
        if parsed.is_none() {
            self.error(
                name,
                "invalid",
                "Duration has wrong format. Use seconds or [D ]HH:MM:SS[.ffffff].",
            );
        }
        parsed
    }

    /// Applies `read` to a present value, mapping null to `Some(None)` when `nullable`.
    fn nullable<T>(
        &mut self,
        name: &str,
        nullable: bool,
        read: impl FnOnce(&mut Self, &'a Value) -> Option<T>,
    ) -> Result<Nullable<T>, ()> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Null) if nullable => Ok(Some(None)),
            Some(Value::Null) => {
                self.error(name, "null", "This field may not be null.");
                Err(())
            }
            Some(value) => read(self, value).map(|v| Some(Some(v))).ok_or(()),
        }
    }

    fn tags(&mut self, name: &str, value: &Value) -> Option<BTreeMap<String, String>> {
        let Value::Object(map) = value else {
            self.error(
                name,
                "invalid",
                "Expected an object mapping namespace to value.",
            );
            return None;
        };
        let mut tags = BTreeMap::new();
        let mut ok = true;
        for (namespace, value) in map {
            let attr = format!("{name}.{namespace}");
            if namespace.contains('\0') {
                self.null_characters(name);
                ok = false;
                continue;
            }
            let ns_len = namespace.chars().count();
            if !(1..=255).contains(&ns_len) {
                self.error(
                    &attr,
                    "invalid",
                    "Tag namespaces must have 1 to 255 characters.",
                );
                ok = false;
                continue;
            }
            match self.string(&attr, value, 1, 255) {
                Some(v) => {
                    tags.insert(namespace.clone(), v);
                }
                None => ok = false,
            }
        }
        ok.then_some(tags)
    }

    fn status(&mut self, name: &str, value: &Value) -> Option<Status> {
        let parsed = value.as_str().and_then(Status::parse);
        if parsed.is_none() {
            self.error(
                name,
                "invalid_choice",
                format!("{value} is not a valid choice."),
            );
        }
        parsed
    }

    fn actions(&mut self, name: &str, value: &Value) -> Option<Vec<ActionInput>> {
        let Value::Array(items) = value else {
            self.error(name, "not_a_list", "Expected a list of actions.");
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        let before = self.errors.len();
        for (i, item) in items.iter().enumerate() {
            let prefix = format!("{}{name}.{i}.", self.prefix);
            if let Some(action) = read_action(item, &prefix, self.errors) {
                out.push(action);
            }
        }
        (self.errors.len() == before).then_some(out)
    }
}

fn object<'a>(
    body: &'a Value,
    prefix: &str,
    errors: &mut Vec<FieldError>,
) -> Option<&'a Map<String, Value>> {
    match body {
        Value::Object(obj) => Some(obj),
        other => {
            let attr = prefix.trim_end_matches('.');
            errors.push(FieldError::new(
                attr,
                "invalid",
                format!(
                    "Invalid data. Expected an object, but got {}.",
                    json_kind(other)
                ),
            ));
            None
        }
    }
}

/// Whether any string or key inside `value` holds a NUL character.
fn has_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn finish<T>(errors: Vec<FieldError>, value: Option<T>) -> DomainResult<T> {
    match value {
        Some(value) if errors.is_empty() => Ok(value),
        _ => Err(DomainError::Validation(errors)),
    }
}

/// A field's value; a field that failed reads as absent (its error is already recorded, so the
/// whole body is refused by `finish`).
fn read<T>(r: Result<Nullable<T>, ()>) -> Nullable<T> {
    r.unwrap_or(None)
}

/// Keeps a field's value, or records that it failed.
fn ok<T>(r: Result<Nullable<T>, ()>, failed: &mut bool) -> Nullable<T> {
    r.unwrap_or_else(|()| {
        *failed = true;
        None
    })
}

/// Every field of a partial task update, as read from JSON.
fn read_task_fields(f: &mut Fields<'_>) -> Result<TaskPatch, ()> {
    let mut failed = false;
    let name = ok(
        f.nullable("name", false, |f, v| f.string("name", v, 1, 255)),
        &mut failed,
    )
    .flatten();
    let status = ok(
        f.nullable("status", false, |f, v| f.status("status", v)),
        &mut failed,
    )
    .flatten();
    let value = ok(
        f.nullable("value", true, |f, v| f.int("value", v, 0, i64::MAX)),
        &mut failed,
    );
    let value_max = ok(
        f.nullable("value_max", false, |f, v| {
            f.int("value_max", v, 0, i64::MAX)
        }),
        &mut failed,
    )
    .flatten();
    let data = f.free_json("data").map(|v| (!v.is_null()).then_some(v));
    let max_runtime = ok(
        f.nullable("max_runtime", true, |f, v| {
            f.int("max_runtime", v, 1, MAX_INT32)
        }),
        &mut failed,
    );
    let stale_timeout = ok(
        f.nullable("stale_timeout", true, |f, v| {
            f.int("stale_timeout", v, 1, MAX_INT32)
        }),
        &mut failed,
    );
    let start_time = ok(
        f.nullable("start_time", true, |f, v| f.datetime("start_time", v)),
        &mut failed,
    );
    let end_time = ok(
        f.nullable("end_time", true, |f, v| f.datetime("end_time", v)),
        &mut failed,
    );
    let time_to_start = ok(
        f.nullable("time_to_start", true, |f, v| f.duration("time_to_start", v)),
        &mut failed,
    );
    let tags = ok(
        f.nullable("tags", false, |f, v| f.tags("tags", v)),
        &mut failed,
    )
    .flatten();
    let queue = ok(
        f.nullable("queue", true, |f, v| f.string("queue", v, 0, 255)),
        &mut failed,
    );
    let external_id = ok(
        f.nullable("external_id", true, |f, v| {
            f.string("external_id", v, 0, 255)
        }),
        &mut failed,
    );
    let parent = ok(
        f.nullable("parent", true, |f, v| f.string("parent", v, 1, 26)),
        &mut failed,
    );
    let actions = ok(
        f.nullable("actions", false, |f, v| f.actions("actions", v)),
        &mut failed,
    )
    .flatten()
    .unwrap_or_default();
    if failed {
        return Err(());
    }
    Ok(TaskPatch {
        name,
        status,
        value,
        value_max,
        data,
        max_runtime: max_runtime.map(|o| o.map(|n| n as i32)),
        stale_timeout: stale_timeout.map(|o| o.map(|n| n as i32)),
        start_time,
        end_time,
        time_to_start,
        tags,
        queue,
        external_id,
        parent,
        actions,
    })
}

impl TaskPatch {
    /// Reads a PATCH body. A missing body is an empty update.
    pub fn from_json(body: Option<&Value>) -> DomainResult<Self> {
        let Some(body) = body else {
            return Ok(TaskPatch::default());
        };
        let mut errors = Vec::new();
        let patch = object(body, "", &mut errors).and_then(|obj| {
            read_task_fields(&mut Fields {
                obj,
                prefix: String::new(),
                errors: &mut errors,
            })
            .ok()
        });
        finish(errors, patch)
    }
}

impl TaskInput {
    /// Reads a create or PUT body: `name` is required, absent fields take their defaults.
    pub fn from_json(body: &Value) -> DomainResult<Self> {
        let mut errors = Vec::new();
        let input = object(body, "", &mut errors).and_then(|obj| {
            let mut f = Fields {
                obj,
                prefix: String::new(),
                errors: &mut errors,
            };
            f.required("name");
            let patch = read_task_fields(&mut f).ok()?;
            Some(TaskInput::from_patch(patch))
        });
        finish(errors, input.flatten())
    }
}

fn read_action(body: &Value, prefix: &str, errors: &mut Vec<FieldError>) -> Option<ActionInput> {
    let obj = object(body, prefix, errors)?;
    let mut f = Fields {
        obj,
        prefix: prefix.to_owned(),
        errors,
    };
    let trigger = f.required("trigger");
    let integration = f.required("integration");
    let patch = read_action_fields(&mut f)?;
    trigger?;
    integration?;
    ActionInput::from_patch(patch, prefix, f.errors)
}

fn read_action_fields(f: &mut Fields<'_>) -> Option<ActionPatch> {
    let mut failed = false;
    let trigger = f
        .nullable("trigger", false, |f, v| f.string("trigger", v, 1, 255))
        .map_err(|_| failed = true)
        .ok()
        .flatten()
        .flatten();
    let integration = f
        .nullable("integration", false, |f, v| {
            f.string("integration", v, 1, 50)
        })
        .map_err(|_| failed = true)
        .ok()
        .flatten()
        .flatten();
    let config = f.free_json("config");
    (!failed).then_some(ActionPatch {
        trigger,
        integration,
        config,
    })
}

impl ActionInput {
    /// Reads a create or PUT action body.
    pub fn from_json(body: &Value) -> DomainResult<Self> {
        let mut errors = Vec::new();
        let input = read_action(body, "", &mut errors);
        finish(errors, input)
    }
}

impl ActionPatch {
    /// Reads a PATCH action body (the merged result is validated by the domain).
    pub fn from_json(body: Option<&Value>) -> DomainResult<Self> {
        let Some(body) = body else {
            return Ok(ActionPatch::default());
        };
        let mut errors = Vec::new();
        let patch = object(body, "", &mut errors).and_then(|obj| {
            read_action_fields(&mut Fields {
                obj,
                prefix: String::new(),
                errors: &mut errors,
            })
        });
        finish(errors, patch)
    }
}

/// A web hook body: every field optional here; `webhooks::create` requires slug and url.
#[derive(Clone, Debug, Default)]
pub struct WebhookPatch {
    pub slug: Option<String>,
    pub url: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

impl WebhookPatch {
    /// Reads a web hook create (`required` = true) or PATCH body.
    pub fn from_json(body: Option<&Value>, required: bool) -> DomainResult<Self> {
        let Some(body) = body else {
            return Ok(WebhookPatch::default());
        };
        let mut errors = Vec::new();
        let patch = object(body, "", &mut errors).map(|obj| {
            let mut f = Fields {
                obj,
                prefix: String::new(),
                errors: &mut errors,
            };
            if required {
                f.required("slug");
                f.required("url");
            }
            let text = |f: &mut Fields<'_>, name: &str, min, max| {
                f.raw(name).and_then(|v| f.string(name, v, min, max))
            };
            let slug = text(&mut f, "slug", 1, 50);
            let url = text(&mut f, "url", 1, 2048);
            let description = text(&mut f, "description", 0, 1000);
            let enabled = f.raw("enabled").and_then(|v| f.boolean("enabled", v));
            WebhookPatch {
                slug,
                url,
                description,
                enabled,
            }
        });
        finish(errors, patch)
    }
}

/// A project-wide action body: every field optional here; `project_actions::create`
/// requires name, trigger and integration, and validates the merged action as a whole.
#[derive(Clone, Debug, Default)]
pub struct ProjectActionPatch {
    pub name: Option<String>,
    pub name_filter: Option<String>,
    pub action: ActionPatch,
    pub enabled: Option<bool>,
}

impl ProjectActionPatch {
    /// Reads a create (`required` = true) or PATCH body.
    pub fn from_json(body: Option<&Value>, required: bool) -> DomainResult<Self> {
        let Some(body) = body else {
            return Ok(ProjectActionPatch::default());
        };
        let mut errors = Vec::new();
        let patch = object(body, "", &mut errors).and_then(|obj| {
            let mut f = Fields {
                obj,
                prefix: String::new(),
                errors: &mut errors,
            };
            if required {
                f.required("name");
                f.required("trigger");
                f.required("integration");
            }
            let name = f.raw("name").and_then(|v| f.string("name", v, 1, 255));
            let name_filter = match f.raw("name_filter") {
                None | Some(Value::Null) => None,
                Some(v) => Some(f.string("name_filter", v, 0, usize::MAX)),
            };
            let enabled = f.raw("enabled").and_then(|v| f.boolean("enabled", v));
            let action = read_action_fields(&mut f)?;
            Some(ProjectActionPatch {
                name,
                name_filter: name_filter.map(Option::unwrap_or_default),
                action,
                enabled,
            })
        });
        finish(errors, patch)
    }
}

/// The longest interval, grace period or `max_runtime` of a monitor (a year, in seconds).
pub const MAX_MONITOR_SECS: i64 = crate::alerting::schedule::MAX_INTERVAL_SECS;

/// A monitor body: every field optional here; `monitors::create` requires name and kind, and
/// validates the merged monitor as a whole.
#[derive(Clone, Debug, Default)]
pub struct MonitorPatch {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub interval: Nullable<i64>,
    pub schedule: Nullable<String>,
    pub timezone: Option<String>,
    pub grace: Option<i64>,
    pub max_runtime: Nullable<i64>,
    pub alert_integration: Nullable<String>,
    pub alert_config: Nullable<Value>,
    pub enabled: Option<bool>,
}

impl MonitorPatch {
    /// Reads a create (`required` = true) or PATCH body.
    pub fn from_json(body: Option<&Value>, required: bool) -> DomainResult<Self> {
        let Some(body) = body else {
            return Ok(MonitorPatch::default());
        };
        let mut errors = Vec::new();
        let patch = object(body, "", &mut errors).map(|obj| {
            let mut f = Fields {
                obj,
                prefix: String::new(),
                errors: &mut errors,
            };
            if required {
                f.required("name");
                f.required("kind");
            }
            let name = read(f.nullable("name", false, |f, v| f.string("name", v, 1, 255)));
            let kind = read(f.nullable("kind", false, |f, v| match v.as_str() {
                Some(k @ ("interval" | "cron")) => Some(k.to_owned()),
                _ => {
                    f.error("kind", "invalid_choice", "Use \"interval\" or \"cron\".");
                    None
                }
            }));
            let interval = read(f.nullable("interval", true, |f, v| {
                f.int("interval", v, 1, MAX_MONITOR_SECS)
            }));
            let schedule =
                read(f.nullable("schedule", true, |f, v| f.string("schedule", v, 1, 255)));
            let timezone =
                read(f.nullable("timezone", false, |f, v| f.string("timezone", v, 1, 64)));
            let grace = read(f.nullable("grace", false, |f, v| {
                f.int("grace", v, 0, MAX_MONITOR_SECS)
            }));
            let max_runtime = read(f.nullable("max_runtime", true, |f, v| {
                f.int("max_runtime", v, 1, MAX_MONITOR_SECS)
            }));
            let alert_integration = read(f.nullable("alert_integration", true, |f, v| {
                f.string("alert_integration", v, 1, 60)
            }));
            let alert_config =
                read(f.nullable("alert_config", true, |f, _| f.free_json("alert_config")));
            let enabled = read(f.nullable("enabled", false, |f, v| f.boolean("enabled", v)));
            MonitorPatch {
                name: name.flatten(),
                kind: kind.flatten(),
                interval,
                schedule,
                timezone: timezone.flatten(),
                grace: grace.flatten(),
                max_runtime,
                alert_integration,
                alert_config,
                enabled: enabled.flatten(),
            }
        });
        finish(errors, patch)
    }
}
