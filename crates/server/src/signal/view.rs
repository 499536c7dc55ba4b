//! A client's `view`: the size at which it shows each of the others' cameras and screens, so
//! that the media engine sends each the simulcast layer it needs, and no video to a tile that
//! is not on screen.

use std::time::{Duration, Instant};

use plenary_media::TileView;
use plenary_proto::{ErrorCode, ParticipantId, ServerMessage, TileReport};

use super::{Connection, Flow, Sink, send};

/// At most this many views a second are taken (the client sends at most four; each one makes
/// the media engine choose layers again). A second's worth, not a minimum gap: two views that
/// the network bunched together are both taken.
const VIEWS_PER_SECOND: u32 = 10;

impl Connection {
    pub(super) async fn view(
        &mut self,
        sink: &mut Sink,
        me: ParticipantId,
        tiles: Vec<TileReport>,
    ) -> Flow {
        // Refused without counting against the connection: a view is a hint, and a client
        // of another version must not be cut off for its layout.
        if let Err(why) = TileReport::check(&tiles) {
            return send(
                sink,
                &ServerMessage::error(ErrorCode::BadMessage, why, false),
            )
            .await;
        }
        let now = Instant::now();
        let (since, taken) = match self.views {
            Some((since, n)) if now.duration_since(since) < Duration::from_secs(1) => (since, n),
            _ => (now, 0),
        };
        if taken >= VIEWS_PER_SECOND {
            return send(
                sink,
                &ServerMessage::error(
                    ErrorCode::TooFast,
                    format!("at most {VIEWS_PER_SECOND} views a second; this one was not taken"),
                    false,
                ),
            )
            .await;
        }
        self.views = Some((since, taken + 1));
        let tiles = tiles
            .into_iter()
            .filter(|t| t.participant_id != me)
            .map(|t| {
                let view = TileView {
                    width: t.width,
                    height: t.height,
                    visible: t.visible,
                };
                (t.participant_id, t.source, view)
            })
            .collect();
        self.app.engine.set_view(me, tiles).await;
        Flow::Continue
    }
}
