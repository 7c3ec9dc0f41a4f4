//! The retry schedule of deliveries (Standard Webhooks' by default) and its jitter.

use std::time::Duration;

use rand::Rng;

/// Delays between attempts: a schedule of N steps means 1 + N attempts, the first at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule(pub Vec<Duration>);

/// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
pub const DEFAULT_SCHEDULE: &str = "5,300,1800,7200,18000,36000,36000";
/// The longest a `Retry-After` may push an attempt back.
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(3600);

impl Schedule {
    /// Parses comma-separated seconds (`"1,1,2"`); decimals are allowed, empty means no
    /// retries.
    pub fn parse(s: &str) -> Result<Schedule, String> {
        if s.trim().is_empty() {
            return Ok(Schedule(Vec::new()));
        }
        s.split(',')
            .map(|step| {
                step.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|secs| secs.is_finite() && *secs >= 0.0 && *secs <= 1e7)
                    .map(Duration::from_secs_f64)
                    .ok_or_else(|| {
                        format!("delivery_retry_schedule: \"{step}\" is not a number of seconds")
                    })
            })
            .collect::<Result<_, _>>()
            .map(Schedule)
    }

    /// The delay before the attempt after attempt number `attempts` (1-based) failed; `None`
    /// when the schedule is exhausted. ±20% jitter; a `Retry-After` replaces a shorter step.
    pub fn next_delay(&self, attempts: u32, retry_after: Option<Duration>) -> Option<Duration> {
        let step = *self.0.get(attempts.checked_sub(1)? as usize)?;
        let jittered = step.mul_f64(rand::rng().random_range(0.8..=1.2));
        Some(match retry_after {
            Some(ra) => jittered.max(ra.min(RETRY_AFTER_CAP)),
            None => jittered,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_schedule_has_seven_steps_with_jitter() {
        let s = Schedule::parse(DEFAULT_SCHEDULE).unwrap();
        assert_eq!(s.0.len(), 7);
        for _ in 0..100 {
            let d = s.next_delay(1, None).unwrap();
            assert!(
                d >= Duration::from_secs(4) && d <= Duration::from_secs(6),
                "{d:?}"
            );
            let last = s.next_delay(7, None).unwrap();
            assert!(last >= Duration::from_secs(28_800) && last <= Duration::from_secs(43_200));
        }
        assert_eq!(s.next_delay(8, None), None);
    }

    #[test]
    fn retry_after_replaces_a_shorter_step_up_to_an_hour() {
        let s = Schedule::parse("1,1,2").unwrap();
        let d = s.next_delay(1, Some(Duration::from_secs(30))).unwrap();
        assert_eq!(d, Duration::from_secs(30));
        let capped = s.next_delay(2, Some(Duration::from_secs(86_400))).unwrap();
        assert_eq!(capped, RETRY_AFTER_CAP);
        assert_eq!(s.next_delay(4, None), None);
    }

    #[test]
    fn parsing() {
        assert_eq!(
            Schedule::parse("1, 0.5").unwrap().0,
            vec![Duration::from_secs(1), Duration::from_millis(500)]
        );
        assert!(Schedule::parse("").unwrap().0.is_empty());
        assert!(Schedule::parse("1,x").is_err());
        assert!(Schedule::parse("-1").is_err());
    }
}
