//! A client's `view`: the size at which it shows each of the others' cameras and screens, so
//! that the media engine sends each the simulcast layer it needs, and no video to a tile that
//! is not on screen.

use plenary_media::TileView;
use plenary_proto::{ErrorCode, ParticipantId, ServerMessage, TileReport};

use super::{Connection, Flow, Sink, send};

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
