//! Report periods, always in UTC: a day (`2026-11-05`), an ISO week (`2026-W45`, Monday to
//! Sunday) or a month (`2026-11`); each cut into buckets for its chart (hours of a day, days of
//! a week or month).

use std::fmt;

use time::{Date, Month, OffsetDateTime, Time, Weekday};

/// A period a report covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Day(Date),
    /// The ISO week that this Monday starts.
    Week(Date),
    /// The month that this first day starts.
    Month(Date),
}

/// Why a period could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a period: {0:?} (use 2026-11, 2026-W45 or 2026-11-05)")]
pub struct BadPeriod(pub String);

/// The kind of a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PeriodKind {
    Day,
    Week,
    Month,
}

impl PeriodKind {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "day" => Self::Day,
            "week" => Self::Week,
            "month" => Self::Month,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
        }
    }
}

fn ms_of(d: Date) -> i64 {
    let t = d.with_time(Time::MIDNIGHT).assume_utc();
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

fn date_of(ms: i64) -> Date {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map(|t| t.date())
        .unwrap_or(Date::MIN)
}

impl Period {
    /// The period of `kind` that holds the instant `ms`.
    pub fn containing(kind: PeriodKind, ms: i64) -> Self {
        let d = date_of(ms);
        match kind {
            PeriodKind::Day => Self::Day(d),
            PeriodKind::Week => {
                let back = i64::from(d.weekday().number_days_from_monday());
                Self::Week(d - time::Duration::days(back))
            }
            PeriodKind::Month => Self::Month(d.replace_day(1).unwrap_or(d)),
        }
    }

    /// Reads `2026-11`, `2026-W45` or `2026-11-05`.
    pub fn parse(s: &str) -> Result<Self, BadPeriod> {
        let bad = || BadPeriod(s.chars().take(40).collect());
        let num = |p: &str| -> Result<i32, BadPeriod> {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || p.len() > 4 {
                return Err(bad());
            }
            p.parse().map_err(|_| bad())
        };
        let parts: Vec<&str> = s.split('-').collect();
        match parts.as_slice() {
            [y, w] if w.starts_with('W') => {
                let week = u8::try_from(num(&w[1..])?).map_err(|_| bad())?;
                let d =
                    Date::from_iso_week_date(num(y)?, week, Weekday::Monday).map_err(|_| bad())?;
                Ok(Self::Week(d))
            }
            [y, m] => {
                let m = u8::try_from(num(m)?).map_err(|_| bad())?;
                let month = Month::try_from(m).map_err(|_| bad())?;
                Ok(Self::Month(
                    Date::from_calendar_date(num(y)?, month, 1).map_err(|_| bad())?,
                ))
            }
            [y, m, d] => {
                let m = u8::try_from(num(m)?).map_err(|_| bad())?;
                let month = Month::try_from(m).map_err(|_| bad())?;
                let day = u8::try_from(num(d)?).map_err(|_| bad())?;
                Ok(Self::Day(
                    Date::from_calendar_date(num(y)?, month, day).map_err(|_| bad())?,
                ))
            }
            _ => Err(bad()),
        }
    }

    pub fn kind(self) -> PeriodKind {
        match self {
            Self::Day(_) => PeriodKind::Day,
            Self::Week(_) => PeriodKind::Week,
            Self::Month(_) => PeriodKind::Month,
        }
    }

    fn first_day(self) -> Date {
        match self {
            Self::Day(d) | Self::Week(d) | Self::Month(d) => d,
        }
    }

    /// The first day after the period.
    fn end_day(self) -> Date {
        match self {
            Self::Day(d) => d.next_day().unwrap_or(d),
            Self::Week(d) => d + time::Duration::days(7),
            Self::Month(d) => {
                let (y, m) = (d.year(), d.month());
                let (y, m) = if m == Month::December {
                    (y + 1, Month::January)
                } else {
                    (y, m.next())
                };
                Date::from_calendar_date(y, m, 1).unwrap_or(d)
            }
        }
    }

    /// Its start (inclusive), ms since the epoch.
    pub fn start_ms(self) -> i64 {
        ms_of(self.first_day())
    }

    /// Its end (exclusive).
    pub fn end_ms(self) -> i64 {
        ms_of(self.end_day())
    }

    pub fn previous(self) -> Self {
        Self::containing(self.kind(), self.start_ms() - 1)
    }

    pub fn next(self) -> Self {
        Self::containing(self.kind(), self.end_ms())
    }

    /// The chart's buckets: `(start, end)` of each hour of a day, or each day of a week or
    /// month.
    pub fn buckets(self) -> Vec<(i64, i64)> {
        let step = match self {
            Self::Day(_) => 3_600_000,
            _ => 86_400_000,
        };
        let (start, end) = (self.start_ms(), self.end_ms());
        (0..)
            .map(|i| start + i * step)
            .take_while(|s| *s < end)
            .map(|s| (s, (s + step).min(end)))
            .collect()
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Day(d) => write!(
                f,
                "{:04}-{:02}-{:02}",
                d.year(),
                u8::from(d.month()),
                d.day()
            ),
            Self::Week(d) => {
                let (y, w, _) = d.to_iso_week_date();
                write!(f, "{y:04}-W{w:02}")
            }
            Self::Month(d) => write!(f, "{:04}-{:02}", d.year(), u8::from(d.month())),
        }
    }
}

/// An instant as `2026-11-05 14:03 UTC`.
pub fn utc_minute(ms: i64) -> String {
    match OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        ),
        Err(_) => ms.to_string(),
    }
}

/// A bucket's label: `14:00` for an hour, `2026-11-05` for a day.
pub fn bucket_label(kind: PeriodKind, start_ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(start_ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    match kind {
        PeriodKind::Day => format!("{:02}:00", t.hour()),
        _ => format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_and_print() {
        for s in [
            "2026-11",
            "2026-W45",
            "2026-11-05",
            "2026-12",
            "2027-W01",
            "2024-02-29",
        ] {
            assert_eq!(Period::parse(s).unwrap().to_string(), s);
        }
        for s in [
            "",
            "2026",
            "2026-13",
            "2026-W54",
            "2026-02-30",
            "26-1-x",
            "2026-11-05-1",
            "+2026-01",
        ] {
            assert!(Period::parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn bounds_in_utc() {
        let nov = Period::parse("2026-11").unwrap();
        assert_eq!(nov.start_ms(), 1_793_491_200_000); // 2026-11-01T00:00:00Z
        assert_eq!(nov.end_ms(), 1_796_083_200_000); // 2026-12-01T00:00:00Z
        assert_eq!(nov.buckets().len(), 30);
        assert_eq!(nov.next().to_string(), "2026-12");
        assert_eq!(
            Period::parse("2026-12").unwrap().next().to_string(),
            "2027-01"
        );
        assert_eq!(nov.previous().to_string(), "2026-10");
        let week = Period::parse("2026-W01").unwrap();
        assert_eq!(week.to_string(), "2026-W01");
        // ISO week 1 of 2026 starts on Monday 29 December 2025.
        assert_eq!(utc_minute(week.start_ms()), "2025-12-29 00:00 UTC");
        assert_eq!(week.buckets().len(), 7);
        assert_eq!(week.previous().to_string(), "2025-W52");
        let day = Period::parse("2026-11-05").unwrap();
        assert_eq!(day.buckets().len(), 24);
        assert_eq!(bucket_label(PeriodKind::Day, day.buckets()[14].0), "14:00");
        assert_eq!(
            Period::containing(PeriodKind::Week, day.start_ms() + 5).to_string(),
            "2026-W45"
        );
        assert_eq!(Period::containing(PeriodKind::Month, nov.end_ms() - 1), nov);
    }
}
