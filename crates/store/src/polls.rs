//! A meeting's polls as stored: what was asked, who voted, and the counts. Whether a poll is
//! secret is the meeting service's business: for a secret poll it stores votes without
//! their choices.

use plenary_proto::RoomId;

use crate::model::Columns;

/// One poll of a meeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollRow {
    pub room: RoomId,
    /// When the meeting started: its id within the room.
    pub meeting_ms: i64,
    pub id: i64,
    /// What was asked, as JSON (the protocol's `PollSpec`).
    pub spec: String,
    pub by_name: String,
    pub opened_ms: i64,
    pub closes_ms: Option<i64>,
    pub closed_ms: Option<i64>,
    /// The node run it was asked on (`<node>/<run>:`): a node's next start closes the polls
    /// its previous runs left open, never another node's.
    pub node: String,
}

/// What became of a vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoteOutcome {
    /// Stored, with its counts.
    Counted,
    /// This voter voted in this poll already: nothing written.
    AlreadyVoted,
    /// The poll is closed, or its timer ran out: nothing written.
    Closed,
}

/// One person's vote in a poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoteRow {
    pub room: RoomId,
    pub meeting_ms: i64,
    pub poll_id: i64,
    /// Who voted (their account, integration user id or seat): one vote each.
    pub voter: String,
    pub name: String,
    /// The option indices chosen; `None` for a secret poll's vote.
    pub choices: Option<Vec<u32>>,
}

pub(crate) fn choices_text(c: &[u32]) -> String {
    c.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

fn choices_parse(s: &str) -> Result<Vec<u32>, crate::StoreError> {
    s.split(',')
        .map(|c| {
            c.parse()
                .map_err(|_| crate::StoreError::Corrupt(format!("poll choices {s:?}")))
        })
        .collect()
}

fn room_id(s: &str) -> Result<RoomId, crate::StoreError> {
    RoomId::parse(s).map_err(|e| crate::StoreError::Corrupt(format!("room id {s:?}: {e}")))
}

/// A poll from the columns of `poll_columns!`.
pub(crate) fn poll_from_row(r: &impl Columns) -> Result<PollRow, crate::StoreError> {
    Ok(PollRow {
        room: room_id(&r.text(0)?)?,
        meeting_ms: r.int(1)?,
        id: r.int(2)?,
        spec: r.text(3)?,
        by_name: r.text(4)?,
        opened_ms: r.int(5)?,
        closes_ms: r.opt_int(6)?,
        closed_ms: r.opt_int(7)?,
        node: r.text(8)?,
    })
}

/// A vote from columns `room_id, meeting_ms, poll_id, voter, name, choices`.
pub(crate) fn vote_from_row(r: &impl Columns) -> Result<VoteRow, crate::StoreError> {
    Ok(VoteRow {
        room: room_id(&r.text(0)?)?,
        meeting_ms: r.int(1)?,
        poll_id: r.int(2)?,
        voter: r.text(3)?,
        name: r.text(4)?,
        choices: r.opt_text(5)?.as_deref().map(choices_parse).transpose()?,
    })
}
