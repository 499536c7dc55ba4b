//! A meeting's shared minutes as stored: a Yjs document's compacted state and the edits that
//! came since, each written (commit checked) before it is acknowledged. What the document
//! holds is the meeting service's business; the store keeps bytes.

/// A meeting's stored minutes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MinutesRow {
    /// The document up to the last compaction (a Yjs update, v1 encoding; empty: none yet).
    pub state: Vec<u8>,
    /// The edits since, in the order they were taken: (sequence number, Yjs update).
    pub edits: Vec<(i64, Vec<u8>)>,
    /// The number of the last edit the state holds.
    pub compacted_seq: i64,
    pub updated_ms: i64,
}

/// One meeting's minutes in a room's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinutesInfo {
    /// When the meeting started: its id within the room.
    pub meeting_ms: i64,
    pub updated_ms: i64,
}
