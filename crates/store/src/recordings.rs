//! A recording as stored: what it is of, where its files are, and how far its composition
//! got (the recording row is also the composition job: see the migration).

use plenary_proto::RoomId;

use crate::model::Columns;

/// Where a recording is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordingStatus {
    /// Being recorded now.
    Recording,
    /// Recorded; its files play already; the downloadable file is being composed.
    Processing,
    /// Composed: everything is there.
    Ready,
    /// Composition failed for good (`error` says why); an admin may retry.
    Failed,
}

impl RecordingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Recording => "recording",
            Self::Processing => "processing",
            Self::Ready => "ready",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "recording" => Self::Recording,
            "processing" => Self::Processing,
            "ready" => Self::Ready,
            "failed" => Self::Failed,
            _ => return None,
        })
    }
}

/// A recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingRow {
    /// `sha1(meeting id)-started ms`, like BigBlueButton's record ids.
    pub id: String,
    pub room: RoomId,
    /// The BBB `meetingID` it was recorded under, else the room id.
    pub meeting_id: String,
    /// When its meeting started (the meeting's id within the room: its chat is kept by it).
    pub meeting_ms: i64,
    pub name: String,
    pub started_ms: i64,
    pub ended_ms: Option<i64>,
    pub length_ms: i64,
    pub status: RecordingStatus,
    pub published: bool,
    pub protected: bool,
    /// BBB `meta_*` parameters (names without `meta_`), a JSON object.
    pub meta: String,
    /// Where its files are, within the recordings storage (`<room>/<started ms>`).
    pub folder: String,
    /// Bytes stored, every file counted.
    pub bytes: i64,
    /// How far composition got, per mille.
    pub progress: i64,
    pub error: Option<String>,
    pub attempts: i64,
    pub lease_until: Option<i64>,
    /// Its files were moved to the object storage (else they are in the local folder).
    pub remote: bool,
}

/// What an owner (or the BBB API) may change of a recording; `None` leaves it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordingUpdate {
    pub published: Option<bool>,
    pub protected: Option<bool>,
    pub name: Option<String>,
    pub meta: Option<String>,
}

pub(crate) fn recording_from_row(r: &impl Columns) -> Result<RecordingRow, crate::StoreError> {
    let room = r.text(1)?;
    let room = RoomId::parse(&room)
        .map_err(|e| crate::StoreError::Corrupt(format!("recording's room {room:?}: {e}")))?;
    let state = r.text(8)?;
    let status = RecordingStatus::parse(&state)
        .ok_or_else(|| crate::StoreError::Corrupt(format!("recording state {state:?}")))?;
    Ok(RecordingRow {
        id: r.text(0)?,
        room,
        meeting_id: r.text(2)?,
        meeting_ms: r.int(3)?,
        name: r.text(4)?,
        started_ms: r.int(5)?,
        ended_ms: r.opt_int(6)?,
        length_ms: r.int(7)?,
        status,
        published: r.int(9)? != 0,
        protected: r.int(10)? != 0,
        meta: r.text(11)?,
        folder: r.text(12)?,
        bytes: r.int(13)?,
        progress: r.int(14)?,
        error: r.opt_text(15)?,
        attempts: r.int(16)?,
        lease_until: r.opt_int(17)?,
        remote: r.int(18)? != 0,
    })
}

/// An organisation's recording rules (`None`: the site's default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordingPolicy {
    /// Its members' rooms may be recorded.
    pub allowed: bool,
    /// Days a recording is kept after it ends.
    pub retention_days: Option<i64>,
    /// Bytes its members' rooms' recordings may take in all.
    pub quota_bytes: Option<i64>,
}

impl Default for RecordingPolicy {
    fn default() -> Self {
        Self {
            allowed: true,
            retention_days: None,
            quota_bytes: None,
        }
    }
}
