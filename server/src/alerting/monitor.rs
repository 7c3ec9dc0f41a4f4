//! A monitor's state machine, pure: what a check-in, a due time and a run's outcome do to a
//! monitor, and which event (if any) results. The check-in (in the task-create transaction)
//! and the monitor sweep call it with the rows and times they hold.
//!
//! States: `new` (no run seen yet: nothing is expected), `up`, `late` (past
//! `next_expected_at`, within `grace`), `down`. One episode, from `new`/`up`/`late` to `down`,
//! fires exactly one event: `monitor.missed` (no run by `next_expected_at + grace`) or
//! `monitor.failed` (a run ended in `error` or `stale`, or outlived the monitor's
//! `max_runtime`). A `down` monitor stays down through check-ins until a run succeeds, which
//! fires `monitor.recovered`. A disabled monitor is `paused`: check-ins link their task and
//! change nothing else; on resume it starts again as `new`.

use chrono::{DateTime, TimeDelta, Utc};

use super::schedule::Schedule;
use crate::storage::entities::monitor;
use crate::storage::tasks::ms;

/// A monitor's stored state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    New,
    Up,
    Late,
    Down,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::New => "new",
            State::Up => "up",
            State::Late => "late",
            State::Down => "down",
        }
    }

    pub fn parse(s: &str) -> State {
        match s {
            "up" => State::Up,
            "late" => State::Late,
            "down" => State::Down,
            _ => State::New,
        }
    }
}

/// What a monitor tells its integration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    Missed,
    Failed,
    Recovered,
}

impl Event {
    /// The event's `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Missed => "monitor.missed",
            Event::Failed => "monitor.failed",
            Event::Recovered => "monitor.recovered",
        }
    }
}

/// How a monitored run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// `error` or `stale`, or the monitor's `max_runtime` passed.
    Failure,
    /// `cancelled`, or the task was deleted: neither a success nor a failure.
    Neither,
}

impl Outcome {
    /// The outcome of a task that ended with `status`; `overran` when it outlived the
    /// monitor's `max_runtime`.
    pub fn of(status: Option<&str>, overran: bool) -> Outcome {
        match status {
            _ if overran => Outcome::Failure,
            Some("success") => Outcome::Success,
            Some("error" | "stale") => Outcome::Failure,
            _ => Outcome::Neither,
        }
    }
}

/// The schedule a monitor row describes (`None` if its stored fields no longer parse).
pub fn schedule(m: &monitor::Model) -> Option<Schedule> {
    match (m.kind.as_str(), m.interval_secs, m.schedule.as_deref()) {
        ("interval", Some(secs), _) => Schedule::interval(secs).ok(),
        ("cron", _, Some(pattern)) => Schedule::cron(pattern, &m.timezone).ok(),
        _ => None,
    }
}

/// The state the API shows: `paused` while disabled.
pub fn shown_state(m: &monitor::Model) -> &str {
    if m.enabled { &m.state } else { "paused" }
}

fn state(m: &monitor::Model) -> State {
    State::parse(&m.state)
}

fn set_state(m: &mut monitor::Model, s: State) {
    m.state = s.as_str().to_owned();
}

fn deadline(m: &monitor::Model) -> Option<DateTime<Utc>> {
    m.next_expected_at?
        .checked_add_signed(TimeDelta::seconds(m.grace))
}

/// When the sweep must next look at `m` (Unix ms): at `next_expected_at` while up, at the end
/// of the grace period while late; never while new, down or paused.
pub fn due_ms(m: &monitor::Model) -> Option<i64> {
    if !m.enabled {
        return None;
    }
    match state(m) {
        State::Up => m.next_expected_at.map(ms),
        State::Late => deadline(m).map(ms),
        State::New | State::Down => None,
    }
}

fn refresh_due(m: &mut monitor::Model) {
    m.due_ms = due_ms(m);
}

/// A run linked at `at`: the next one is expected from it. Returns whether the monitor
/// tracks the run's outcome (not while paused).
pub fn check_in(m: &mut monitor::Model, task_id: &str, at: DateTime<Utc>) -> bool {
    m.last_task = Some(task_id.to_owned());
    m.last_run_at = Some(at);
    if !m.enabled {
        return false;
    }
    m.next_expected_at = schedule(m).and_then(|s| s.next_after(at));
    if state(m) != State::Down {
        set_state(m, State::Up);
    }
    refresh_due(m);
    true
}

/// The sweep found `m` due at `now`: up turns late past `next_expected_at`, late turns down
/// past the grace period, firing `monitor.missed`. Returns whether `m` changed, and the event.
pub fn on_due(m: &mut monitor::Model, now: DateTime<Utc>) -> (bool, Option<Event>) {
    let before = m.clone();
    let mut event = None;
    if m.enabled {
        let expected = m.next_expected_at;
        if state(m) == State::Up && expected.is_some_and(|t| now >= t) {
            set_state(m, State::Late);
        }
        if state(m) == State::Late && deadline(m).is_some_and(|t| now >= t) {
            set_state(m, State::Down);
            event = Some(Event::Missed);
        }
    }
    refresh_due(m);
    (*m != before, event)
}

/// A linked run ended: a failure makes the monitor down (once per episode), a success after
/// down recovers it. A paused monitor ignores outcomes.
pub fn on_outcome(m: &mut monitor::Model, outcome: Outcome) -> Option<Event> {
    if !m.enabled {
        return None;
    }
    let event = match (state(m), outcome) {
        (State::Down, Outcome::Success) => {
            set_state(m, State::Up);
            Some(Event::Recovered)
        }
        (State::Down, _) | (_, Outcome::Neither) | (_, Outcome::Success) => None,
        (_, Outcome::Failure) => {
            set_state(m, State::Down);
            Some(Event::Failed)
        }
    };
    refresh_due(m);
    event
}

/// Enabled again after a pause: it starts over as `new`, expecting nothing until a run.
pub fn resumed(m: &mut monitor::Model) {
    set_state(m, State::New);
    m.next_expected_at = None;
    refresh_due(m);
}

/// The schedule changed: the next run is expected per the new one from the last run, and a
/// late monitor whose new expectation is still ahead is up again (the sweep takes it from
/// there).
pub fn rescheduled(m: &mut monitor::Model, now: DateTime<Utc>) {
    if let Some(last) = m.last_run_at
        && m.enabled
    {
        m.next_expected_at = schedule(m).and_then(|s| s.next_after(last));
        if state(m) == State::Late && m.next_expected_at.is_none_or(|t| now < t) {
            set_state(m, State::Up);
        }
    }
    refresh_due(m);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn interval(secs: i64, grace: i64) -> monitor::Model {
        let t = at("2026-12-07T00:00:00Z");
        monitor::Model {
            id: "m".into(),
            project_id: 1,
            name: "nightly".into(),
            kind: "interval".into(),
            interval_secs: Some(secs),
            schedule: None,
            timezone: "UTC".into(),
            grace,
            max_runtime: None,
            alert_integration: None,
            alert_config: serde_json::json!({}),
            enabled: true,
            state: "new".into(),
            last_task: None,
            last_run_at: None,
            next_expected_at: None,
            due_ms: None,
            revision: 0,
            created: t,
            updated: t,
        }
    }

    #[test]
    fn new_expects_nothing_until_a_check_in() {
        let mut m = interval(60, 10);
        assert_eq!(due_ms(&m), None);
        assert_eq!(on_due(&mut m, at("2027-01-01T00:00:00Z")), (false, None));
        assert!(check_in(&mut m, "t1", at("2026-12-07T10:00:00Z")));
        assert_eq!(m.state, "up");
        assert_eq!(m.next_expected_at, Some(at("2026-12-07T10:01:00Z")));
        assert_eq!(m.due_ms, Some(ms(at("2026-12-07T10:01:00Z"))));
    }

    #[test]
    fn late_then_down_fires_missed_once() {
        let mut m = interval(60, 10);
        check_in(&mut m, "t1", at("2026-12-07T10:00:00Z"));
        // Not yet due: nothing changes.
        assert_eq!(on_due(&mut m, at("2026-12-07T10:00:59Z")), (false, None));
        assert_eq!(on_due(&mut m, at("2026-12-07T10:01:00Z")), (true, None));
        assert_eq!(m.state, "late");
        assert_eq!(m.due_ms, Some(ms(at("2026-12-07T10:01:10Z"))));
        assert_eq!(
            on_due(&mut m, at("2026-12-07T10:01:10Z")),
            (true, Some(Event::Missed))
        );
        assert_eq!(m.state, "down");
        assert_eq!(m.due_ms, None);
        // Down: later sweeps fire nothing more.
        assert_eq!(on_due(&mut m, at("2026-12-08T00:00:00Z")), (false, None));
    }

    #[test]
    fn far_past_due_goes_straight_down() {
        let mut m = interval(60, 10);
        check_in(&mut m, "t1", at("2026-12-07T10:00:00Z"));
        assert_eq!(
            on_due(&mut m, at("2026-12-07T11:00:00Z")),
            (true, Some(Event::Missed))
        );
    }

    #[test]
    fn a_late_check_in_is_up_again() {
        let mut m = interval(60, 10);
        check_in(&mut m, "t1", at("2026-12-07T10:00:00Z"));
        on_due(&mut m, at("2026-12-07T10:01:05Z"));
        assert_eq!(m.state, "late");
        check_in(&mut m, "t2", at("2026-12-07T10:01:06Z"));
        assert_eq!(m.state, "up");
        assert_eq!(m.next_expected_at, Some(at("2026-12-07T10:02:06Z")));
    }

    #[test]
    fn down_holds_through_a_check_in_until_a_success() {
        let mut m = interval(60, 10);
        check_in(&mut m, "t1", at("2026-12-07T10:00:00Z"));
        on_due(&mut m, at("2026-12-07T10:05:00Z"));
        assert_eq!(m.state, "down");
        check_in(&mut m, "t2", at("2026-12-07T10:06:00Z"));
        assert_eq!(m.state, "down");
        assert_eq!(due_ms(&m), None);
        assert_eq!(on_outcome(&mut m, Outcome::Neither), None);
        assert_eq!(
            on_outcome(&mut m, Outcome::Failure),
            None,
            "one per episode"
        );
        assert_eq!(on_outcome(&mut m, Outcome::Success), Some(Event::Recovered));
        assert_eq!(m.state, "up");
        // Up again: the expectation of the last check-in applies.
        assert_eq!(m.due_ms, Some(ms(at("2026-12-07T10:07:00Z"))));
        assert_eq!(on_outcome(&mut m, Outcome::Success), None);
    }

    #[test]
    fn a_failed_run_fires_failed_once() {
        let mut m = interval(60, 10);
        check_in(&mut m, "t1", at("2026-12-07T10:00:00Z"));
        assert_eq!(on_outcome(&mut m, Outcome::Failure), Some(Event::Failed));
        assert_eq!(m.state, "down");
        assert_eq!(on_outcome(&mut m, Outcome::Failure), None);
        // And a missed run in the same episode fires nothing either.
        assert_eq!(on_due(&mut m, at("2026-12-08T00:00:00Z")), (false, None));
    }

    #[test]
    fn outcomes_of_tasks() {
        assert_eq!(Outcome::of(Some("success"), false), Outcome::Success);
        assert_eq!(Outcome::of(Some("success"), true), Outcome::Failure);
        assert_eq!(Outcome::of(Some("error"), false), Outcome::Failure);
        assert_eq!(Outcome::of(Some("stale"), false), Outcome::Failure);
        assert_eq!(Outcome::of(Some("cancelled"), false), Outcome::Neither);
        assert_eq!(Outcome::of(Some("processing"), true), Outcome::Failure);
        assert_eq!(Outcome::of(None, false), Outcome::Neither);
    }

    #[test]
    fn paused_links_runs_and_changes_nothing() {
        let mut m = interval(60, 10);
        check_in(&mut m, "t1", at("2026-12-07T10:00:00Z"));
        m.enabled = false;
        refresh_due(&mut m);
        assert_eq!(shown_state(&m), "paused");
        assert_eq!(m.due_ms, None);
        assert!(!check_in(&mut m, "t2", at("2026-12-07T12:00:00Z")));
        assert_eq!(m.last_task.as_deref(), Some("t2"));
        assert_eq!(m.state, "up");
        assert_eq!(m.next_expected_at, Some(at("2026-12-07T10:01:00Z")));
        assert_eq!(on_outcome(&mut m, Outcome::Failure), None);
        assert_eq!(on_due(&mut m, at("2026-12-08T00:00:00Z")), (false, None));
        m.enabled = true;
        resumed(&mut m);
        assert_eq!(m.state, "new");
        assert_eq!(m.due_ms, None);
    }

    #[test]
    fn cron_expects_the_next_schedule_time() {
        let mut m = interval(60, 300);
        m.kind = "cron".into();
        m.interval_secs = None;
        m.schedule = Some("0 2 * * *".into());
        m.timezone = "Europe/Stockholm".into();
        check_in(&mut m, "t1", at("2026-12-07T01:00:05Z"));
        // 02:00 CET is 01:00 UTC: the next is tomorrow's.
        assert_eq!(m.next_expected_at, Some(at("2026-12-08T01:00:00Z")));
        assert_eq!(on_due(&mut m, at("2026-12-08T01:04:59Z")), (true, None));
        assert_eq!(
            on_due(&mut m, at("2026-12-08T01:05:00Z")),
            (true, Some(Event::Missed))
        );
    }

    #[test]
    fn rescheduling_moves_the_expectation() {
        let mut m = interval(60, 10);
        check_in(&mut m, "t1", at("2026-12-07T10:00:00Z"));
        on_due(&mut m, at("2026-12-07T10:01:05Z"));
        assert_eq!(m.state, "late");
        m.interval_secs = Some(3600);
        rescheduled(&mut m, at("2026-12-07T10:01:06Z"));
        assert_eq!(m.state, "up");
        assert_eq!(m.due_ms, Some(ms(at("2026-12-07T11:00:00Z"))));
    }
}
