//! When a participant leaves, their tracks stop being forwarded and the others' transceivers
//! for them are stopped by a renegotiation; everyone else's media keeps flowing.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use std::time::Duration;

use common::{Role, World};
use plenary_media::MediaKind;

#[test]
fn leaver_tracks_stop_and_others_continue() {
    let mut w = World::new();
    let leaver = w.join(Role::Publisher);
    let stayer = w.join(Role::Publisher);
    let watcher = w.join(Role::Subscriber);
    w.run_until_connected();
    w.run_for(Duration::from_secs(2));
    assert!(w.received(watcher, leaver, MediaKind::Video) > 0);

    w.leave(leaver);
    // The leaver's client keeps sending, as a misbehaving or slow client might.
    w.run_for(Duration::from_millis(200));
    let frozen = [
        w.received(watcher, leaver, MediaKind::Audio),
        w.received(watcher, leaver, MediaKind::Video),
        w.received(stayer, leaver, MediaKind::Video),
    ];
    let stayer_video = w.received(watcher, stayer, MediaKind::Video);
    w.run_for(Duration::from_secs(2));

    assert_eq!(
        frozen,
        [
            w.received(watcher, leaver, MediaKind::Audio),
            w.received(watcher, leaver, MediaKind::Video),
            w.received(stayer, leaver, MediaKind::Video),
        ],
        "frames of the leaver were still forwarded"
    );
    assert!(
        w.received(watcher, stayer, MediaKind::Video) > stayer_video + 30,
        "the remaining publisher's video stopped too"
    );

    // Both receivers were told which transceivers ended, and those are stopped after the
    // renegotiation (str0m marks a stopped m-line inactive).
    for receiver in [watcher, stayer] {
        let c = w.client_mut(receiver);
        assert_eq!(c.removed_mids.len(), 2, "{receiver}: {:?}", c.removed_mids);
        for mid in c.removed_mids.clone() {
            let media = c.rtc.media(mid.as_str().into());
            assert!(
                media.is_none_or(|m| m.direction() == str0m::media::Direction::Inactive),
                "{receiver}: transceiver {mid} still active"
            );
        }
    }
    assert!(w.sfu.participant_stats(leaver).is_none());
    assert_eq!(w.sfu.participant_count(), 2);
}
