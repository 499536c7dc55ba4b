//! Who may watch a recording, decided here for every byte any surface serves: platform
//! admins and the room's owner and co-owners always (they also manage it); nobody else while
//! it is unpublished; then the room's audience — signed-in members of an organisation the
//! owner belongs to, or anyone holding the recording's link (an HMAC of its id: unguessable,
//! never the id alone), unless it is protected. A protected recording opens only to a timed
//! key ([`Recordings::timed_key`]: the BBB API lists protected recordings with links valid for
//! [`PROTECTED_LINK_MS`], as Scalelite does), so an integration that lists them again each
//! time it shows them lets its own users in, and a link passed on stops working.

use hmac::{Hmac, Mac};
use plenary_meeting::RecordingAudience;
use plenary_store::{RecordingRow, StoreError};
use sha2::Sha256;

pub use plenary_meeting::RecordingAudience as Audience;

use crate::Recordings;

/// Who asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    /// Not signed in.
    Anonymous,
    Account {
        id: i64,
        admin: bool,
    },
}

/// What they may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    Denied,
    Watch,
    /// Watch, and publish, protect, rename, delete.
    Manage,
}

/// How long a protected recording's link (from the BBB API's listing) opens it.
pub const PROTECTED_LINK_MS: i64 = 12 * 3600 * 1000;

impl Recordings {
    /// A key that opens `id` until `until_ms` (Unix ms), protected or not:
    /// `<until_ms>-<HMAC of id and until_ms>`.
    pub fn timed_key(&self, id: &str, until_ms: i64) -> String {
        format!(
            "{until_ms}-{}",
            self.mac(b"timed recording link\0", id, until_ms)
        )
    }

    fn mac(&self, purpose: &[u8], id: &str, until_ms: i64) -> String {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.link_key) else {
            return String::new(); // HMAC takes keys of any length
        };
        mac.update(purpose);
        mac.update(id.as_bytes());
        mac.update(&until_ms.to_be_bytes());
        mac.finalize().into_bytes()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn timed_key_opens(&self, id: &str, key: Option<&str>) -> bool {
        use subtle::ConstantTimeEq as _;
        let Some((until, mac)) = key.and_then(|k| k.split_once('-')) else {
            return false;
        };
        let Ok(until_ms) = until.parse::<i64>() else {
            return false;
        };
        let now = plenary_proto::clock::unix_millis() as i64;
        now <= until_ms
            && bool::from(
                mac.as_bytes()
                    .ct_eq(self.mac(b"timed recording link\0", id, until_ms).as_bytes()),
            )
    }

    /// The key that opens `id` to whoever holds its link.
    pub fn link_key(&self, id: &str) -> String {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.link_key) else {
            return String::new(); // HMAC takes keys of any length
        };
        mac.update(b"recording link\0");
        mac.update(id.as_bytes());
        mac.finalize().into_bytes()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn key_opens(&self, id: &str, key: Option<&str>) -> bool {
        use subtle::ConstantTimeEq as _;
        key.is_some_and(|k| bool::from(k.as_bytes().ct_eq(self.link_key(id).as_bytes())))
    }

    /// What `viewer` (holding `key`, from a link, if any) may do with `r`, under its room's
    /// settings.
    pub async fn access(
        &self,
        viewer: Viewer,
        r: &RecordingRow,
        key: Option<&str>,
    ) -> Result<Access, StoreError> {
        let store = self.store();
        let room = store.get_room(&r.room).await?;
        let owner = room.as_ref().and_then(|room| room.owner_id);
        // An integration's room goes when its meeting ends; its recordings stay theirs,
        // opened by their links.
        let audience = match &room {
            Some(room) => plenary_meeting::RoomSettings::parse(&room.settings).recordings_audience,
            None if crate::made_by_integration(r) => RecordingAudience::Link,
            None => RecordingAudience::Owners,
        };
        if let Viewer::Account { id, admin } = viewer {
            if admin || owner == Some(id) {
                return Ok(Access::Manage);
            }
            if store.co_owners(&r.room).await?.iter().any(|u| u.id == id) {
                return Ok(Access::Manage);
            }
        }
        if !r.published {
            return Ok(Access::Denied);
        }
        let member = || async {
            let (Viewer::Account { id, .. }, Some(owner)) = (viewer, owner) else {
                return Ok::<bool, StoreError>(false);
            };
            plenary_meeting::shares_org(&**store, owner, id).await
        };
        let allowed = match audience {
            RecordingAudience::Owners => false,
            RecordingAudience::Members => member().await?,
            RecordingAudience::Link => {
                (!r.protected && self.key_opens(&r.id, key))
                    || self.timed_key_opens(&r.id, key)
                    || member().await?
            }
        };
        Ok(if allowed {
            Access::Watch
        } else {
            Access::Denied
        })
    }
}
