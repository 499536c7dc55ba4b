//! The standard scenarios: who is in which room, publishing what.

use anyhow::bail;
use plenary_peer::Publish;

/// Rooms, each a list of what its participants publish.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub rooms: Vec<Vec<Publish>>,
}

/// Video at the bitrate of a typical 640×360 webcam stream.
pub const VIDEO_KBPS: u32 = 500;

const AV: Publish = Publish {
    audio: true,
    video_tracks: 1,
    video_kbps: VIDEO_KBPS,
};
/// A presenter: camera and screen, with audio.
const PRESENTER: Publish = Publish {
    audio: true,
    video_tracks: 2,
    video_kbps: VIDEO_KBPS,
};

impl Scenario {
    /// Builds a scenario by name; `n` sizes it (see each case).
    pub fn named(name: &str, n: usize) -> anyhow::Result<Scenario> {
        let rooms = match name {
            // 10 audio publishers, n listeners.
            "audio" => vec![[vec![Publish::AUDIO; 10], vec![Publish::NOTHING; n]].concat()],
            // n people, all with audio and video.
            "nxn" => vec![vec![AV; n]],
            // 1 publisher, n receivers.
            "broadcast" => vec![[vec![AV], vec![Publish::NOTHING; n]].concat()],
            // 1 presenter (camera + screen), 5 webcams, n listeners (40 in the standard set).
            "classroom" => vec![[vec![PRESENTER], vec![AV; 5], vec![Publish::NOTHING; n]].concat()],
            // n meetings of 4.
            "small" => vec![vec![AV; 4]; n],
            other => {
                bail!("unknown scenario {other:?}: use audio, nxn, broadcast, classroom or small")
            }
        };
        Ok(Scenario {
            name: format!("{name}-{n}"),
            rooms,
        })
    }

    pub fn participants(&self) -> usize {
        self.rooms.iter().map(Vec::len).sum()
    }

    /// Frames per second every receiver should get, summed: the load the SFU must forward.
    pub fn expected_frames_per_second(&self) -> f64 {
        self.rooms
            .iter()
            .map(|room| {
                let per_publisher: Vec<f64> = room
                    .iter()
                    .map(|p| if p.audio { 50.0 } else { 0.0 } + 30.0 * f64::from(p.video_tracks))
                    .collect();
                let total: f64 = per_publisher.iter().sum();
                // Everyone receives everyone else.
                per_publisher.iter().map(|mine| total - mine).sum::<f64>()
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(Scenario::named("audio", 20).unwrap().participants(), 30);
        assert_eq!(Scenario::named("classroom", 40).unwrap().participants(), 46);
        assert_eq!(Scenario::named("small", 5).unwrap().rooms.len(), 5);
        // 3 people with audio and video: each receives 2 × (50 + 30) frames/s.
        assert_eq!(
            Scenario::named("nxn", 3)
                .unwrap()
                .expected_frames_per_second(),
            480.0
        );
        assert!(Scenario::named("gala", 1).is_err());
    }
}
