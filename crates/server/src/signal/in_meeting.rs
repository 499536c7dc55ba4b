//! In-meeting messages (chat, hands, reactions, moderation, locks, end for all, polls, agenda,
//! minutes), translated to
//! the meeting service, which checks each one; its refusals become protocol errors.

use plenary_meeting::ActionError;
use plenary_proto::{ClientMessage, ErrorCode, ParticipantId, RoomId, ServerMessage};

use super::{Connection, Flow, Sink};

impl Connection {
    pub(super) async fn in_meeting(
        &mut self,
        sink: &mut Sink,
        msg: ClientMessage,
        room: &RoomId,
        me: ParticipantId,
    ) -> Flow {
        let meeting = self.app.meeting.clone();
        let live = &meeting.live;
        let now = std::time::Instant::now();
        let done = match msg {
            ClientMessage::Chat {
                to,
                participant_id,
                text,
            } => meeting.chat(room, me, to, participant_id, &text).await,
            ClientMessage::ChatDelete { id } => meeting.delete_chat(room, me, id).await,
            ClientMessage::Hand { raised } => live.set_hand(room, me, raised),
            ClientMessage::LowerHand { participant_id } => {
                live.lower_hand(room, me, participant_id)
            }
            ClientMessage::React { reaction } => live.react(room, me, reaction, now),
            ClientMessage::Moderate {
                participant_id,
                action,
            } => live.moderate(room, me, participant_id, action),
            ClientMessage::MuteAll {} => live.mute_all(room, me),
            ClientMessage::Lock { locks } => live.set_locks(room, me, locks),
            ClientMessage::EndMeeting {} => meeting.end_for_all(room, me).await,
            ClientMessage::Record { action } => meeting.record(room, me, action).await,
            ClientMessage::PollOpen { poll } => meeting.open_poll(room, me, &poll).await,
            ClientMessage::PollVote { id, choices } => meeting.vote(room, me, id, &choices).await,
            ClientMessage::PollClose { id } => meeting.close_poll(room, me, id).await,
            ClientMessage::AgendaSet { items } => meeting.set_agenda(room, me, &items).await,
            ClientMessage::AgendaGo { index } => live.agenda_go(room, me, index),
            ClientMessage::SpeakerNext {} => live.speaker_next(room, me),
            ClientMessage::SpeakerDone {} => live.speaker_done(room, me),
            ClientMessage::SpeakersSet {
                progressive,
                limit_s,
            } => live.speakers_set(room, me, progressive, limit_s),
            ClientMessage::NotesSync {} => meeting.notes_sync(room, me).await,
            ClientMessage::NotesEdit { update } => {
                // A refused edit is answered on its own, outside the error allowance: someone
                // typing into locked or full minutes is not a broken client.
                // It goes behind what was queued for this connection (the minutes, `notes_saved`),
                // so the client hears about its edits in order.
                if let Err(e) = meeting.notes_edit(room, me, update).await {
                    let refused = ServerMessage::NotesRefused {
                        code: error_code(&e),
                        message: e.to_string(),
                    };
                    live.tell(room, me, refused);
                }
                Ok(())
            }
            // Routed here only for the messages above.
            _ => return Flow::Continue,
        };
        match done {
            Ok(()) => Flow::Continue,
            Err(e) => self.action_refused(sink, e).await,
        }
    }

    /// A refusal by the meeting service, as a protocol error.
    pub(super) async fn action_refused(&mut self, sink: &mut Sink, e: ActionError) -> Flow {
        let code = error_code(&e);
        // Going too fast is the person's hand or fingers, not a broken client: it does not
        // use up the connection's error allowance.
        if code == ErrorCode::TooFast {
            return super::send(sink, &ServerMessage::error(code, e.to_string(), false)).await;
        }
        self.refuse(sink, code, &e.to_string()).await
    }
}

/// The protocol's code for a refusal by the meeting service.
fn error_code(e: &ActionError) -> ErrorCode {
    match e {
        ActionError::NotModerator => ErrorCode::Forbidden,
        ActionError::UnknownParticipant | ActionError::UnknownMessage => {
            ErrorCode::UnknownParticipant
        }
        ActionError::Locked => ErrorCode::Locked,
        ActionError::TooFast => ErrorCode::TooFast,
        ActionError::BadText => ErrorCode::BadMessage,
        ActionError::NotInMeeting => ErrorCode::WrongOrder,
        ActionError::Unavailable => ErrorCode::Unavailable,
        ActionError::RecordingNotAllowed
        | ActionError::RecordingQuotaFull
        | ActionError::PollsDisabled
        | ActionError::NotesDisabled => ErrorCode::Forbidden,
        ActionError::UnknownPoll => ErrorCode::UnknownPoll,
        ActionError::PollClosed => ErrorCode::PollClosed,
        ActionError::BadChoice => ErrorCode::BadChoice,
        ActionError::BadPoll(_) | ActionError::BadAgenda(_) | ActionError::BadNotes => {
            ErrorCode::BadMessage
        }
        ActionError::NotesFull => ErrorCode::NotesFull,
        ActionError::NotesGap => ErrorCode::WrongOrder,
        ActionError::AlreadyVoted => ErrorCode::AlreadyVoted,
        ActionError::NotEligible => ErrorCode::NotEligible,
    }
}
