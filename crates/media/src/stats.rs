//! Per-participant statistics, kept by the core and read by the shell (and tests).

use std::time::Duration;

/// A participant's transport and forwarding statistics.
///
/// Counters are cumulative since the participant joined. Transport figures come from str0m's
/// periodic stats (every second); forwarding counters are exact.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParticipantStats {
    /// ICE and DTLS are up.
    pub connected: bool,
    /// Media frames (audio or video) received from this participant.
    pub frames_in: u64,
    /// Media frames forwarded to this participant from the others.
    pub frames_out: u64,
    /// Frames from this participant that arrived with a gap the NACK/RTX repair did not fill.
    pub frames_in_gapped: u64,
    /// Keyframe requests (PLI) the SFU sent to this participant as a publisher.
    pub keyframe_requests_sent: u64,
    /// Keyframe requests this participant sent to the SFU as a subscriber.
    pub keyframe_requests_received: u64,
    /// NACKs the SFU sent to this participant (asking it to resend lost packets).
    pub nacks_sent: u64,
    /// NACKs this participant sent to the SFU.
    pub nacks_received: u64,
    /// Bytes on the wire, both directions, as str0m last reported.
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Round-trip time, as last measured by RTCP.
    pub rtt: Option<Duration>,
    /// Fraction of packets lost from this participant to the SFU (0.0 – 1.0), last report.
    pub loss_in: Option<f32>,
    /// Fraction lost from the SFU to this participant, as it last reported.
    pub loss_out: Option<f32>,
}
