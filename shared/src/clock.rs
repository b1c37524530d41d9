//! Time as a port: production reads the system clock, tests move a manual one instead of sleeping.

use std::sync::Mutex;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that stands still until a test moves it.
pub struct ManualClock(Mutex<OffsetDateTime>);

impl ManualClock {
    pub fn new(at: OffsetDateTime) -> Self {
        ManualClock(Mutex::new(at))
    }

    pub fn advance(&self, by: time::Duration) {
        let mut now = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// RFC 3339 UTC at whole seconds (`2026-11-23T10:00:00Z`): the one format every stored timestamp
/// has, so that stored timestamps sort correctly as strings (which index sort keys rely on).
pub fn format(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC).replace_nanosecond(0).unwrap_or(at);
    at.format(&Rfc3339).unwrap_or_default()
}

/// Parses any RFC 3339 timestamp (offsets and fractions allowed).
pub fn parse(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_timestamps_are_utc_whole_seconds() {
        let t = parse("2026-11-23T11:00:00.75+01:00").unwrap();
        assert_eq!(format(t), "2026-11-23T10:00:00Z");
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(parse("2026-01-01T00:00:00Z").unwrap());
        c.advance(time::Duration::minutes(15));
        assert_eq!(format(c.now()), "2026-01-01T00:15:00Z");
    }
}
