//! A meeting's polls as the store has them: each poll's results (counts, who voted, who chose
//! what unless secret), read when a poll closes and when a room's managers export them.
//! Results a poll hides while open stay hidden here too.

use plenary_proto::{Poll, PollSpec, RoomId};
use plenary_store::{Store, StoreError};

use crate::polls::hides_while_open;

/// A poll's results as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Results {
    pub counts: Vec<u32>,
    /// Who chose each option (named polls).
    pub names: Option<Vec<Vec<String>>>,
    pub votes: u32,
    /// Who voted, by name (for a secret poll too: turnout, never choices).
    pub voters: Vec<String>,
}

/// Poll `id`'s results, as the store has them now.
pub async fn results_of(
    store: &dyn Store,
    room: &RoomId,
    meeting_ms: i64,
    id: i64,
    spec: &PollSpec,
) -> Result<Results, StoreError> {
    let n = spec.option_names().len();
    let mut counts = vec![0u32; n];
    for (choice, votes) in store.poll_counts(room, meeting_ms, id).await? {
        if let Some(c) = counts.get_mut(choice as usize) {
            *c = u32::try_from(votes).unwrap_or(u32::MAX);
        }
    }
    let votes = store.poll_votes(room, meeting_ms, id).await?;
    let names = (!spec.secret).then(|| {
        let mut names = vec![Vec::new(); n];
        for v in &votes {
            for c in v.choices.iter().flatten() {
                if let Some(names) = names.get_mut(*c as usize) {
                    names.push(v.name.clone());
                }
            }
        }
        names
    });
    Ok(Results {
        counts,
        names,
        votes: u32::try_from(votes.len()).unwrap_or(u32::MAX),
        voters: votes.into_iter().map(|v| v.name).collect(),
    })
}

/// A stored poll with its results, as a room's managers export it after the meeting.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredPoll {
    /// The meeting it was asked in (when that meeting started).
    pub meeting_ms: i64,
    /// Its counts (unless it hides them while open and is open), and who chose what for a
    /// named poll.
    pub poll: Poll,
    /// The option names (a fixed kind's by their wire names).
    pub options: Vec<String>,
    /// Who voted, by name (for a secret poll too: turnout, never choices).
    pub voters: Vec<String>,
}

/// A room's polls (of one meeting, or all) with their results, the latest meeting first.
pub async fn stored_polls(
    store: &dyn Store,
    room: &RoomId,
    meeting_ms: Option<i64>,
) -> Result<Vec<StoredPoll>, StoreError> {
    let mut out = Vec::new();
    for row in store.polls_of(room, meeting_ms).await? {
        let Ok(spec) = serde_json::from_str::<PollSpec>(&row.spec) else {
            tracing::warn!(%room, poll = row.id, "a stored poll's question cannot be read");
            continue;
        };
        let r = results_of(store, room, row.meeting_ms, row.id, &spec).await?;
        let shown = row.closed_ms.is_some() || !hides_while_open(&spec);
        out.push(StoredPoll {
            meeting_ms: row.meeting_ms,
            options: spec.option_names(),
            poll: Poll {
                id: row.id as u64,
                by: row.by_name,
                opened_ms: row.opened_ms,
                closes_ms: row.closes_ms,
                closed_ms: row.closed_ms,
                votes: r.votes,
                counts: shown.then_some(r.counts),
                names: r.names.filter(|_| shown),
                spec,
            },
            voters: r.voters,
        });
    }
    Ok(out)
}
