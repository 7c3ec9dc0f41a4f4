//! When a monitor expects its next run: every `interval` seconds after the previous run
//! started, or at each time of a five-field cron schedule in an IANA time zone (croner, with
//! POSIX day-of-week: 0 and 7 are Sunday). A pure module: the monitor sweep and the check-in
//! call it with the times they hold.

use std::str::FromStr;

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use chrono_tz::Tz;
use croner::Cron;

/// A monitor's expectation of runs.
#[derive(Clone, Debug)]
pub enum Schedule {
    /// A run within this many seconds after the previous one started.
    Interval(i64),
    /// A run at each time of the schedule, read in the time zone.
    Cron { cron: Box<Cron>, timezone: Tz },
}

/// Why a schedule was refused: the field to name, and the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleError {
    pub attr: &'static str,
    pub detail: String,
}

fn refuse(attr: &'static str, detail: impl Into<String>) -> ScheduleError {
    ScheduleError {
        attr,
        detail: detail.into(),
    }
}

/// The longest interval accepted (a year).
pub const MAX_INTERVAL_SECS: i64 = 366 * 24 * 3600;

impl Schedule {
    /// An interval schedule of `seconds` (1 s to a year).
    pub fn interval(seconds: i64) -> Result<Schedule, ScheduleError> {
        if !(1..=MAX_INTERVAL_SECS).contains(&seconds) {
            return Err(refuse(
                "interval",
                format!("Ensure this value is between 1 and {MAX_INTERVAL_SECS} seconds."),
            ));
        }
        Ok(Schedule::Interval(seconds))
    }

    /// A cron schedule: exactly five fields (minute, hour, day of month, month, day of
    /// week), in `timezone` (an IANA name).
    pub fn cron(pattern: &str, timezone: &str) -> Result<Schedule, ScheduleError> {
        let fields = pattern.split_whitespace().count();
        if fields != 5 {
            return Err(refuse(
                "schedule",
                format!(
                    "Use five fields (minute hour day-of-month month day-of-week); got {fields}."
                ),
            ));
        }
        let cron = Cron::from_str(pattern)
            .map_err(|err| refuse("schedule", format!("Not a valid cron schedule: {err}.")))?;
        let timezone = Tz::from_str(timezone).map_err(|_| {
            refuse(
                "timezone",
                format!("\"{timezone}\" is not an IANA time zone."),
            )
        })?;
        let schedule = Schedule::Cron {
            cron: Box::new(cron),
            timezone,
        };
        if schedule.next_after(Utc::now()).is_none() {
            return Err(refuse(
                "schedule",
                "This schedule never comes (e.g. 30 February).",
            ));
        }
        Ok(schedule)
    }

    /// When the next run is expected after a run that started at `last_run`: `None` when a
    /// cron schedule has no later time.
    pub fn next_after(&self, last_run: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Interval(seconds) => {
                last_run.checked_add_signed(TimeDelta::seconds(*seconds))
            }
            // croner keeps the sub-second part of its start in what it finds: start from
            // the whole second so that schedule times are whole minutes.
            Schedule::Cron { cron, timezone } => cron
                .find_next_occurrence(&last_run.trunc_subsecs(0).with_timezone(timezone), false)
                .ok()
                .map(|t| t.with_timezone(&Utc)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn intervals_count_from_the_previous_run() {
        let s = Schedule::interval(3600).unwrap();
        assert_eq!(
            s.next_after(utc("2026-12-03T10:15:00Z")),
            Some(utc("2026-12-03T11:15:00Z"))
        );
        assert_eq!(Schedule::interval(0).unwrap_err().attr, "interval");
        assert_eq!(
            Schedule::interval(MAX_INTERVAL_SECS + 1).unwrap_err().attr,
            "interval"
        );
    }

    #[test]
    fn cron_in_a_time_zone() {
        let s = Schedule::cron("30 2 * * *", "Europe/Stockholm").unwrap();
        // 02:30 in Stockholm in winter is 01:30 UTC.
        assert_eq!(
            s.next_after(utc("2026-12-03T00:00:00Z")),
            Some(utc("2026-12-03T01:30:00Z"))
        );
    }

    #[test]
    fn cron_times_are_whole_minutes() {
        let s = Schedule::cron("* * * * *", "UTC").unwrap();
        let from = utc("2026-12-07T14:59:05.768099Z");
        assert_eq!(s.next_after(from), Some(utc("2026-12-07T15:00:00Z")));
    }

    #[test]
    fn spring_forward_gap() {
        // Europe/Stockholm skips 02:00–03:00 on 2027-03-28. croner's rule for a time that
        // does not exist: the run is due at the first time after the gap, 03:00 local
        // (01:00 UTC), so a daily job is expected that day too.
        let s = Schedule::cron("30 2 * * *", "Europe/Stockholm").unwrap();
        let next = s.next_after(utc("2027-03-27T01:30:00Z")).unwrap();
        assert_eq!(next, utc("2027-03-28T01:00:00Z"));
        // And the day after, back to 02:30 local (00:30 UTC in summer time).
        assert_eq!(s.next_after(next), Some(utc("2027-03-29T00:30:00Z")));
    }

    #[test]
    fn fall_back_overlap() {
        // Europe/Stockholm runs 02:00–03:00 twice on 2026-10-25; a 02:30 schedule's next
        // time after the day before is the first 02:30 (00:30 UTC, still summer time).
        let s = Schedule::cron("30 2 * * *", "Europe/Stockholm").unwrap();
        let first = s.next_after(utc("2026-10-24T12:00:00Z")).unwrap();
        assert_eq!(first, utc("2026-10-25T00:30:00Z"));
        // The repeated 02:30 (01:30 UTC, winter time) is not a second run: the next is the
        // following day's 02:30 CET.
        assert_eq!(s.next_after(first), Some(utc("2026-10-26T01:30:00Z")));
    }

    #[test]
    fn sunday_is_day_zero_and_seven() {
        let zero = Schedule::cron("0 9 * * 0", "UTC").unwrap();
        let seven = Schedule::cron("0 9 * * 7", "UTC").unwrap();
        // 2026-12-03 is a Thursday; the next Sunday is the 6th.
        let from = utc("2026-12-03T00:00:00Z");
        assert_eq!(zero.next_after(from), Some(utc("2026-12-06T09:00:00Z")));
        assert_eq!(seven.next_after(from), zero.next_after(from));
    }

    #[test]
    fn refusals_name_their_field() {
        assert_eq!(
            Schedule::cron("* * * *", "UTC").unwrap_err().attr,
            "schedule"
        );
        assert_eq!(
            Schedule::cron("0 0 * * * *", "UTC").unwrap_err().attr,
            "schedule"
        );
        assert_eq!(
            Schedule::cron("61 * * * *", "UTC").unwrap_err().attr,
            "schedule"
        );
        assert_eq!(
            Schedule::cron("0 0 30 2 *", "UTC").unwrap_err().attr,
            "schedule"
        );
        assert_eq!(
            Schedule::cron("0 0 * * *", "Mars/Olympus")
                .unwrap_err()
                .attr,
            "timezone"
        );
    }
}
