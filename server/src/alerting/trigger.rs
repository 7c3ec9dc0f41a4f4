//! Trigger points and their evaluation: a pure function of the task's state before and after
//! a write (see actions.md and the rules written in openapi.yaml's `Action` schema).

use crate::domain::tasks::Status;

/// One point of a trigger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Point {
    /// Fires when `value` reaches or passes it.
    Value(i64),
    /// `N%`: the same on `value_percent`.
    Percent(i64),
    /// `*/N`: every multiple of N from 0.
    EveryValue(i64),
    /// `*/N%`: every multiple of N% from 0%.
    EveryPercent(i64),
    /// A status name: fires each time the task enters it.
    Status(Status),
    /// Fires once when a running task exceeds its `max_runtime` (from the sweep).
    MaxRuntimeExceeded,
}

/// A parsed trigger: comma-separated points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trigger {
    pub points: Vec<Point>,
}

pub const MAX_RUNTIME_EXCEEDED: &str = "max_runtime_exceeded";

impl Trigger {
    /// Parses a trigger; the error names the first invalid point.
    pub fn parse(trigger: &str) -> Result<Trigger, String> {
        let points = trigger
            .split(',')
            .map(str::trim)
            .map(|point| {
                parse_point(point).ok_or_else(|| {
                    format!(
                        "\"{point}\" is not a valid trigger point: use a value (50), a \
                         percentage (50%), a step (*/10 or */10%), a status name or \
                         max_runtime_exceeded."
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Trigger { points })
    }
}

fn parse_point(point: &str) -> Option<Point> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some(step) = point.strip_prefix("*/") {
        return match step.strip_suffix('%') {
            Some(pct) if digits(pct) => pct
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=100).contains(n))
                .map(Point::EveryPercent),
            Some(_) => None,
            None if digits(step) => step
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 1)
                .map(Point::EveryValue),
            None => None,
        };
    }
    if let Some(pct) = point.strip_suffix('%') {
        return digits(pct)
            .then(|| pct.parse::<i64>().ok())
            .flatten()
            .filter(|n| *n <= 100)
            .map(Point::Percent);
    }
    if digits(point) {
        return point.parse::<i64>().ok().map(Point::Value);
    }
    if point == MAX_RUNTIME_EXCEEDED {
        return Some(Point::MaxRuntimeExceeded);
    }
    Status::parse(point).map(Point::Status)
}

/// What the evaluator looks at in a task.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub value: Option<i64>,
    pub percent: Option<i64>,
    /// `None` before a task exists.
    pub status: Option<Status>,
}

/// The highest value and percent points an action has already passed: a value or percent
/// point fires at most once per action, even if the value drops and comes back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Marks {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<i64>,
}

/// What happened to the task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// A write (or the stale sweep) took the task from `before` to `after`.
    Write { before: Snapshot, after: Snapshot },
    /// The task has run longer than its `max_runtime`.
    MaxRuntimeExceeded,
}

/// The outcome for one action: the point that fired (in the trigger's notation), if any, and
/// the marks to keep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub fired: Option<String>,
    pub marks: Marks,
}

/// Evaluates one action's trigger against a change.
///
/// Rules: a value point `p` fires when `before < p <= after` (a null value is below every
/// point) and `p` is above the action's mark; `*/N` stands for every multiple of N from 0; the
/// same on `value_percent` for `%` points. When one write passes several points, only the
/// highest fires. A status point fires when the task enters that status. At most one point
/// fires per change: a status point wins over value and percent points passed by the same
/// write, and a percent point over a value point. Passed points are consumed either way.
pub fn evaluate(trigger: &Trigger, change: Change, marks: Marks) -> Outcome {
    let (before, after) = match change {
        Change::MaxRuntimeExceeded => {
            let fired = trigger
                .points
                .contains(&Point::MaxRuntimeExceeded)
                .then(|| MAX_RUNTIME_EXCEEDED.to_owned());
            return Outcome { fired, marks };
        }
        Change::Write { before, after } => (before, after),
    };
    let value = highest_passed(trigger, false, before.value, after.value, marks.value);
    let percent = highest_passed(trigger, true, before.percent, after.percent, marks.percent);
    let status = after
        .status
        .filter(|now| before.status != Some(*now) && trigger.points.contains(&Point::Status(*now)));
    let new_marks = Marks {
        value: value.or(marks.value),
        percent: percent.or(marks.percent),
    };
    let fired = match (status, percent, value) {
        (Some(status), _, _) => Some(status.as_str().to_owned()),
        (None, Some(pct), _) => Some(format!("{pct}%")),
        (None, None, Some(v)) => Some(v.to_string()),
        (None, None, None) => None,
    };
    Outcome {
        fired,
        marks: new_marks,
    }
}

/// The highest value (or percent) point of the trigger in `(max(before, mark), after]`.
fn highest_passed(
    trigger: &Trigger,
    percent: bool,
    before: Option<i64>,
    after: Option<i64>,
    mark: Option<i64>,
) -> Option<i64> {
    let after = after?;
    let floor = match (before, mark) {
        (Some(b), Some(m)) => Some(b.max(m)),
        (b, m) => b.or(m),
    };
    let above = |p: i64| floor.is_none_or(|f| p > f) && p <= after;
    trigger
        .points
        .iter()
        .filter_map(|point| match (point, percent) {
            (Point::Value(p), false) | (Point::Percent(p), true) => Some(*p),
            (Point::EveryValue(n), false) | (Point::EveryPercent(n), true) if after >= 0 => {
                Some(after / n * n)
            }
            _ => None,
        })
        .filter(|p| above(*p))
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(value: Option<i64>, status: Option<Status>) -> Snapshot {
        Snapshot {
            value,
            percent: value,
            status,
        }
    }

    const P: Option<Status> = Some(Status::Processing);

    /// (trigger, before, after, marks) → fired point.
    #[test]
    fn the_table() {
        use Status::*;
        let none = Marks::default();
        #[rustfmt::skip]
        let cases: &[(&str, Snapshot, Snapshot, Marks, Option<&str>)] = &[
            // actions.md: */30% fires at 0, 30, 60, 90.
            ("*/30%", at(None, None), at(Some(0), Some(Pending)), none, Some("0%")),
            ("*/30%", at(Some(0), P), at(Some(29), P), Marks { value: Some(0), percent: Some(0) }, None),
            ("*/30%", at(Some(29), P), at(Some(30), P), Marks { value: None, percent: Some(0) }, Some("30%")),
            ("*/30%", at(Some(30), P), at(Some(95), P), Marks { value: None, percent: Some(30) }, Some("90%")),
            // */50% fires at 0, 50 and 100.
            ("*/50%", at(Some(99), P), at(Some(100), P), Marks { value: None, percent: Some(50) }, Some("100%")),
            // success,error,stale: on entering any of them.
            ("success,error,stale", at(Some(5), P), at(Some(5), Some(Stale)), none, Some("stale")),
            ("success,error,stale", at(Some(5), Some(Stale)), at(Some(5), Some(Stale)), none, None),
            ("success,error,stale", at(Some(5), Some(Stale)), at(Some(5), Some(Error)), none, Some("error")),
            ("success,error,stale", at(Some(5), P), at(Some(6), P), none, None),
            // 95%,250,error.
            ("95%,250,error", at(Some(10), P), at(Some(96), P), none, Some("95%")),
            ("95%,250,error", at(Some(10), P), at(Some(10), Some(Error)), none, Some("error")),
            // Edge case: 20,40,80 from 0 straight to 90 fires 80 only.
            ("20,40,80", at(Some(0), P), at(Some(90), P), none, Some("80")),
            // 100,success reached together fires once, naming the status.
            ("100,success", at(Some(50), P), at(Some(100), Some(Success)), none, Some("success")),
            // Reaching or passing: before < p <= after.
            ("50", at(Some(49), P), at(Some(50), P), none, Some("50")),
            ("50", at(Some(50), P), at(Some(60), P), none, None),
            ("50", at(None, P), at(Some(50), P), none, Some("50")),
            ("0", at(None, P), at(Some(0), P), none, Some("0")),
            // A null value is below every point, and reaches none.
            ("50", at(Some(60), P), at(None, P), none, None),
            // */100 reaching 300 names 300.
            ("*/100", at(Some(150), P), at(Some(300), P), Marks { value: Some(100), percent: None }, Some("300")),
            // At most once per action: the mark holds a point after the value drops and returns.
            ("*/50", at(Some(20), P), at(Some(60), P), Marks { value: Some(50), percent: None }, None),
            ("20,40,80", at(Some(10), P), at(Some(30), P), Marks { value: Some(80), percent: None }, None),
            // Status points fire every time the task enters the status.
            ("processing", at(None, Some(Pending)), at(None, P), none, Some("processing")),
            // max_runtime_exceeded only from the sweep.
            ("max_runtime_exceeded", at(Some(1), P), at(Some(2), P), none, None),
            // value_percent null (value_max 0): no percent point.
            ("50%", Snapshot { value: Some(0), percent: None, status: P }, Snapshot { value: Some(5), percent: None, status: P }, none, None),
        ];
        for (trigger, before, after, marks, expected) in cases {
            let t = Trigger::parse(trigger).unwrap();
            let out = evaluate(
                &t,
                Change::Write {
                    before: *before,
                    after: *after,
                },
                *marks,
            );
            assert_eq!(
                out.fired.as_deref(),
                *expected,
                "{trigger}: {before:?} -> {after:?} with {marks:?}"
            );
        }
    }

    #[test]
    fn marks_are_consumed_by_passed_points() {
        let t = Trigger::parse("20,40,80,success").unwrap();
        let out = evaluate(
            &t,
            Change::Write {
                before: at(Some(0), P),
                after: at(Some(90), Some(Status::Success)),
            },
            Marks::default(),
        );
        assert_eq!(out.fired.as_deref(), Some("success"));
        assert_eq!(out.marks.value, Some(80));
        // And nothing fires again on the way back up.
        let again = evaluate(
            &t,
            Change::Write {
                before: at(Some(10), P),
                after: at(Some(85), P),
            },
            out.marks,
        );
        assert_eq!(again.fired, None);
    }

    #[test]
    fn max_runtime_fires_only_its_point() {
        let with = Trigger::parse("error,max_runtime_exceeded").unwrap();
        let without = Trigger::parse("error").unwrap();
        let marks = Marks::default();
        assert_eq!(
            evaluate(&with, Change::MaxRuntimeExceeded, marks)
                .fired
                .as_deref(),
            Some("max_runtime_exceeded")
        );
        assert_eq!(
            evaluate(&without, Change::MaxRuntimeExceeded, marks).fired,
            None
        );
    }

    #[test]
    fn grammar() {
        for ok in [
            "50",
            "50%",
            "*/10",
            "*/25%",
            "success",
            "error,max_runtime_exceeded",
            "0, 100%",
        ] {
            assert!(Trigger::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "abc", "101%", "*/0", "*/0%", "-1", "*/", "50%%", "done", "+5", "*/+5", "1e3",
            "*/101%",
        ] {
            assert!(Trigger::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Trigger::parse("*/50%,7,stale").unwrap().points,
            vec![
                Point::EveryPercent(50),
                Point::Value(7),
                Point::Status(Status::Stale)
            ]
        );
    }
}

/// Property tests: the grammar takes any text without panicking, reads every point written
/// in its notation as that point, and evaluation is total over any values, marks and states.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// A point as written, with what it must parse to.
    fn point() -> impl Strategy<Value = (String, Point)> {
        prop_oneof![
            (0..=i64::MAX).prop_map(|n| (n.to_string(), Point::Value(n))),
            (0..=100i64).prop_map(|n| (format!("{n}%"), Point::Percent(n))),
            (1..=i64::MAX).prop_map(|n| (format!("*/{n}"), Point::EveryValue(n))),
            (1..=100i64).prop_map(|n| (format!("*/{n}%"), Point::EveryPercent(n))),
            prop::sample::select(Status::ALL.to_vec())
                .prop_map(|s| (s.as_str().to_owned(), Point::Status(s))),
            Just((MAX_RUNTIME_EXCEEDED.to_owned(), Point::MaxRuntimeExceeded)),
        ]
    }

    fn snapshot() -> impl Strategy<Value = Snapshot> {
        (
            any::<Option<i64>>(),
            any::<Option<i64>>(),
            prop::option::of(prop::sample::select(Status::ALL.to_vec())),
        )
            .prop_map(|(value, percent, status)| Snapshot {
                value,
                percent,
                status,
            })
    }

    proptest! {
        #[test]
        fn any_text_is_a_trigger_or_a_typed_error(text in any::<String>()) {
            if let Err(message) = Trigger::parse(&text) {
                prop_assert!(message.contains("is not a valid trigger point"));
            }
        }

        #[test]
        fn near_misses_parse_point_by_point(text in "[*/%0-9a-z_, ]{0,40}") {
            match Trigger::parse(&text) {
                // One point per comma-separated part, each readable on its own.
                Ok(trigger) => {
                    let parts: Vec<&str> = text.split(',').collect();
                    prop_assert_eq!(trigger.points.len(), parts.len());
                    for (part, point) in parts.iter().zip(&trigger.points) {
                        prop_assert_eq!(&Trigger::parse(part).unwrap().points[0], point);
                    }
                }
                // The message quotes the first part that is not a point.
                Err(message) => {
                    let bad = text
                        .split(',')
                        .map(str::trim)
                        .find(|p| Trigger::parse(p).is_err())
                        .unwrap();
                    prop_assert!(message.starts_with(&format!("\"{bad}\"")), "{}", message);
                }
            }
        }

        #[test]
        fn written_points_read_back(points in prop::collection::vec(point(), 1..8), sep in ",|, | , ") {
            let text: Vec<&str> = points.iter().map(|(t, _)| t.as_str()).collect();
            let parsed = Trigger::parse(&text.join(&sep)).unwrap();
            let expected: Vec<Point> = points.into_iter().map(|(_, p)| p).collect();
            prop_assert_eq!(parsed.points, expected);
        }

        #[test]
        fn evaluation_is_total_and_fires_only_passed_points(
            points in prop::collection::vec(point(), 1..6),
            before in snapshot(),
            after in snapshot(),
            marks in (any::<Option<i64>>(), any::<Option<i64>>()),
        ) {
            let trigger = Trigger { points: points.into_iter().map(|(_, p)| p).collect() };
            let marks = Marks { value: marks.0, percent: marks.1 };
            let out = evaluate(&trigger, Change::Write { before, after }, marks);
            if let Some(fired) = &out.fired {
                let passed = |p: i64, from: Option<i64>, to: Option<i64>| {
                    from.is_none_or(|f| p > f) && to.is_some_and(|t| p <= t)
                };
                if let Some(pct) = fired.strip_suffix('%') {
                    prop_assert!(passed(pct.parse().unwrap(), before.percent, after.percent));
                } else if let Ok(v) = fired.parse::<i64>() {
                    prop_assert!(passed(v, before.value, after.value));
                } else {
                    prop_assert_eq!(Some(fired.as_str()), after.status.map(|s| s.as_str()));
                    prop_assert_ne!(before.status, after.status);
                }
            }
            let exceeded = evaluate(&trigger, Change::MaxRuntimeExceeded, marks);
            prop_assert_eq!(exceeded.marks, marks);
        }
    }
}
