//! Recordings as a service, for every surface (the portal's pages, the BigBlueButton API,
//! the server's recorder): a recording's row and files, who may watch it ([`access`]), its
//! [`timeline`], and the composition of one MP4 by a persistent job queue ([`worker`]).
//!
//! Files live under the recordings folder (by default `<data>/recordings`), one folder per
//! recording, `<room>/<started ms>/`: the tracks as recorded (`p<id>-<source>.webm`), the
//! same remuxed for playback (`play/`, with cues and a duration, times from 0), the
//! `timeline.json`, and once composed `recording.mp4`.

pub mod access;
pub mod compose;
pub mod remote;
pub mod retention;
pub mod timeline;
pub mod worker;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use plenary_proto::RoomId;
use plenary_record::recording::TrackFile;
use plenary_store::{RecordingRow, RecordingStatus, Store, StoreError};
use sha1::Digest as _;

pub use access::{Access, Audience, Viewer};
use timeline::Timeline;

/// The folder of a recording's files made for playback.
pub const PLAY: &str = "play";
/// The composed file.
pub const MP4: &str = "recording.mp4";

/// Where a file of a recording is.
#[derive(Debug)]
pub enum Source {
    Local(PathBuf),
    Remote {
        remote: remote::Remote,
        folder: String,
        name: String,
        len: u64,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    #[error(transparent)]
    Remote(#[from] remote::RemoteError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("recording files: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Ffmpeg(String),
}

/// The recordings service. Cheap to share (`Arc`).
#[derive(Debug)]
pub struct Recordings {
    store: Arc<dyn Store>,
    root: PathBuf,
    link_key: [u8; 32],
    ffmpeg: PathBuf,
    /// Where ready recordings go, when not the local folder.
    remote: Option<remote::Remote>,
    /// This node's region, in the usage ledger's recording events (set once at start).
    region: std::sync::OnceLock<String>,
    /// Wakes the composition workers (a recording ended).
    pub(crate) queued: tokio::sync::Notify,
    /// The ids of recordings as they become ready (the BBB callback listens).
    pub(crate) ready: tokio::sync::broadcast::Sender<String>,
}

/// BigBlueButton's record id: `sha1(meeting id)-<started ms>`.
pub fn record_id(meeting_id: &str, started_ms: i64) -> String {
    let digest = sha1::Sha1::digest(meeting_id.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}-{started_ms}")
}

/// Whether an integration (the BBB API) made `r`: its meeting id is the integration's, not
/// the room's own.
pub fn made_by_integration(r: &RecordingRow) -> bool {
    r.meeting_id != r.room.as_str()
}

/// What a recording starts as.
#[derive(Debug, Clone)]
pub struct NewRecording {
    pub room: RoomId,
    pub meeting_id: String,
    pub meeting_ms: i64,
    pub name: String,
    pub started_ms: i64,
    pub meta: String,
}

impl Recordings {
    /// `root`: the recordings folder; `link_key`: signs the links that open a recording to
    /// anyone who has them; `ffmpeg`: the program composing and remuxing; `remote`: where
    /// ready recordings go (else they stay in `root`).
    pub fn new(
        store: Arc<dyn Store>,
        root: PathBuf,
        link_key: [u8; 32],
        ffmpeg: PathBuf,
        remote: Option<remote::Remote>,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            root,
            link_key,
            ffmpeg,
            remote,
            region: std::sync::OnceLock::new(),
            queued: tokio::sync::Notify::new(),
            ready: tokio::sync::broadcast::channel(256).0,
        })
    }

    /// Names this node's region in the usage ledger (once; later calls change nothing).
    pub fn set_region(&self, region: &str) {
        let _ = self.region.set(region.to_owned());
    }

    /// Writes a recording's storage to the usage ledger (stored when composed, freed when
    /// deleted). A ledger write that fails is logged: the recording itself is not undone.
    pub(crate) async fn record_usage(
        &self,
        kind: plenary_store::UsageKind,
        r: &RecordingRow,
        bytes: i64,
    ) {
        let mut e = plenary_store::UsageEvent::new(
            kind,
            plenary_proto::clock::unix_millis(),
            r.room.as_str(),
            r.meeting_ms,
        );
        e.bytes = Some(bytes);
        e.reference = Some(r.id.clone());
        e.region = self.region.get().cloned().unwrap_or_default();
        e.room_orgs = match plenary_meeting::usage::room_orgs(&*self.store, &r.room).await {
            Ok(o) => o,
            Err(err) => {
                tracing::warn!(error = %err, "cannot read a recording's organisations for the ledger");
                Vec::new()
            }
        };
        if let Err(err) = self.store.usage_record(&e).await {
            tracing::error!(id = %r.id, error = %err, "cannot write a recording to the usage ledger");
        }
    }

    /// The ids of recordings as they become ready.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.ready.subscribe()
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A recording's folder.
    pub fn dir(&self, r: &RecordingRow) -> PathBuf {
        self.root.join(&r.folder)
    }

    /// A recording starts: its row (state `recording`) and its folder, where the recorder
    /// writes.
    pub async fn begin(
        &self,
        new: &NewRecording,
    ) -> Result<(RecordingRow, PathBuf), RecordingError> {
        let row = RecordingRow {
            id: record_id(&new.meeting_id, new.started_ms),
            room: new.room.clone(),
            meeting_id: new.meeting_id.clone(),
            meeting_ms: new.meeting_ms,
            name: new.name.clone(),
            started_ms: new.started_ms,
            ended_ms: None,
            length_ms: 0,
            status: RecordingStatus::Recording,
            published: true,
            protected: false,
            meta: new.meta.clone(),
            folder: format!("{}/{}", new.room.as_str(), new.started_ms),
            bytes: 0,
            progress: 0,
            error: None,
            attempts: 0,
            lease_until: None,
            remote: false,
        };
        let dir = self.dir(&row);
        std::fs::create_dir_all(&dir)?;
        self.store.create_recording(&row).await?;
        Ok((row, dir))
    }

    /// A recording's files are written: the timeline is saved, the tracks remuxed for
    /// playback, and the recording moves to processing (playable now; its MP4 queued).
    pub async fn end(
        &self,
        id: &str,
        timeline: &Timeline,
        ended_ms: i64,
    ) -> Result<(), RecordingError> {
        let row = self
            .store
            .get_recording(id)
            .await?
            .ok_or_else(|| RecordingError::Ffmpeg(format!("recording {id} is not stored")))?;
        let dir = self.dir(&row);
        let play = dir.join(PLAY);
        std::fs::create_dir_all(&play)?;
        for t in &timeline.tracks {
            worker::remux(&self.ffmpeg, &dir.join(&t.file), &play.join(&t.file)).await?;
        }
        let json = serde_json::to_vec_pretty(timeline).map_err(std::io::Error::other)?;
        write_durably(&dir.join(timeline::FILE), &json)?;
        plenary_record::files::sync_dir(&play)?;
        plenary_record::files::sync_dir(&dir)?;
        let bytes = folder_bytes(&dir);
        self.store
            .recording_ended(id, ended_ms, timeline.length_ms as i64, bytes as i64)
            .await?;
        self.queued.notify_waiters();
        Ok(())
    }

    /// Reads a recording's timeline.
    pub async fn timeline(&self, r: &RecordingRow) -> Result<Timeline, RecordingError> {
        let data = match (&self.remote, r.remote) {
            (Some(remote), true) => remote.read(&r.folder, timeline::FILE).await?,
            _ => std::fs::read(self.dir(r).join(timeline::FILE))?,
        };
        serde_json::from_slice(&data).map_err(|e| RecordingError::Ffmpeg(format!("timeline: {e}")))
    }

    /// Where a file of a recording (`play/<track>`, `recording.mp4`) is read from.
    pub async fn source(&self, r: &RecordingRow, name: &str) -> Result<Source, RecordingError> {
        match (&self.remote, r.remote) {
            (Some(remote), true) => Ok(Source::Remote {
                remote: remote.clone(),
                folder: r.folder.clone(),
                name: name.to_owned(),
                len: remote.size(&r.folder, name).await?,
            }),
            (None, true) => Err(RecordingError::Ffmpeg(
                "the recording is in object storage, which is not configured".into(),
            )),
            _ => Ok(Source::Local(self.dir(r).join(name))),
        }
    }

    /// Where ready recordings are kept: `local` or the bucket.
    pub fn storage_name(&self) -> &str {
        self.remote.as_ref().map_or("local", |r| r.name.as_str())
    }

    /// Moves a composed recording's files (what playback and download read) to the object
    /// storage, if there is one: each checked there, then the local folder removed.
    pub(crate) async fn move_to_remote(&self, r: &RecordingRow) -> Result<(), RecordingError> {
        let Some(remote) = &self.remote else {
            return Ok(());
        };
        let dir = self.dir(r);
        let mut names = vec![timeline::FILE.to_owned(), MP4.to_owned()];
        for e in std::fs::read_dir(dir.join(PLAY))? {
            let e = e?;
            if let Some(n) = e.file_name().to_str() {
                names.push(format!("{PLAY}/{n}"));
            }
        }
        remote.upload(&dir, &r.folder, &names).await?;
        self.store.recording_moved(&r.id).await?;
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }

    /// Queues a failed recording's composition again (an admin's retry).
    pub async fn retry(&self, id: &str) -> Result<bool, StoreError> {
        let queued = self.store.retry_recording(id).await?;
        self.queued.notify_waiters();
        Ok(queued)
    }

    /// Deletes a recording: its files, for real (the object storage's too), then its row.
    pub async fn delete(&self, r: &RecordingRow) -> Result<bool, RecordingError> {
        if let Some(remote) = &self.remote {
            remote.delete(&r.folder).await?;
        }
        let dir = self.dir(r);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        if let Some(parent) = dir.parent() {
            let _ = plenary_record::files::sync_dir(parent);
        }
        let deleted = self.store.delete_recording(&r.id).await?;
        if deleted {
            self.record_usage(plenary_store::UsageKind::RecordingDeleted, r, r.bytes)
                .await;
        }
        Ok(deleted)
    }

    /// Recordings a crash or kill interrupted (still `recording` in the store while no
    /// recorder runs, at start): their files cut back to the last whole cluster, a timeline
    /// made from what the files hold, and on to processing like any other.
    pub async fn recover(&self) -> Result<usize, RecordingError> {
        let mut n = 0;
        for r in self.store.recordings_in(RecordingStatus::Recording).await? {
            let dir = self.dir(&r);
            let tracks: Vec<TrackFile> = plenary_record::files::recovered_tracks(&dir);
            let t = timeline_of(&r, &tracks, Vec::new(), Vec::new());
            let ended = r.started_ms + t.length_ms as i64;
            if let Err(e) = self.end(&r.id, &t, ended).await {
                tracing::error!(id = %r.id, error = %e, "cannot finish an interrupted recording");
                continue;
            }
            n += 1;
        }
        Ok(n)
    }
}

/// A timeline from the recorded tracks and what the meeting told.
pub fn timeline_of(
    r: &RecordingRow,
    tracks: &[TrackFile],
    people: Vec<timeline::Person>,
    events: Vec<timeline::Event>,
) -> Timeline {
    let length_ms = tracks
        .iter()
        .map(|t| t.end_ms)
        .chain(events.iter().map(timeline::Event::at_ms))
        .max()
        .unwrap_or(0);
    let mut people = people;
    for t in tracks {
        let p = t.track.participant.0;
        if !people.iter().any(|x| x.participant == p) {
            people.push(timeline::Person {
                participant: p,
                name: format!("#{p}"),
            });
        }
    }
    Timeline {
        version: 1,
        started_ms: r.started_ms,
        length_ms,
        tracks: tracks
            .iter()
            .map(|t| timeline::Track {
                file: t.file.clone(),
                participant: t.track.participant.0,
                source: t.track.source.name().to_owned(),
                kind: match t.codec {
                    plenary_record::webm::Codec::Vp8 => "video",
                    plenary_record::webm::Codec::Opus { .. } => "audio",
                }
                .to_owned(),
                start_ms: t.start_ms,
                end_ms: t.end_ms,
                spans: t.spans.clone(),
            })
            .collect(),
        people,
        events,
    }
}

/// Writes a new file and makes it durable before returning.
pub(crate) fn write_durably(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let tmp = path.with_extension("part");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(data)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Bytes of every file under `dir`.
pub fn folder_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => folder_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    #[test]
    fn record_ids_are_bbbs() {
        // sha1("Demo Meeting")
        assert_eq!(
            super::record_id("Demo Meeting", 1_700_000_000_000),
            "183f0bf3a0982a127bdb8161e0c44eb696b3e75c-1700000000000"
        );
    }
}
