//! Organisations' meeting-length limit: when a meeting starts in a member's room (its first
//! participant joins), a timer ends it after the tightest limit of the owner's organisations.
//! Everyone is told why (`time_limit`) and disconnected; the room stays, and a later join
//! starts a new meeting.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use plenary_proto::RoomId;
use tokio::sync::broadcast::error::RecvError;

use std::sync::Arc as Shared;

use plenary_store::Store;

use crate::live::{Meetings, RoomEvent};

/// The reason an ended meeting gives (the client shows it translated).
pub const REASON: &str = "time_limit";

/// Which meeting of a room is running: a new number each time a room fills from empty.
type Running = Arc<Mutex<HashMap<RoomId, u64>>>;

/// Watches meetings start and end; runs until the server stops.
pub fn spawn(store: Shared<dyn Store>, meetings: Shared<Meetings>) {
    let mut events = meetings.subscribe();
    let running: Running = Arc::default();
    tokio::spawn(async move {
        let mut next: u64 = 0;
        loop {
            let event = match events.recv().await {
                Ok(e) => e,
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "meeting-length watcher fell behind");
                    continue;
                }
                Err(RecvError::Closed) => return,
            };
            match event {
                RoomEvent::Joined { room, .. } => {
                    let started = match running.lock() {
                        Ok(mut r) if !r.contains_key(&room) => {
                            next += 1;
                            r.insert(room.clone(), next);
                            Some(next)
                        }
                        _ => None,
                    };
                    if let Some(meeting) = started {
                        tokio::spawn(limit(
                            store.clone(),
                            meetings.clone(),
                            running.clone(),
                            room,
                            meeting,
                        ));
                    }
                }
                RoomEvent::Left {
                    room, remaining: 0, ..
                } => {
                    if let Ok(mut r) = running.lock() {
                        r.remove(&room);
                    }
                }
                _ => {}
            }
        }
    });
}

/// Ends `meeting` of `room` when its owner's organisations' limit is reached, if it is
/// still the one running then.
async fn limit(
    store: Shared<dyn Store>,
    meetings: Shared<Meetings>,
    running: Running,
    room: RoomId,
    meeting: u64,
) {
    let minutes = match minutes_for(&*store, &room).await {
        Ok(Some(m)) => m,
        Ok(None) => return,
        Err(e) => {
            tracing::error!(room = %room, error = %e, "cannot read the meeting-length limit");
            return;
        }
    };
    tokio::time::sleep(Duration::from_secs(minutes.max(1).unsigned_abs() * 60)).await;
    let still = running.lock().is_ok_and(|r| r.get(&room) == Some(&meeting));
    if still {
        tracing::info!(room = %room, minutes, "meeting reached its organisation's time limit");
        meetings.end_meeting(&room, REASON);
    }
}

async fn minutes_for(
    store: &dyn Store,
    room: &RoomId,
) -> Result<Option<i64>, plenary_store::StoreError> {
    let Some(owner) = store.get_room(room).await?.and_then(|r| r.owner_id) else {
        return Ok(None);
    };
    Ok(plenary_accounts::limits_of(store, owner)
        .await?
        .max_meeting_minutes)
}
