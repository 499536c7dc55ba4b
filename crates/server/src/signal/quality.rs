//! Call-quality reports (every 10 s) and problem reports from a meeting's clients: checked,
//! tied to the participant and their meeting, and handed to the call-quality writer (reports)
//! or kept at once (a problem report is answered only once it is stored).

use std::time::{Duration, Instant};

use plenary_proto::quality::{PROBLEM_NOTE_MAX, REPORT_EVERY_MIN_SECS};
use plenary_proto::{ErrorCode, NoticeCode, QualityReport, ServerMessage};
use plenary_store::ProblemRow;

use super::{Connection, Flow, Sink, send};

/// One problem report per connection this often.
const PROBLEM_EVERY: Duration = Duration::from_secs(30);
/// Problem reports kept per meeting.
const PROBLEMS_PER_MEETING: u32 = 200;

impl Connection {
    /// The participant's room, meeting (its start), id, name and account, while in one.
    fn reporter(&self) -> Option<(String, i64, i64, String, Option<i64>)> {
        let j = self.joined.as_ref()?;
        let live = &self.app.meeting.live;
        let meeting_ms = live.meeting_started(&j.room)?;
        let name = live.participant_name(&j.room, j.id)?;
        Some((
            j.room.as_str().to_owned(),
            meeting_ms,
            j.id.0 as i64,
            name,
            j.claims.account,
        ))
    }

    pub(super) async fn quality_report(
        &mut self,
        sink: &mut Sink,
        mut report: QualityReport,
    ) -> Flow {
        // Refused, but not held against the connection: a client of another version sends
        // them every 10 s, and its meeting must not be cut off for it.
        if let Err(why) = report.check() {
            return send(
                sink,
                &ServerMessage::error(ErrorCode::BadMessage, why, false),
            )
            .await;
        }
        let now = Instant::now();
        // Sooner than a client sends them: not kept (a report is a summary, nothing is lost).
        if self
            .last_quality
            .is_some_and(|t| now.duration_since(t) < Duration::from_secs(REPORT_EVERY_MIN_SECS))
        {
            return Flow::Continue;
        }
        self.last_quality = Some(now);
        // What the others' uplinks lost reaches this client as gaps (the SFU forwards packets
        // as they come): its downlink did not lose those.
        if let Some(j) = self.joined.as_ref()
            && let Some(stats) = self.app.engine.stats(j.id).await
        {
            let now = (stats.packets_out, stats.packets_missing_upstream);
            let sent = now.0.saturating_sub(self.last_forwarded.0);
            let missing = now.1.saturating_sub(self.last_forwarded.1);
            self.last_forwarded = now;
            if sent + missing > 0 {
                let upstream = missing as f64 / (sent + missing) as f64;
                report.loss_in = report.loss_in.map(|l| (l - upstream).max(0.0));
            }
        }
        if let Some((room, meeting_ms, id, name, _)) = self.reporter() {
            let at = plenary_proto::clock::unix_millis();
            self.app.quality.keep(plenary_status::quality::row_of(
                &report, &room, meeting_ms, id, &name, at,
            ));
        }
        Flow::Continue
    }

    pub(super) async fn problem_report(
        &mut self,
        sink: &mut Sink,
        note: String,
        report: Option<QualityReport>,
    ) -> Flow {
        let note = note.trim();
        if note.chars().count() > PROBLEM_NOTE_MAX || note.contains('\0') {
            let why = format!("the note is at most {PROBLEM_NOTE_MAX} characters of text");
            return self.refuse(sink, ErrorCode::BadMessage, &why).await;
        }
        if let Some(Err(why)) = report.as_ref().map(QualityReport::check) {
            return self.refuse(sink, ErrorCode::BadMessage, &why).await;
        }
        let now = Instant::now();
        if self
            .last_problem
            .is_some_and(|t| now.duration_since(t) < PROBLEM_EVERY)
        {
            let m = ServerMessage::error(
                ErrorCode::TooFast,
                "a problem report was sent just now; wait a little",
                false,
            );
            return send(sink, &m).await;
        }
        let Some((room, meeting_ms, participant, name, account_id)) = self.reporter() else {
            return self
                .refuse(sink, ErrorCode::WrongOrder, "not in a meeting")
                .await;
        };
        // Counted from here, whatever happens next: no loop costs the store a read each time.
        self.last_problem = Some(now);
        // A meeting keeps at most this many (its people cannot fill the disk).
        match self.app.store.problem_count(&room, meeting_ms).await {
            Ok(kept) if kept >= PROBLEMS_PER_MEETING => {
                let m = ServerMessage::error(
                    ErrorCode::TooFast,
                    "this meeting has reported enough problems; the admins have them",
                    false,
                );
                return send(sink, &m).await;
            }
            _ => {}
        }
        let row = ProblemRow {
            id: 0,
            room,
            meeting_ms,
            participant,
            name,
            account_id,
            at_ms: plenary_proto::clock::unix_millis(),
            note: note.to_owned(),
            diagnostics: serde_json::to_string(&report.unwrap_or_default())
                .unwrap_or_else(|_| "{}".into()),
        };
        match self.app.store.save_problem(&row).await {
            Ok(id) => {
                tracing::info!(problem = id, room = %row.room, "a participant reported a problem");
                send(
                    sink,
                    &ServerMessage::Notice {
                        code: NoticeCode::ProblemReported,
                    },
                )
                .await
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot keep a problem report");
                let m = ServerMessage::error(
                    ErrorCode::Unavailable,
                    "the report could not be saved; try again",
                    false,
                );
                send(sink, &m).await
            }
        }
    }
}
