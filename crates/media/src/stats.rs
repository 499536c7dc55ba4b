//! Per-participant statistics, kept by the core and read by the shell (and tests).

use std::time::Duration;

use plenary_proto::Quality;

/// Loss and round trip a good connection stays under (a fair one under twice that).
const GOOD_LOSS: f32 = 0.02;
const GOOD_RTT: Duration = Duration::from_millis(300);

/// A participant's transport and forwarding statistics.
///
/// Counters are cumulative since the participant joined. Transport figures come from str0m's
/// periodic stats (every second); forwarding counters are exact.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParticipantStats {
    /// ICE and DTLS are up.
    pub connected: bool,
    /// Media packets (audio or video, every layer) received from this participant.
    pub packets_in: u64,
    /// Media packets forwarded to this participant from the others.
    pub packets_out: u64,
    /// Of the packets meant for this participant, those its publishers lost on the way to the
    /// SFU (forwarded as gaps, less the ones repaired later): the participant counts them as
    /// lost, though its own link lost nothing.
    pub packets_missing_upstream: u64,
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

impl ParticipantStats {
    /// How well this connection carries media: the worse of the loss either way and the
    /// round trip. Good until measured.
    pub fn quality(&self) -> Quality {
        let loss = self
            .loss_in
            .unwrap_or(0.0)
            .max(self.loss_out.unwrap_or(0.0));
        let rtt = self.rtt.unwrap_or_default();
        if loss <= GOOD_LOSS && rtt <= GOOD_RTT {
            Quality::Good
        } else if loss <= GOOD_LOSS * 4.0 && rtt <= GOOD_RTT * 2 {
            Quality::Fair
        } else {
            Quality::Poor
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quality_is_the_worse_of_loss_and_round_trip() {
        let mut s = ParticipantStats::default();
        assert_eq!(s.quality(), Quality::Good);
        s.loss_out = Some(0.05);
        assert_eq!(s.quality(), Quality::Fair);
        s.loss_in = Some(0.2);
        assert_eq!(s.quality(), Quality::Poor);
        s.loss_in = None;
        s.loss_out = None;
        s.rtt = Some(Duration::from_millis(450));
        assert_eq!(s.quality(), Quality::Fair);
        s.rtt = Some(Duration::from_secs(1));
        assert_eq!(s.quality(), Quality::Poor);
    }
}
