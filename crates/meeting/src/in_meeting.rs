//! The meeting service's in-meeting actions that also write to the store: chat (stored
//! before anyone is told, so an acknowledged message is never lost), deleting it, and ending
//! a meeting for everyone (its links admit nobody after). The rest is [`crate::actions`].

use std::time::Instant;

use plenary_proto::clock::unix_millis;
use plenary_proto::{ChatMessage, ChatTo, ParticipantId, RoomId};
use plenary_store::ChatRow;

use crate::Service;
use crate::actions::{ActionError, ChatDraft};

/// The reason a meeting a moderator ended gives (the client says it translated).
pub const ENDED_BY_MODERATOR: &str = "ended_by_moderator";

fn to_kind(to: ChatTo) -> &'static str {
    match to {
        ChatTo::Everyone => "everyone",
        ChatTo::Moderators => "moderators",
        ChatTo::Participant => "participant",
    }
}

impl Service {
    /// A participant's chat message: checked, stamped, stored, then sent to whoever may see it.
    pub async fn chat(
        &self,
        room: &RoomId,
        from: ParticipantId,
        to: ChatTo,
        to_participant: Option<ParticipantId>,
        text: &str,
    ) -> Result<(), ActionError> {
        let draft = ChatDraft {
            to,
            to_participant,
            text,
        };
        let message = self
            .live
            .prepare_chat(room, from, draft, Instant::now(), unix_millis())?;
        self.store_and_post(room, message).await
    }

    /// A public message an integration posts into a running meeting (BBB `sendChatMessage`).
    pub async fn integration_chat(
        &self,
        room: &RoomId,
        name: &str,
        text: &str,
    ) -> Result<(), ActionError> {
        let message = self
            .live
            .prepare_integration_chat(room, name, text, unix_millis())?;
        self.store_and_post(room, message).await
    }

    async fn store_and_post(&self, room: &RoomId, message: ChatMessage) -> Result<(), ActionError> {
        let meeting_ms = self
            .live
            .started_ms(room)
            .ok_or(ActionError::NotInMeeting)?;
        let row = ChatRow {
            room: room.clone(),
            meeting_ms,
            id: message.id as i64,
            sender: message.from.map(|p| p.0 as i64),
            name: message.name.clone(),
            to_kind: to_kind(message.to).into(),
            to_participant: message.to_participant.map(|p| p.0 as i64),
            body: message.text.clone(),
            at_ms: message.at_ms,
            deleted_ms: None,
        };
        if let Err(e) = self.store.save_chat(&row).await {
            tracing::error!(error = %e, %room, "could not store a chat message");
            return Err(ActionError::Unavailable);
        }
        self.live.post_chat(room, message);
        Ok(())
    }

    /// (Moderators) deletes a chat message, in the store and for everyone.
    pub async fn delete_chat(
        &self,
        room: &RoomId,
        by: ParticipantId,
        id: u64,
    ) -> Result<(), ActionError> {
        self.live.check_delete_chat(room, by, id)?;
        let meeting_ms = self
            .live
            .started_ms(room)
            .ok_or(ActionError::NotInMeeting)?;
        match self
            .store
            .delete_chat(room, meeting_ms, id as i64, unix_millis())
            .await
        {
            Ok(_) => {
                self.live.delete_chat(room, id);
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %e, %room, "could not delete a chat message");
                Err(ActionError::Unavailable)
            }
        }
    }

    /// (Moderators) ends the meeting for everyone: all are told and disconnected, and the
    /// tokens issued for it admit nobody any more (the room's link makes a new meeting).
    pub async fn end_for_all(&self, room: &RoomId, by: ParticipantId) -> Result<(), ActionError> {
        self.live.check_moderator(room, by)?;
        if let Err(e) = self.store.delete_room_seats(room).await {
            tracing::error!(error = %e, %room, "could not forget an ended meeting's seats");
            return Err(ActionError::Unavailable);
        }
        self.live.end_meeting(room, ENDED_BY_MODERATOR);
        tracing::info!(%room, by = %by, "meeting ended by a moderator");
        Ok(())
    }
}
