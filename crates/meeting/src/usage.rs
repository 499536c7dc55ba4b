//! What the usage ledger hears from the live meetings: meetings starting and ending, people
//! joining and leaving. Unlike [`crate::RoomEvent`]s (a broadcast a slow listener may miss),
//! these facts go to one listener over an unbounded channel and are never dropped: they are a
//! few per join, and the ledger's numbers are only as good as what reaches it.

use plenary_proto::{ParticipantId, Role, RoomId};
use plenary_store::{Store, StoreError};
use tokio::sync::mpsc;

use crate::Meetings;

/// A change in the live meetings that the usage ledger records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsageFact {
    MeetingStarted {
        room: RoomId,
        meeting_ms: i64,
        at_ms: i64,
    },
    MeetingEnded {
        room: RoomId,
        meeting_ms: i64,
        at_ms: i64,
    },
    Joined {
        room: RoomId,
        meeting_ms: i64,
        at_ms: i64,
        participant: ParticipantId,
        who: Joiner,
    },
    Left {
        room: RoomId,
        meeting_ms: i64,
        at_ms: i64,
        participant: ParticipantId,
    },
}

/// Who joined, as far as the ledger may know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joiner {
    pub role: Role,
    /// The Plenary account, when signed in.
    pub account: Option<i64>,
    /// The integration's id for the person (BBB `userID`), if it gave one.
    pub user_id: Option<String>,
    /// The seat their token admits to (a guest's reload keeps it).
    pub seat: String,
    /// Their display name (kept only in an attendance an organisation chose to keep).
    pub name: String,
    /// The kind of client (a browser family, say).
    pub client: String,
}

impl Meetings {
    /// The usage facts from now on, to one listener (a second call replaces the first).
    pub fn usage_facts(&self) -> mpsc::UnboundedReceiver<UsageFact> {
        let (tx, rx) = mpsc::unbounded_channel();
        *self.usage.lock().unwrap_or_else(|p| p.into_inner()) = Some(tx);
        rx
    }

    /// Lets go of the usage listener (the server is stopping, after everyone left): it
    /// writes what it was told and finishes.
    pub fn close_usage(&self) {
        *self.usage.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    pub(crate) fn tell_usage(&self, facts: Vec<UsageFact>) {
        if facts.is_empty() {
            return;
        }
        {
            let ended = self.ended.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(tx) = ended.as_ref() {
                for f in &facts {
                    if let UsageFact::MeetingEnded {
                        room, meeting_ms, ..
                    } = f
                    {
                        let _ = tx.send((room.clone(), *meeting_ms));
                    }
                }
            }
        }
        let tap = self.usage.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = tap.as_ref() {
            for f in facts {
                // A listener gone means the server is stopping: nothing to record then.
                let _ = tx.send(f);
            }
        }
    }
}

/// The organisations a room belongs to: its owner's (a room without an owner belongs to none).
pub async fn room_orgs(store: &dyn Store, room: &RoomId) -> Result<Vec<i64>, StoreError> {
    let Some(room) = store.get_room(room).await? else {
        return Ok(Vec::new());
    };
    match room.owner_id {
        Some(owner) => account_orgs(store, owner).await,
        None => Ok(Vec::new()),
    }
}

/// The organisations an account belongs to, by id.
pub async fn account_orgs(store: &dyn Store, account: i64) -> Result<Vec<i64>, StoreError> {
    let mut orgs: Vec<i64> = store
        .orgs_of(account)
        .await?
        .into_iter()
        .map(|m| m.org.id)
        .collect();
    orgs.sort_unstable();
    Ok(orgs)
}

/// The kind of client a User-Agent names, coarsely (never the whole string: it fingerprints).
pub fn client_kind(user_agent: &str) -> &'static str {
    let ua = user_agent.to_ascii_lowercase();
    if ua.is_empty() {
        "unknown"
    } else if ua.contains("firefox/") {
        "firefox"
    } else if ua.contains("edg/") {
        "edge"
    } else if ua.contains("chrome/") || ua.contains("chromium/") {
        "chrome"
    } else if ua.contains("safari/") {
        "safari"
    } else if ua.starts_with("plenary") {
        "plenary-peer"
    } else {
        "other"
    }
}

#[cfg(test)]
mod tests {
    use super::client_kind;

    #[test]
    fn client_kinds() {
        let cases = [
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
                "firefox",
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                "chrome",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36 Edg/131.0",
                "edge",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
                "safari",
            ),
            ("plenary-peer/0.1", "plenary-peer"),
            ("curl/8.0", "other"),
            ("", "unknown"),
        ];
        for (ua, kind) in cases {
            assert_eq!(client_kind(ua), kind, "{ua}");
        }
    }
}
