//! Who is speaking, from the audio level browsers put in each microphone packet (the RFC 6464
//! header extension, in -dBov: 0 loudest, -127 silence). Loud for a moment makes a speaker;
//! quiet for a while ends it, so pauses between words do not flicker.

use std::time::{Duration, Instant};

/// A level at least this loud is voice.
pub(crate) const LOUD_DBOV: i8 = -50;
/// Loud packets spanning this long start a speaker (a click or a cough does not).
pub(crate) const START_AFTER: Duration = Duration::from_millis(100);
/// Quiet this long ends it.
pub(crate) const HANGOVER: Duration = Duration::from_millis(800);

/// How quickly the smoothed loudness follows the packets' levels (per packet, 20 ms).
const SMOOTHING: f32 = 0.1;
/// Packets older than this say nothing of loudness now.
const LEVEL_FRESH: Duration = Duration::from_millis(500);

#[derive(Debug, Default)]
pub(crate) struct Speaking {
    loud_since: Option<Instant>,
    last_loud: Option<Instant>,
    pub speaking: bool,
    /// The levels smoothed over about 200 ms, in dBov (0 loudest), and when last fed.
    smoothed: Option<(f32, Instant)>,
}

impl Speaking {
    /// How loud the microphone is at `now`: its smoothed level in dBov, -127 when silent or
    /// when no level came lately.
    pub fn loudness(&self, now: Instant) -> f32 {
        match self.smoothed {
            Some((l, at)) if now.saturating_duration_since(at) <= LEVEL_FRESH => l,
            _ => -127.0,
        }
    }

    /// A packet of `level` at `now`; the new state when it changed.
    pub fn level(&mut self, now: Instant, level: i8) -> Option<bool> {
        let db = f32::from(level.min(0));
        self.smoothed = Some(match self.smoothed {
            Some((l, at)) if now.saturating_duration_since(at) <= LEVEL_FRESH => {
                (l + (db - l) * SMOOTHING, now)
            }
            _ => (db, now),
        });
        if level >= LOUD_DBOV {
            let quiet_before = self
                .last_loud
                .is_none_or(|t| now.saturating_duration_since(t) > HANGOVER);
            if quiet_before {
                self.loud_since = Some(now);
            }
            self.last_loud = Some(now);
        }
        self.update(now)
    }

    /// The state at `now` (a speaker falls quiet even when no packets come); the new state
    /// when it changed.
    pub fn update(&mut self, now: Instant) -> Option<bool> {
        let speaking = match (self.loud_since, self.last_loud) {
            (Some(since), Some(last)) => {
                now.saturating_duration_since(last) <= HANGOVER
                    && last.saturating_duration_since(since) >= START_AFTER
            }
            _ => false,
        };
        (speaking != self.speaking).then(|| {
            self.speaking = speaking;
            speaking
        })
    }

    /// Not speaking at `now`, whatever came before (the microphone was locked).
    pub fn reset(&mut self, now: Instant) -> Option<bool> {
        *self = Self {
            speaking: self.speaking,
            ..Self::default()
        };
        self.smoothed = None;
        self.update(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(
        s: &mut Speaking,
        start: Instant,
        from_ms: u64,
        to_ms: u64,
        level: i8,
    ) -> Vec<(u64, bool)> {
        let mut changes = Vec::new();
        for t in (from_ms..to_ms).step_by(20) {
            if let Some(c) = s.level(start + Duration::from_millis(t), level) {
                changes.push((t, c));
            }
        }
        changes
    }

    #[test]
    fn speech_starts_after_a_moment_and_survives_pauses() {
        let t0 = Instant::now();
        let mut s = Speaking::default();
        assert!(
            feed(&mut s, t0, 0, 1000, -127).is_empty(),
            "silence is not speech"
        );
        // Voice from 1 s: a speaker 100 ms in.
        assert_eq!(feed(&mut s, t0, 1000, 2000, -20), vec![(1100, true)]);
        // A 500 ms pause between words changes nothing.
        assert!(feed(&mut s, t0, 2000, 2500, -90).is_empty());
        assert!(feed(&mut s, t0, 2500, 3000, -25).is_empty());
        // Quiet for good: over after the hangover.
        let end = feed(&mut s, t0, 3000, 5000, -90);
        assert_eq!(end.len(), 1);
        assert!(!end[0].1);
        assert!((3780..=3820).contains(&end[0].0), "{end:?}");
    }

    #[test]
    fn a_click_is_not_speech_and_silence_without_packets_ends_it() {
        let t0 = Instant::now();
        let mut s = Speaking::default();
        assert_eq!(s.level(t0, -10), None);
        assert_eq!(s.level(t0 + Duration::from_millis(20), -10), None);
        assert!(feed(&mut s, t0, 40, 2000, -100).is_empty());
        // Speaking, then packets stop (the track was removed): the clock alone ends it.
        feed(&mut s, t0, 3000, 3500, -20);
        assert!(s.speaking);
        assert_eq!(s.update(t0 + Duration::from_millis(3600)), None);
        assert_eq!(s.update(t0 + Duration::from_millis(4400)), Some(false));
    }
}
