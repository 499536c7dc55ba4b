//! A client's `view`: the size at which it shows each of the others' cameras and screens, so
//! that the media engine sends each the simulcast layer it needs, and no video to a tile that
//! is not on screen.

use std::time::{Duration, Instant};

use plenary_media::TileView;
use plenary_proto::{ErrorCode, ParticipantId, ServerMessage, TileReport};

use super::{Connection, Flow, Sink, send};

/// Views closer together than this are not taken (the client sends at most two a second;
/// each one makes the media engine choose layers again).
const VIEW_EVERY: Duration = Duration::from_millis(200);

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
        if self
            .last_view
            .is_some_and(|t| now.duration_since(t) < VIEW_EVERY)
        {
            return send(
                sink,
                &ServerMessage::error(
                    ErrorCode::TooFast,
                    format!(
                        "views at most every {} ms; this one was not taken",
                        VIEW_EVERY.as_millis()
                    ),
                    false,
                ),
            )
            .await;
        }
        self.last_view = Some(now);
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
