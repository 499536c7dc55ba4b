//! The SFU tells who speaks from the audio level in microphone packets: a loud publisher
//! becomes a speaker, falls quiet after the hangover, and a locked microphone never speaks.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use std::time::Duration;

use common::{Role, World};
use plenary_media::{Audience, Forwarding};

#[test]
fn loud_packets_make_a_speaker_and_quiet_ends_it() {
    let mut w = World::new();
    let loud = w.join(Role::Publisher);
    let quiet = w.join(Role::Publisher);
    w.client_mut(loud).audio_level = Some(-20);
    w.client_mut(quiet).audio_level = Some(-100);
    w.run_until_connected();
    w.run_until(Duration::from_secs(3), "a speaker", |w| {
        !w.speaking.is_empty()
    });
    w.run_for(Duration::from_secs(1));
    assert_eq!(w.speaking, vec![(loud, true)], "only the loud one speaks");

    w.client_mut(loud).audio_level = Some(-90);
    w.run_for(Duration::from_secs(2));
    assert_eq!(w.speaking, vec![(loud, true), (loud, false)]);

    // A locked microphone does not speak, however loud.
    w.client_mut(quiet).audio_level = Some(-10);
    let now = w.now;
    w.sfu.set_forwarding(
        now,
        quiet,
        Forwarding {
            microphone: Audience::Nobody,
            ..Forwarding::default()
        },
    );
    w.run_for(Duration::from_secs(2));
    assert_eq!(w.speaking.len(), 2, "{:?}", w.speaking);
    let now = w.now;
    w.sfu.set_forwarding(now, quiet, Forwarding::default());
    w.run_until(Duration::from_secs(3), "unlocked, it speaks", |w| {
        w.speaking.last() == Some(&(quiet, true))
    });
}
