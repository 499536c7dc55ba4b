//! What a meeting client tells the server about its connection every 10 s (a summary of its
//! WebRTC `getStats`), and the problem a person reports from the meeting.

use serde::{Deserialize, Serialize};

/// Reports closer together than this from one connection are ignored.
pub const REPORT_EVERY_MIN_SECS: u64 = 5;
/// The longest note a person may write with a problem report, in characters.
pub const PROBLEM_NOTE_MAX: usize = 1_000;

/// The candidate types ICE knows (RFC 8445): the local candidate of the pair in use.
pub const CANDIDATE_TYPES: &[&str] = &["host", "srflx", "prflx", "relay"];
/// What limits the sent video (WebRTC's `qualityLimitationReason`).
pub const LIMITATIONS: &[&str] = &["none", "cpu", "bandwidth", "other"];

/// One client's connection over the last interval. Every field is optional (a browser that
/// measures nothing of it says nothing); fractions are 0–1.
/// Fields a newer client adds are ignored (a report is a summary: an older server keeps what
/// it knows).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QualityReport {
    /// Of the packets sent to this client, the share that did not arrive (downlink).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_in: Option<f64>,
    /// Of the packets this client sent, the share the server did not get (uplink), as the
    /// server's receiver reports said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_out: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kbps_in: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kbps_out: Option<f64>,
    /// Video frames decoded and dropped in the interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frames_decoded: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frames_dropped: Option<u32>,
    /// Why the sent video is below what was asked: one of [`LIMITATIONS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limitation: Option<String>,
    /// The local ICE candidate type in use: one of [`CANDIDATE_TYPES`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate: Option<String>,
    /// `udp` or `tcp`: how media travels to the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Times this client reconnected in this meeting so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconnects: Option<u32>,
}

impl QualityReport {
    /// Whether every figure is one a browser can measure (a share within 0–1, a time or rate
    /// that is finite and not negative, a known word), so that nothing else is stored.
    pub fn check(&self) -> Result<(), String> {
        for (name, v) in [("loss_in", self.loss_in), ("loss_out", self.loss_out)] {
            if v.is_some_and(|v| !(0.0..=1.0).contains(&v)) {
                return Err(format!("{name} must be between 0 and 1"));
            }
        }
        for (name, v) in [
            ("jitter_ms", self.jitter_ms),
            ("rtt_ms", self.rtt_ms),
            ("kbps_in", self.kbps_in),
            ("kbps_out", self.kbps_out),
        ] {
            if v.is_some_and(|v| !v.is_finite() || !(0.0..=1e9).contains(&v)) {
                return Err(format!("{name} must be a number of at least 0"));
            }
        }
        let known = |v: &Option<String>, allowed: &[&str]| {
            v.as_deref().is_none_or(|v| allowed.contains(&v))
        };
        if !known(&self.limitation, LIMITATIONS) {
            return Err(format!("limitation must be one of {LIMITATIONS:?}"));
        }
        if !known(&self.candidate, CANDIDATE_TYPES) {
            return Err(format!("candidate must be one of {CANDIDATE_TYPES:?}"));
        }
        if !known(&self.protocol, &["udp", "tcp"]) {
            return Err("protocol must be udp or tcp".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_measurable_figures_pass() {
        let ok = QualityReport {
            loss_out: Some(0.12),
            rtt_ms: Some(80.0),
            candidate: Some("relay".into()),
            protocol: Some("tcp".into()),
            ..QualityReport::default()
        };
        assert_eq!(ok.check(), Ok(()));
        for bad in [
            QualityReport {
                loss_in: Some(1.5),
                ..ok.clone()
            },
            QualityReport {
                rtt_ms: Some(f64::NAN),
                ..ok.clone()
            },
            QualityReport {
                kbps_in: Some(-1.0),
                ..ok.clone()
            },
            QualityReport {
                candidate: Some("<script>".into()),
                ..ok.clone()
            },
            QualityReport {
                protocol: Some("quic".into()),
                ..ok.clone()
            },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
    }
}
