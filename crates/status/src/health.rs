//! Each region's state for the public status page, from the nodes' latest load samples (of
//! nodes that did not stop cleanly since) and the notices admins posted: **down** when no node
//! of the region is alive (none sampled in [`ALIVE_MS`]) or a current notice says so; **degraded** when a node is near its capacity,
//! refused someone for capacity, or carries heavy loss, or a current notice says so; else
//! **up**.

use plenary_store::{LoadSample, Severity, StatusNotice};

/// A node whose latest sample is older than this is taken to be gone.
pub const ALIVE_MS: i64 = 3 * 60_000;
/// Mean loss (per mille) at which a node's meetings are degraded.
pub const HEAVY_LOSS_PERMILLE: i64 = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Up,
    Degraded,
    Down,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Degraded => "degraded",
            Self::Down => "down",
        }
    }
}

/// A region as the status page shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RegionStatus {
    pub region: String,
    pub state: State,
    /// Nodes alive.
    pub nodes: usize,
    pub meetings: i64,
    pub participants: i64,
}

/// The regions of `latest` (each node's latest sample in the last day; this node's own, fresh,
/// among them) and of current notices, sorted by name.
pub fn regions(latest: &[LoadSample], notices: &[StatusNotice], now_ms: i64) -> Vec<RegionStatus> {
    let mut names: Vec<String> = latest.iter().map(|s| s.region.clone()).collect();
    names.extend(
        notices
            .iter()
            .filter(|n| n.is_current(now_ms) && !n.region.is_empty())
            .map(|n| n.region.clone()),
    );
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|region| {
            let alive: Vec<&LoadSample> = latest
                .iter()
                .filter(|s| s.region == region && s.at_ms >= now_ms - ALIVE_MS)
                .collect();
            let has_nodes = latest.iter().any(|s| s.region == region);
            // A region known only from a notice is what the notice says.
            let mut state = if !has_nodes {
                State::Up
            } else if alive.is_empty() {
                State::Down
            } else if alive.iter().any(|s| {
                s.near_capacity
                    || s.refused > 0
                    || s.loss_permille.is_some_and(|l| l >= HEAVY_LOSS_PERMILLE)
            }) {
                State::Degraded
            } else {
                State::Up
            };
            for n in notices
                .iter()
                .filter(|n| n.is_current(now_ms) && (n.region.is_empty() || n.region == region))
            {
                state = state.max(match n.severity {
                    Severity::Degraded => State::Degraded,
                    Severity::Down => State::Down,
                });
            }
            RegionStatus {
                nodes: alive.len(),
                meetings: alive.iter().map(|s| s.meetings).sum(),
                participants: alive.iter().map(|s| s.participants).sum(),
                region,
                state,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use plenary_store::NoticeKind;

    fn sample(node: &str, region: &str, at_ms: i64) -> LoadSample {
        LoadSample {
            node: node.into(),
            region: region.into(),
            at_ms,
            meetings: 2,
            participants: 9,
            ..LoadSample::default()
        }
    }

    fn notice(region: &str, severity: Severity, starts: i64, ends: Option<i64>) -> StatusNotice {
        StatusNotice {
            id: 1,
            kind: NoticeKind::Incident,
            severity,
            region: region.into(),
            title: "t".into(),
            body: String::new(),
            starts_ms: starts,
            ends_ms: ends,
            created_ms: 0,
            updated_ms: 0,
            author: "a".into(),
        }
    }

    #[test]
    fn regions_are_up_degraded_or_down() {
        let now = 10_000_000;
        let mut busy = sample("ca-1", "ca", now - 30_000);
        busy.near_capacity = true;
        let latest = [
            sample("eu-1", "eu", now - 30_000),
            sample("eu-2", "eu", now - 60_000),
            busy,
            sample("us-1", "us", now - ALIVE_MS - 1),
        ];
        let r = regions(&latest, &[], now);
        let states: Vec<(&str, State, usize, i64)> = r
            .iter()
            .map(|r| (r.region.as_str(), r.state, r.nodes, r.participants))
            .collect();
        assert_eq!(
            states,
            [
                ("ca", State::Degraded, 1, 9),
                ("eu", State::Up, 2, 18),
                ("us", State::Down, 0, 0)
            ]
        );
        // A notice for every region, one for a region with no node, one over, one to come.
        let notices = [
            notice("", Severity::Degraded, now - 1_000, None),
            notice("asia", Severity::Down, now - 1_000, None),
            notice("oc", Severity::Degraded, now - 1_000, None),
            notice("eu", Severity::Down, now - 9_000, Some(now - 1)),
            notice("eu", Severity::Down, now + 60_000, None),
        ];
        let r = regions(&latest, &notices, now);
        let states: Vec<(&str, State)> = r.iter().map(|r| (r.region.as_str(), r.state)).collect();
        assert_eq!(
            states,
            [
                ("asia", State::Down),
                ("ca", State::Degraded),
                ("eu", State::Degraded),
                ("oc", State::Degraded),
                ("us", State::Down)
            ]
        );
    }
}
