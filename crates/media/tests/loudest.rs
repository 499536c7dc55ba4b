//! Loudest-N audio: in a room with more microphones than the threshold, each receiver gets
//! only the N loudest (from the RFC 6464 levels in each packet); someone who starts speaking
//! loudly takes the place of the quietest, and their audio arrives with nothing missing
//! (numbering continues across the pause).
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use std::time::Duration;

use common::{Role, World};
use plenary_media::{MediaKind, ParticipantId};

fn audio_from(w: &World, sub: ParticipantId, publ: ParticipantId) -> usize {
    w.received(sub, publ, MediaKind::Audio)
}

/// Audio frames `listener` gets from each of `people` in the second of two 2-s spells (the
/// first lets the choice of the loudest settle).
fn heard_after_settling(
    w: &mut World,
    people: &[ParticipantId],
    listener: ParticipantId,
) -> Vec<usize> {
    w.run_for(Duration::from_secs(2));
    let before: Vec<usize> = people.iter().map(|p| audio_from(w, listener, *p)).collect();
    w.run_for(Duration::from_secs(2));
    people
        .iter()
        .zip(&before)
        .map(|(p, b)| audio_from(w, listener, *p) - b)
        .collect()
}

#[test]
fn a_large_room_forwards_only_its_loudest_microphones() {
    let mut w = World::with_config(|c| {
        c.loudest_audio = 2;
        c.loudest_above = 3;
    });
    let people: Vec<ParticipantId> = (0..5).map(|_| w.join(Role::Publisher)).collect();
    let listener = w.join(Role::Subscriber);
    for (p, level) in people.iter().zip([-20, -25, -90, -95, -100]) {
        w.client_mut(*p).audio_level = Some(level);
    }
    w.run_until_connected();
    let got = heard_after_settling(&mut w, &people, listener);
    assert!(
        got[0] >= 95 && got[1] >= 95,
        "the two loudest are heard: {got:?}"
    );
    assert!(
        got[2..].iter().all(|n| *n == 0),
        "the quiet are not forwarded: {got:?}"
    );
    // Each publisher hears the others' loudest too (not itself).
    assert!(audio_from(&w, people[2], people[0]) > 0);

    // The quietest starts speaking loudly, the loudest falls silent.
    w.client_mut(people[4]).audio_level = Some(-10);
    w.client_mut(people[0]).audio_level = Some(-127);
    let got = heard_after_settling(&mut w, &people, listener);
    assert!(
        got[4] >= 95 && got[1] >= 95,
        "the new speaker replaced the silent one: {got:?}"
    );
    assert_eq!(got[0], 0, "{got:?}");
    // Nothing the listener got came after a gap: the pause and resume kept numbering.
    assert_eq!(w.client(listener).gapped, 0);
}

#[test]
fn a_small_room_forwards_every_microphone() {
    let mut w = World::with_config(|c| {
        c.loudest_audio = 2;
        c.loudest_above = 3;
    });
    let people: Vec<ParticipantId> = (0..3).map(|_| w.join(Role::Publisher)).collect();
    let listener = w.join(Role::Subscriber);
    for (p, level) in people.iter().zip([-20, -90, -127]) {
        w.client_mut(*p).audio_level = Some(level);
    }
    w.run_until_connected();
    w.run_for(Duration::from_secs(3));
    for p in &people {
        assert!(audio_from(&w, listener, *p) > 100, "{p}");
    }
}
