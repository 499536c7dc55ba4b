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
