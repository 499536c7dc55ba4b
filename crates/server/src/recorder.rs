//! The recorder: when a meeting's recording starts (a [`RoomEvent::Recording`] from the
//! meeting service, which checked who may), the recordings service stores it (state
//! `recording`) and the media engine hands that room's frames to a thread that writes each
//! track to its own WebM file in the recording's folder (crate `record`); pause leaves a gap,
//! stop (or the meeting's end) finishes the files, and the timeline this task kept of the
//! meeting (joins, leaves, speaking, screen shares, pauses, the public chat) goes beside
//! them: the recording is playable, and its MP4 queued. File writes never run on the media
//! task: the engine sends frames over a bounded channel and counts those a slow disk drops.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use plenary_engine::Engine;
use plenary_media::{RecordedCodec, RecordedFrame};
use plenary_meeting::live::{Meetings, RoomEvent};
use plenary_proto::{RecordingState, RoomId};
use plenary_record::files::Folder;
use plenary_record::recording::{Incoming, Recording, TrackFile, TrackKey};
use plenary_record::webm::Codec;
use plenary_recordings::timeline::{Event, Person};
use plenary_recordings::{NewRecording, Recordings};
use plenary_store::RecordingRow;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{mpsc, oneshot};

/// How often what a recording wrote is made durable (fsync).
const SYNC_EVERY: Duration = Duration::from_secs(2);

/// Frames queued for the writing thread before the engine drops new ones (several seconds of
/// a large meeting).
const QUEUE: usize = 8192;

/// How long the writing thread waits for a frame before writing out quiet tracks anyway.
const IDLE: Duration = Duration::from_millis(100);

/// What the BBB API knows of a room's meeting: its `meetingID`, name and `meta_*` (JSON).
pub type MeetingOf = Arc<
    dyn Fn(
            RoomId,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Option<(String, String, String)>> + Send>,
        > + Send
        + Sync,
>;

enum Control {
    Pause,
    Resume,
}

/// A recording in progress, as this task follows it.
struct Active {
    row: RecordingRow,
    started: Instant,
    control: std_mpsc::Sender<Control>,
    done: oneshot::Receiver<Vec<TrackFile>>,
    people: BTreeMap<u64, String>,
    screens: BTreeSet<u64>,
    events: Vec<Event>,
}

impl Active {
    fn at(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }
}

/// Listens for recordings starting and stopping, for as long as the meetings run.
pub fn spawn(
    meetings: Arc<Meetings>,
    engine: Engine,
    recordings: Arc<Recordings>,
    meeting_of: MeetingOf,
) {
    // A recording a crash interrupted: its files cut back to their last whole cluster.
    match plenary_record::files::recover_all(recordings.root()) {
        Ok(0) => {}
        Ok(n) => tracing::info!(files = n, "recordings checked after the last run"),
        Err(e) => tracing::error!(error = %e, "cannot check the recordings of the last run"),
    }
    let mut events = meetings.subscribe();
    tokio::spawn(async move {
        // …and on to processing, from what their files hold.
        match recordings.recover().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(recordings = n, "interrupted recordings finished"),
            Err(e) => tracing::error!(error = %e, "cannot finish interrupted recordings"),
        }
        let mut active: HashMap<RoomId, Active> = HashMap::new();
        loop {
            let event = match events.recv().await {
                Ok(e) => e,
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "recorder fell behind the meetings' events");
                    // What the meetings say now is what counts.
                    let now: HashMap<RoomId, RecordingState> =
                        meetings.recording_rooms().into_iter().collect();
                    let gone: Vec<RoomId> = active
                        .keys()
                        .filter(|r| !now.contains_key(*r))
                        .cloned()
                        .collect();
                    for room in gone {
                        stop(&engine, &recordings, &meetings, &mut active, &room).await;
                    }
                    for (room, state) in now {
                        if !active.contains_key(&room) {
                            begin(
                                &engine,
                                &recordings,
                                &meetings,
                                &meeting_of,
                                &mut active,
                                &room,
                            )
                            .await;
                        }
                        if let Some(a) = active.get(&room) {
                            let _ = a.control.send(match state {
                                RecordingState::Paused => Control::Pause,
                                _ => Control::Resume,
                            });
                        }
                    }
                    continue;
                }
                Err(RecvError::Closed) => return,
            };
            match event {
                RoomEvent::Recording { room, state } => match (state, active.contains_key(&room)) {
                    (RecordingState::Recording, false) => {
                        begin(
                            &engine,
                            &recordings,
                            &meetings,
                            &meeting_of,
                            &mut active,
                            &room,
                        )
                        .await
                    }
                    (RecordingState::Recording, true) => {
                        if let Some(a) = active.get_mut(&room) {
                            let _ = a.control.send(Control::Resume);
                            let at_ms = a.at();
                            a.events.push(Event::Resumed { at_ms });
                        }
                    }
                    (RecordingState::Paused, true) => {
                        if let Some(a) = active.get_mut(&room) {
                            let _ = a.control.send(Control::Pause);
                            let at_ms = a.at();
                            a.events.push(Event::Paused { at_ms });
                        }
                    }
                    (RecordingState::Off, true) => {
                        stop(&engine, &recordings, &meetings, &mut active, &room).await
                    }
                    _ => {}
                },
                RoomEvent::Joined { room, participant } => {
                    if let Some(a) = active.get_mut(&room) {
                        let (at_ms, p) = (a.at(), participant.info.id.0);
                        a.people.insert(p, participant.info.name.clone());
                        a.events.push(Event::Joined {
                            at_ms,
                            participant: p,
                        });
                    }
                }
                RoomEvent::Left {
                    room, participant, ..
                } => {
                    if let Some(a) = active.get_mut(&room) {
                        let (at_ms, p) = (a.at(), participant.info.id.0);
                        a.screens.remove(&p);
                        a.events.push(Event::Left {
                            at_ms,
                            participant: p,
                        });
                    }
                }
                RoomEvent::MediaState {
                    room, participant, ..
                } => {
                    if let Some(a) = active.get_mut(&room) {
                        let (at_ms, p, on) =
                            (a.at(), participant.info.id.0, participant.info.screen);
                        let changed = if on {
                            a.screens.insert(p)
                        } else {
                            a.screens.remove(&p)
                        };
                        if changed {
                            a.events.push(Event::Screen {
                                at_ms,
                                participant: p,
                                on,
                            });
                        }
                    }
                }
                // Polls come from the store at the end, with their results.
                RoomEvent::Poll { .. } => {}
                RoomEvent::Notes { room, text } => {
                    if let Some(a) = active.get_mut(&room) {
                        let at_ms = a.at();
                        a.events.push(Event::Notes { at_ms, text });
                        // Thinned as they come: a long recording holds a bounded number.
                        plenary_recordings::timeline::thin_notes(&mut a.events);
                    }
                }
                RoomEvent::Speaking {
                    room,
                    participant,
                    speaking,
                } => {
                    if let Some(a) = active.get_mut(&room) {
                        let at_ms = a.at();
                        a.events.push(Event::Speaking {
                            at_ms,
                            participant: participant.0,
                            speaking,
                        });
                    }
                }
            }
        }
    });
}

async fn begin(
    engine: &Engine,
    recordings: &Arc<Recordings>,
    meetings: &Meetings,
    meeting_of: &MeetingOf,
    active: &mut HashMap<RoomId, Active>,
    room: &RoomId,
) {
    let started_ms = plenary_proto::clock::unix_millis() as i64;
    let (meeting_id, name, meta) = match meeting_of(room.clone()).await {
        Some(m) => m,
        None => {
            let name = match recordings.store().get_room(room).await {
                Ok(Some(r)) => r.name,
                _ => room.to_string(),
            };
            (room.to_string(), name, "{}".to_owned())
        }
    };
    let new = NewRecording {
        room: room.clone(),
        meeting_id,
        meeting_ms: meetings.started_ms(room).unwrap_or(started_ms),
        name,
        started_ms,
        meta,
    };
    let (row, dir) = match recordings.begin(&new).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(%room, error = %e, "cannot start recording");
            return;
        }
    };
    let folder = match Folder::create(&dir) {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(%room, error = %e, "cannot start recording");
            return;
        }
    };
    let started = Instant::now();
    let (frames_tx, frames) = mpsc::channel(QUEUE);
    let (control_tx, control) = std_mpsc::channel();
    let (done_tx, done) = oneshot::channel();
    let recording = Recording::new(folder, started);
    let dir_name = dir.display().to_string();
    let spawned = std::thread::Builder::new()
        .name(format!("recorder {room}"))
        .spawn(move || {
            let files = write(recording, frames, control, &dir_name);
            let _ = done_tx.send(files);
        });
    if let Err(e) = spawned {
        tracing::error!(%room, error = %e, "cannot start recording");
        return;
    }
    engine.record(room.clone(), Some(frames_tx)).await;
    // Who is there when it starts.
    let mut people = BTreeMap::new();
    let mut events = Vec::new();
    let mut screens = BTreeSet::new();
    for p in meetings.participants(room) {
        people.insert(p.info.id.0, p.info.name.clone());
        events.push(Event::Joined {
            at_ms: 0,
            participant: p.info.id.0,
        });
        if p.info.speaking {
            events.push(Event::Speaking {
                at_ms: 0,
                participant: p.info.id.0,
                speaking: true,
            });
        }
        if p.info.screen {
            screens.insert(p.info.id.0);
            events.push(Event::Screen {
                at_ms: 0,
                participant: p.info.id.0,
                on: true,
            });
        }
    }
    tracing::info!(%room, id = %row.id, "recording");
    active.insert(
        room.clone(),
        Active {
            row,
            started,
            control: control_tx,
            done,
            people,
            screens,
            events,
        },
    );
}

/// Stops a room's recording: the engine lets go (the thread writes what is left and ends),
/// then the timeline is completed and the recording handed on, without holding up this task.
async fn stop(
    engine: &Engine,
    recordings: &Arc<Recordings>,
    meetings: &Meetings,
    active: &mut HashMap<RoomId, Active>,
    room: &RoomId,
) {
    let Some(mut a) = active.remove(room) else {
        return;
    };
    let ended_ms = plenary_proto::clock::unix_millis() as i64;
    let length_ms = a.at();
    engine.record(room.clone(), None).await;
    let _ = meetings;
    let recordings = recordings.clone();
    tokio::spawn(async move {
        let files = (&mut a.done).await.unwrap_or_default();
        // The public chat said during the recording, from the store.
        let start = a.row.started_ms;
        match recordings
            .store()
            .chat_of(&a.row.room, a.row.meeting_ms)
            .await
        {
            Ok(chat) => a.events.extend(
                chat.into_iter()
                    .filter(|c| c.to_kind == "everyone" && c.deleted_ms.is_none())
                    .filter(|c| c.at_ms >= start && c.at_ms <= ended_ms)
                    .map(|c| Event::Chat {
                        at_ms: (c.at_ms - start) as u64,
                        name: c.name,
                        text: c.body,
                    }),
            ),
            Err(e) => tracing::error!(id = %a.row.id, error = %e, "recording without its chat"),
        }
        // The polls asked during the recording, with their results.
        let meeting = Some(a.row.meeting_ms);
        match plenary_meeting::poll_results::stored_polls(
            &**recordings.store(),
            &a.row.room,
            meeting,
        )
        .await
        {
            Ok(polls) => a.events.extend(
                polls
                    .into_iter()
                    .filter(|p| p.poll.opened_ms >= start && p.poll.opened_ms <= ended_ms)
                    .map(|p| Event::Poll {
                        at_ms: (p.poll.opened_ms - start) as u64,
                        fixed: p.poll.spec.kind.fixed_options().is_some(),
                        question: p.poll.spec.question,
                        counts: p.poll.counts,
                        votes: p.poll.votes,
                        options: p.options,
                    }),
            ),
            Err(e) => tracing::error!(id = %a.row.id, error = %e, "recording without its polls"),
        }
        // The minutes as they were when the recording ended, if the last snapshot is older.
        match plenary_meeting::minutes::minutes_text(
            &**recordings.store(),
            &a.row.room,
            a.row.meeting_ms,
        )
        .await
        {
            Ok(Some(text)) => {
                let last = a.events.iter().rev().find_map(|e| match e {
                    Event::Notes { text, .. } => Some(text.as_str()),
                    _ => None,
                });
                if last != Some(text.as_str()) {
                    a.events.push(Event::Notes {
                        at_ms: length_ms,
                        text,
                    });
                }
            }
            Ok(None) => {}
            Err(e) => tracing::error!(id = %a.row.id, error = %e, "recording without its minutes"),
        }
        a.events.sort_by_key(Event::at_ms);
        // What was said or done while the recording was paused is not in it.
        let mut paused = false;
        a.events.retain(|e| match e {
            Event::Paused { .. } => {
                paused = true;
                true
            }
            Event::Resumed { .. } => {
                paused = false;
                true
            }
            // Who is there and what they share stays right across a pause.
            Event::Chat { .. }
            | Event::Poll { .. }
            | Event::Notes { .. }
            | Event::Speaking { speaking: true, .. } => !paused,
            _ => true,
        });
        plenary_recordings::timeline::thin_notes(&mut a.events);
        let people = a
            .people
            .into_iter()
            .map(|(participant, name)| Person { participant, name })
            .collect();
        let mut timeline = plenary_recordings::timeline_of(&a.row, &files, people, a.events);
        timeline.length_ms = timeline.length_ms.max(length_ms);
        // A store that is briefly unavailable does not leave the recording unfinished: tried
        // again (1, 2, 4, 8 s later); past that, the next start finishes it (`recover`).
        let mut wait = Duration::from_secs(1);
        for attempt in 1..=5 {
            match recordings.end(&a.row.id, &timeline, ended_ms).await {
                Ok(()) => {
                    tracing::info!(id = %a.row.id, tracks = files.len(), "recording playable");
                    break;
                }
                Err(e) => {
                    tracing::error!(id = %a.row.id, attempt, error = %e, "cannot finish a recording");
                    if attempt < 5 {
                        tokio::time::sleep(wait).await;
                        wait *= 2;
                    }
                }
            }
        }
    });
}

/// The writing thread: frames into files until the engine lets go; returns the tracks.
fn write(
    mut recording: Recording<Folder>,
    mut frames: mpsc::Receiver<RecordedFrame>,
    control: std_mpsc::Receiver<Control>,
    dir: &str,
) -> Vec<TrackFile> {
    let mut synced = Instant::now();
    let mut failed = false;
    loop {
        let next = match frames.try_recv() {
            Ok(f) => Some(f),
            Err(mpsc::error::TryRecvError::Empty) => {
                std::thread::sleep(IDLE);
                None
            }
            Err(mpsc::error::TryRecvError::Disconnected) => break,
        };
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
        if failed {
            continue; // drain the frames until the engine lets go
        }
        let written = match &next {
            Some(f) => recording.frame(Incoming {
                track: TrackKey {
                    participant: f.participant,
                    source: f.source,
                },
                codec: match f.codec {
                    RecordedCodec::Opus { channels } => Codec::Opus { channels },
                    RecordedCodec::Vp8 => Codec::Vp8,
                },
                rtp_time: f.rtp_time,
                clock_rate: f.clock_rate,
                arrived: f.arrived,
                sender_ms: f.sender_ms,
                keyframe: f.keyframe,
                data: &f.data,
            }),
            None => Ok(()),
        };
        let now = Instant::now();
        if let Err(e) = written.and_then(|()| recording.tick(now)) {
            // A full disk, say: what is written stays readable; the recording ends there.
            tracing::error!(%dir, error = %e, "recording cut short: cannot write");
            failed = true;
        }
        if failed || now.duration_since(synced) >= SYNC_EVERY {
            synced = now;
            if let Err(e) = recording.storage().sync() {
                tracing::error!(%dir, error = %e, "recording not made durable");
            }
        }
    }
    match recording.finish() {
        Ok((folder, files)) => {
            if let Err(e) = folder.sync() {
                tracing::error!(%dir, error = %e, "recording not made durable");
            }
            files
        }
        Err(e) => {
            tracing::error!(%dir, error = %e, "recording not finished");
            // What the files hold is still a recording.
            plenary_record::files::recovered_tracks(std::path::Path::new(dir))
        }
    }
}
