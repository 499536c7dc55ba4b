//! The recorder: when a meeting's recording starts (a [`RoomEvent::Recording`] from the
//! meeting service, which checked who may), the media engine hands that room's frames to a
//! thread that writes each track to its own WebM file under
//! `<data>/recordings/<room>/<started ms>/` (crate `record`); pause leaves a gap, stop (or the
//! meeting's end) finishes the files. File writes never run on the media task: the engine
//! sends frames over a bounded channel and counts the ones a slow disk makes it drop.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::Instant;

use plenary_engine::Engine;
use plenary_media::{RecordedCodec, RecordedFrame};
use plenary_meeting::live::{Meetings, RoomEvent};
use plenary_proto::RecordingState;
use plenary_proto::RoomId;
use plenary_record::files::Folder;
use plenary_record::recording::{Incoming, Recording, TrackKey};
use plenary_record::webm::Codec;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

/// How often what a recording wrote is made durable (fsync).
const SYNC_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Frames queued for the writing thread before the engine drops new ones (several seconds of
/// a large meeting).
const QUEUE: usize = 8192;

/// Where a room's recordings go.
pub fn recordings_dir(data_dir: &std::path::Path, room: &RoomId) -> PathBuf {
    data_dir.join("recordings").join(room.as_str())
}

enum Control {
    Pause,
    Resume,
}

/// Listens for recordings starting and stopping, for as long as the meetings run.
pub fn spawn(meetings: Arc<Meetings>, engine: Engine, data_dir: PathBuf) {
    // A recording a crash interrupted: its files cut back to their last whole cluster.
    match plenary_record::files::recover_all(&data_dir.join("recordings")) {
        Ok(0) => {}
        Ok(n) => tracing::info!(files = n, "recordings checked after the last run"),
        Err(e) => tracing::error!(error = %e, "cannot check the recordings of the last run"),
    }
    let mut events = meetings.subscribe();
    tokio::spawn(async move {
        let mut active: HashMap<RoomId, std_mpsc::Sender<Control>> = HashMap::new();
        loop {
            let (room, state) = match events.recv().await {
                Ok(RoomEvent::Recording { room, state }) => (room, state),
                Ok(_) => continue,
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "recorder fell behind the meetings' events");
                    continue;
                }
                Err(RecvError::Closed) => return,
            };
            match (state, active.get(&room)) {
                (RecordingState::Recording, None) => match start(&engine, &data_dir, &room).await {
                    Ok(control) => {
                        active.insert(room, control);
                    }
                    Err(e) => tracing::error!(%room, error = %e, "cannot start recording"),
                },
                (RecordingState::Recording, Some(c)) => {
                    let _ = c.send(Control::Resume);
                }
                (RecordingState::Paused, Some(c)) => {
                    let _ = c.send(Control::Pause);
                }
                (RecordingState::Off, Some(_)) => {
                    active.remove(&room);
                    // The engine drops its sender: the thread writes what is left and ends.
                    engine.record(room, None).await;
                }
                _ => {}
            }
        }
    });
}

async fn start(
    engine: &Engine,
    data_dir: &std::path::Path,
    room: &RoomId,
) -> std::io::Result<std_mpsc::Sender<Control>> {
    let dir = recordings_dir(data_dir, room).join(plenary_proto::clock::unix_millis().to_string());
    let folder = Folder::create(&dir)?;
    let (frames_tx, frames) = mpsc::channel(QUEUE);
    let (control_tx, control) = std_mpsc::channel();
    let recording = Recording::new(folder, Instant::now());
    let name = format!("recorder {room}");
    std::thread::Builder::new()
        .name(name)
        .spawn(move || write(recording, frames, control, dir))?;
    engine.record(room.clone(), Some(frames_tx)).await;
    tracing::info!(%room, "recording");
    Ok(control_tx)
}

/// The writing thread: frames into files until the engine lets go.
fn write(
    mut recording: Recording<Folder>,
    mut frames: mpsc::Receiver<RecordedFrame>,
    control: std_mpsc::Receiver<Control>,
    dir: PathBuf,
) {
    let mut synced = Instant::now();
    while let Some(f) = frames.blocking_recv() {
        for c in control.try_iter() {
            match c {
                Control::Pause => {
                    if let Err(e) = recording.pause(Instant::now()) {
                        tracing::error!(error = %e, "recording pause failed");
                    }
                }
                Control::Resume => recording.resume(Instant::now()),
            }
        }
        let codec = match f.codec {
            RecordedCodec::Opus { channels } => Codec::Opus { channels },
            RecordedCodec::Vp8 => Codec::Vp8,
        };
        let written = recording.frame(Incoming {
            track: TrackKey {
                participant: f.participant,
                source: f.source,
            },
            codec,
            rtp_time: f.rtp_time,
            clock_rate: f.clock_rate,
            arrived: f.arrived,
            keyframe: f.keyframe,
            data: &f.data,
        });
        let now = Instant::now();
        let durable = if now.duration_since(synced) >= SYNC_EVERY {
            synced = now;
            recording.storage().sync()
        } else {
            Ok(())
        };
        if let Err(e) = durable {
            tracing::error!(dir = %dir.display(), error = %e, "recording not made durable");
        }
        if let Err(e) = written.and_then(|()| recording.tick(now)) {
            // A full disk, say: what is written stays readable; stop rather than spin.
            tracing::error!(dir = %dir.display(), error = %e, "recording stopped: cannot write");
            // What was written stays: make it durable before giving up.
            if let Err(e) = recording.storage().sync() {
                tracing::error!(dir = %dir.display(), error = %e, "recording not made durable");
            }
            return;
        }
    }
    match recording.finish() {
        Ok((folder, files)) => match folder.sync() {
            Ok(()) => {
                tracing::info!(dir = %dir.display(), tracks = files.len(), "recording written")
            }
            Err(e) => {
                tracing::error!(dir = %dir.display(), error = %e, "recording not made durable")
            }
        },
        Err(e) => tracing::error!(dir = %dir.display(), error = %e, "recording not finished"),
    }
}
