//! A recording's timeline (`timeline.json` beside its files): its tracks and when each carried
//! media on the recording's clock, who was there, and what happened — joins, leaves, speaking,
//! screen shares, pauses and the public chat. The playback page and the composer read it.

use serde::{Deserialize, Serialize};

pub const FILE: &str = "timeline.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    pub version: u32,
    /// When the recording started (Unix ms).
    pub started_ms: i64,
    pub length_ms: u64,
    pub tracks: Vec<Track>,
    pub people: Vec<Person>,
    pub events: Vec<Event>,
}

/// One track's file, ready to play (its times start at 0 at `start_ms` of the recording).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Track {
    pub file: String,
    pub participant: u64,
    /// `microphone`, `camera`, `screen` or `screen_audio`.
    pub source: String,
    /// `audio` or `video`.
    pub kind: String,
    pub start_ms: u64,
    pub end_ms: u64,
    /// When it carried media (a camera turned off is a gap).
    pub spans: Vec<(u64, u64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub participant: u64,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Joined {
        at_ms: u64,
        participant: u64,
    },
    Left {
        at_ms: u64,
        participant: u64,
    },
    Speaking {
        at_ms: u64,
        participant: u64,
        speaking: bool,
    },
    Screen {
        at_ms: u64,
        participant: u64,
        on: bool,
    },
    Paused {
        at_ms: u64,
    },
    Resumed {
        at_ms: u64,
    },
    Chat {
        at_ms: u64,
        name: String,
        text: String,
    },
    /// A poll asked during the recording, with its counts when the recording ended (none
    /// while a poll that hides them was still open; a fixed kind's options by their wire
    /// names: the page words them).
    Poll {
        at_ms: u64,
        question: String,
        #[serde(default)]
        fixed: bool,
        options: Vec<String>,
        #[serde(default)]
        counts: Option<Vec<u32>>,
        votes: u32,
    },
    /// The shared minutes' whole text at that moment (a few seconds after edits, and at the end).
    Notes {
        at_ms: u64,
        text: String,
    },
}

impl Event {
    pub fn at_ms(&self) -> u64 {
        match self {
            Self::Joined { at_ms, .. }
            | Self::Left { at_ms, .. }
            | Self::Speaking { at_ms, .. }
            | Self::Screen { at_ms, .. }
            | Self::Paused { at_ms }
            | Self::Resumed { at_ms }
            | Self::Chat { at_ms, .. }
            | Self::Poll { at_ms, .. }
            | Self::Notes { at_ms, .. } => *at_ms,
        }
    }
}

/// At most this many snapshots of the minutes in a timeline, and at most this many bytes of
/// them together: a long meeting's minutes, saved every few seconds, would otherwise make its
/// playback page as large as all of their copies.
pub const MAX_NOTES_SNAPSHOTS: usize = 60;
pub const MAX_NOTES_BYTES: usize = 4 * 1024 * 1024;

/// Keeps the last snapshot of the minutes and, before it, as many as the limits allow, evenly
/// spread over the recording (events in time order).
pub fn thin_notes(events: &mut Vec<Event>) {
    let at: Vec<usize> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e, Event::Notes { .. }))
        .map(|(i, _)| i)
        .collect();
    let Some(&last) = at.last() else { return };
    let size = |i: usize| match &events[i] {
        Event::Notes { text, .. } => text.len(),
        _ => 0,
    };
    let biggest = at.iter().map(|&i| size(i)).max().unwrap_or(0).max(1);
    let keep = MAX_NOTES_SNAPSHOTS.min(MAX_NOTES_BYTES / biggest).max(1);
    // Thinned to about half the limit once it is passed, so that a recording adding one at a
    // time thins now and then, not at every one.
    if at.len() <= keep {
        return;
    }
    let keep = (keep / 2).max(1);
    // Every step-th, counting back from the last, so the last is always kept.
    let step = at.len().div_ceil(keep);
    let kept: std::collections::HashSet<usize> = at
        .iter()
        .rev()
        .step_by(step)
        .copied()
        .chain([last])
        .collect();
    let mut i = 0;
    events.retain(|e| {
        let keep = !matches!(e, Event::Notes { .. }) || kept.contains(&i);
        i += 1;
        keep
    });
}

impl Timeline {
    pub fn name_of(&self, participant: u64) -> &str {
        self.people
            .iter()
            .find(|p| p.participant == participant)
            .map_or("", |p| p.name.as_str())
    }

    /// When each participant spoke: `(participant, from, to)`, in order of `from`. Someone
    /// still speaking at a leave or the end stops there.
    pub fn speaking(&self) -> Vec<(u64, u64, u64)> {
        self.intervals(
            |e| match *e {
                Event::Speaking {
                    participant,
                    speaking,
                    ..
                } => Some((participant, speaking)),
                _ => None,
            },
            |_, _| self.length_ms,
        )
    }

    /// When each participant shared a screen, from the screen events (a share the events do
    /// not end stops at their screen track's last frame, else at the end).
    pub fn screen_shares(&self) -> Vec<(u64, u64, u64)> {
        self.intervals(
            |e| match *e {
                Event::Screen {
                    participant, on, ..
                } => Some((participant, on)),
                _ => None,
            },
            |p, from| {
                self.tracks
                    .iter()
                    .find(|t| t.participant == p && t.source == "screen")
                    .map_or(self.length_ms, |t| t.end_ms.max(from))
            },
        )
    }

    /// `(participant, from, to)` of what `switch` turns on and off (`Some((participant,
    /// on))`), in time order; a leave turns it off; `open_end(participant, from)` ends what
    /// is still on at the end.
    fn intervals(
        &self,
        switch: impl Fn(&Event) -> Option<(u64, bool)>,
        open_end: impl Fn(u64, u64) -> u64,
    ) -> Vec<(u64, u64, u64)> {
        let mut open: std::collections::BTreeMap<u64, u64> = Default::default();
        let mut out = Vec::new();
        let mut events: Vec<&Event> = self.events.iter().collect();
        events.sort_by_key(|e| e.at_ms());
        for e in events {
            let change = match *e {
                Event::Left { participant, .. } => Some((participant, false)),
                _ => switch(e),
            };
            match change {
                Some((participant, true)) => {
                    open.entry(participant).or_insert(e.at_ms());
                }
                Some((participant, false)) => {
                    if let Some(from) = open.remove(&participant) {
                        out.push((participant, from, e.at_ms()));
                    }
                }
                None => {}
            }
        }
        out.extend(
            open.into_iter()
                .map(|(p, from)| (p, from, open_end(p, from))),
        );
        out.sort_by_key(|s| (s.1, s.0));
        out
    }
}

#[cfg(test)]
mod notes_tests {
    use super::*;

    #[test]
    fn many_snapshots_are_thinned_keeping_the_last() {
        let mut events: Vec<Event> = (0..500u64)
            .flat_map(|i| {
                [
                    Event::Notes {
                        at_ms: i * 10,
                        text: format!("v{i}"),
                    },
                    Event::Speaking {
                        at_ms: i * 10 + 1,
                        participant: 1,
                        speaking: i % 2 == 0,
                    },
                ]
            })
            .collect();
        thin_notes(&mut events);
        let notes: Vec<&Event> = events
            .iter()
            .filter(|e| matches!(e, Event::Notes { .. }))
            .collect();
        assert!(notes.len() <= MAX_NOTES_SNAPSHOTS, "{}", notes.len());
        assert!(notes.len() >= MAX_NOTES_SNAPSHOTS / 2, "{}", notes.len());
        assert!(matches!(notes.last(), Some(Event::Notes { text, .. }) if text == "v499"));
        assert_eq!(
            events
                .iter()
                .filter(|e| matches!(e, Event::Speaking { .. }))
                .count(),
            500
        );
        // Large minutes: fewer copies, within the byte limit.
        let big = "x".repeat(1024 * 1024);
        let mut events: Vec<Event> = (0..20u64)
            .map(|i| Event::Notes {
                at_ms: i,
                text: big.clone(),
            })
            .collect();
        thin_notes(&mut events);
        assert!(
            events.len() <= MAX_NOTES_BYTES / big.len(),
            "{}",
            events.len()
        );
        assert_eq!(events.last().map(Event::at_ms), Some(19));
    }
}
