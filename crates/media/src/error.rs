use plenary_proto::ParticipantId;

/// What can go wrong when the signalling layer drives the media core.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("participant {0} is not in the media engine")]
    UnknownParticipant(ParticipantId),
    #[error("participant {0} is already in the media engine")]
    DuplicateParticipant(ParticipantId),
    #[error("the SDP could not be parsed: {0}")]
    BadSdp(String),
    #[error("the SDP could not be negotiated: {0}")]
    Negotiation(String),
    #[error("an offer arrived while the server's own offer awaits an answer")]
    Glare,
    #[error("an answer arrived but no offer was outstanding")]
    NoPendingOffer,
    #[error("the media engine could not start: {0}")]
    Startup(String),
}
