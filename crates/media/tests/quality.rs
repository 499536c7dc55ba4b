//! Connection quality as the SFU sees it: a publisher losing a fifth of its packets on the way
//! in is not `good` (str0m's loss figure is what is still missing after retransmissions, a few
//! per cent here, so `fair`); one on a clean link stays `good`.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use std::time::Duration;

use common::{Role, World};
use plenary_proto::Quality;

#[test]
fn loss_on_the_way_in_lowers_the_connection_quality() {
    let mut w = World::new();
    let lossy = w.join(Role::Publisher);
    let clean = w.join(Role::Publisher);
    w.run_until_connected();
    w.client_mut(lossy).set_uplink_loss(0.2, 11);
    w.run_for(Duration::from_secs(5));
    let lossy_stats = w.sfu.participant_stats(lossy).unwrap();
    let clean_stats = w.sfu.participant_stats(clean).unwrap();
    assert_ne!(lossy_stats.quality(), Quality::Good, "{lossy_stats:?}");
    assert_eq!(clean_stats.quality(), Quality::Good, "{clean_stats:?}");
}
