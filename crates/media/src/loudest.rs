//! Forwarding only the loudest microphones of a large meeting: above a size, each room keeps
//! its N loudest (RFC 6464 levels, smoothed; people speaking first), so a 100-person meeting
//! costs every receiver N audio streams, not 99. A microphone in the set keeps its place
//! unless another is clearly louder, so the set does not churn between words.

use std::time::Duration;

use plenary_proto::ParticipantId;

/// The set is chosen again this often.
pub(crate) const RANK_EVERY: Duration = Duration::from_millis(200);
/// How much louder (dB) a newcomer must be than a member to take its place.
const HYSTERESIS_DB: f32 = 6.0;
/// Speaking counts as this much louder.
const SPEAKING_BONUS_DB: f32 = 20.0;

/// One microphone of the room: who, how loud now (dBov), speaking.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mic {
    pub id: ParticipantId,
    pub loudness: f32,
    pub speaking: bool,
}

/// The `n` loudest of `mics`, members of `current` favoured by [`HYSTERESIS_DB`].
pub(crate) fn loudest(current: &[ParticipantId], mics: &[Mic], n: usize) -> Vec<ParticipantId> {
    let score = |m: &Mic| {
        m.loudness
            + if m.speaking { SPEAKING_BONUS_DB } else { 0.0 }
            + if current.contains(&m.id) {
                HYSTERESIS_DB
            } else {
                0.0
            }
    };
    let mut ranked: Vec<(f32, ParticipantId)> = mics.iter().map(|m| (score(m), m.id)).collect();
    // Louder first; equal scores keep a stable order (by id) so the choice is repeatable.
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut set: Vec<ParticipantId> = ranked.into_iter().take(n).map(|(_, id)| id).collect();
    set.sort();
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mic(id: u64, loudness: f32, speaking: bool) -> Mic {
        Mic {
            id: ParticipantId(id),
            loudness,
            speaking,
        }
    }

    #[test]
    fn the_loudest_are_kept_and_members_hold_their_place() {
        let ids = |v: &[u64]| v.iter().map(|i| ParticipantId(*i)).collect::<Vec<_>>();
        let mics = [
            mic(1, -30.0, true),
            mic(2, -90.0, false),
            mic(3, -40.0, true),
            mic(4, -127.0, false),
        ];
        assert_eq!(loudest(&[], &mics, 2), ids(&[1, 3]));
        // 2 is a little louder than member 3 now, not clearly: 3 stays.
        let mics = [
            mic(1, -30.0, true),
            mic(2, -38.0, true),
            mic(3, -40.0, true),
        ];
        assert_eq!(loudest(&ids(&[1, 3]), &mics, 2), ids(&[1, 3]));
        // Clearly louder: 2 takes 3's place.
        let mics = [
            mic(1, -30.0, true),
            mic(2, -20.0, true),
            mic(3, -40.0, true),
        ];
        assert_eq!(loudest(&ids(&[1, 3]), &mics, 2), ids(&[1, 2]));
        // Fewer microphones than places: all of them.
        assert_eq!(loudest(&[], &mics[..1], 5), ids(&[1]));
    }
}
