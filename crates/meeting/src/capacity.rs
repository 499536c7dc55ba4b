//! The node's capacity. Admission refuses someone new when taking them would overload this
//! node — more participants than it is configured to carry, or its CPU busier than a
//! configured share — instead of every meeting on it degrading; the moderators of running
//! meetings are told when it is near (at most every [`WARN_EVERY`]). Running meetings are
//! never touched: people in them stay, and their reconnects are not refused.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Moderators are warned at most this often.
pub const WARN_EVERY: Duration = Duration::from_secs(5 * 60);
/// Near: this share of the participants, or this many points below the CPU limit.
const NEAR_TENTHS: usize = 10;
const NEAR_CPU_POINTS: u8 = 10;
/// No CPU reading yet.
const UNKNOWN: u8 = u8::MAX;

/// What the node can take.
#[derive(Debug)]
pub struct Capacity {
    /// Most participants in all meetings on this node together (`None`: no limit).
    participants: Option<usize>,
    /// The CPU busy share (percent of all cores) at and above which nobody new is let in.
    cpu_percent: Option<u8>,
    /// The machine's CPU busy share as last measured (percent), or [`UNKNOWN`].
    cpu_now: AtomicU8,
    warned_at: Mutex<Option<Instant>>,
    /// Joins refused for capacity since the start.
    refused: AtomicU64,
}

/// Why the node takes nobody new now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Overload {
    #[error("this server is at its capacity ({max} participants)")]
    Participants { max: usize },
    #[error("this server is too busy (CPU {percent} %)")]
    Cpu { percent: u8 },
}

impl Capacity {
    pub fn new(participants: Option<usize>, cpu_percent: Option<u8>) -> Self {
        Self {
            participants,
            cpu_percent,
            cpu_now: AtomicU8::new(UNKNOWN),
            warned_at: Mutex::new(None),
            refused: AtomicU64::new(0),
        }
    }

    /// No limits: everyone is let in (tests, and a node whose operator set none).
    pub fn unlimited() -> Self {
        Self::new(None, None)
    }

    /// The configured limits: (participants, CPU percent).
    pub fn limits(&self) -> (Option<usize>, Option<u8>) {
        (self.participants, self.cpu_percent)
    }

    /// The machine's CPU busy share now (percent), as the load sampler measured it.
    pub fn set_cpu(&self, percent: u8) {
        self.cpu_now.store(percent.min(100), Ordering::Relaxed);
    }

    pub fn cpu(&self) -> Option<u8> {
        Some(self.cpu_now.load(Ordering::Relaxed)).filter(|p| *p != UNKNOWN)
    }

    /// Whether one more participant may come in while `present` are in meetings here (a
    /// refusal is counted).
    pub fn check(&self, present: usize) -> Result<(), Overload> {
        let refused = if let Some(max) = self.participants
            && present >= max
        {
            Overload::Participants { max }
        } else if let (Some(limit), Some(now)) = (self.cpu_percent, self.cpu())
            && now >= limit
        {
            Overload::Cpu { percent: now }
        } else {
            return Ok(());
        };
        self.refused.fetch_add(1, Ordering::Relaxed);
        Err(refused)
    }

    /// Joins refused for capacity since the start.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Whether the node is near its capacity with `present` participants.
    pub fn near(&self, present: usize) -> bool {
        // 90 % of the participants (and never with nobody in).
        let by_people = self
            .participants
            .is_some_and(|max| present > 0 && present * NEAR_TENTHS >= max * 9);
        let by_cpu = matches!((self.cpu_percent, self.cpu()),
            (Some(limit), Some(now)) if now >= limit.saturating_sub(NEAR_CPU_POINTS));
        by_people || by_cpu
    }

    /// Whether moderators should be warned now (near, and not warned in [`WARN_EVERY`]);
    /// answering `true` counts as warning them.
    pub fn should_warn(&self, present: usize, now: Instant) -> bool {
        if !self.near(present) {
            return false;
        }
        let mut at = self.warned_at.lock().unwrap_or_else(|p| p.into_inner());
        if at.is_some_and(|t| now.duration_since(t) < WARN_EVERY) {
            return false;
        }
        *at = Some(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn participants_and_cpu_limit_who_comes_in() {
        let c = Capacity::new(Some(10), Some(90));
        assert_eq!(c.check(9), Ok(()));
        assert_eq!(c.check(10), Err(Overload::Participants { max: 10 }));
        assert_eq!(c.check(0), Ok(()), "no CPU reading yet: not refused by CPU");
        c.set_cpu(89);
        assert_eq!(c.check(0), Ok(()));
        c.set_cpu(95);
        assert_eq!(c.check(0), Err(Overload::Cpu { percent: 95 }));
        assert_eq!(c.refused(), 2);
        assert_eq!(Capacity::unlimited().check(1_000_000), Ok(()));
    }

    #[test]
    fn moderators_are_warned_when_near_and_not_too_often() {
        let c = Capacity::new(Some(10), None);
        let t = Instant::now();
        assert!(!c.should_warn(8, t), "80 % is not near");
        assert!(c.should_warn(9, t));
        assert!(
            !c.should_warn(10, t + Duration::from_secs(60)),
            "warned a minute ago"
        );
        assert!(c.should_warn(10, t + WARN_EVERY));
        let one = Capacity::new(Some(1), None);
        assert!(!one.near(0), "a node for one is not near with nobody in");
        assert!(one.near(1));
        let cpu = Capacity::new(None, Some(80));
        cpu.set_cpu(69);
        assert!(!cpu.near(0));
        cpu.set_cpu(70);
        assert!(cpu.near(0));
    }
}
