//! The errors and warnings this process logged lately, for the operators' view: a `tracing`
//! layer keeps the last [`KEPT`] of them in memory (and counts errors); the log itself stays
//! where it was (stderr, the journal).

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// How many of the latest warnings and errors are kept.
pub const KEPT: usize = 50;
/// The longest message kept (longer ones are cut).
const MESSAGE_MAX: usize = 500;

/// A warning or error as logged.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Logged {
    pub at_ms: i64,
    /// `ERROR` or `WARN`.
    pub level: &'static str,
    /// Where in the code (the module).
    pub target: String,
    /// The message and its fields (`error=…`).
    pub message: String,
}

static RECENT: Mutex<VecDeque<Logged>> = Mutex::new(VecDeque::new());
static ERRORS: AtomicU64 = AtomicU64::new(0);

/// The layer to add to the process's subscriber.
pub fn layer() -> Recent {
    Recent
}

/// The latest warnings and errors, newest first.
pub fn recent() -> Vec<Logged> {
    RECENT
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .rev()
        .cloned()
        .collect()
}

/// Errors logged since the process started.
pub fn error_count() -> u64 {
    ERRORS.load(Ordering::Relaxed)
}

/// Keeps warnings and errors (see the module).
#[derive(Debug, Clone, Copy)]
pub struct Recent;

impl<S: Subscriber> Layer<S> for Recent {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let level = *event.metadata().level();
        if level > Level::WARN {
            return;
        }
        if level == Level::ERROR {
            ERRORS.fetch_add(1, Ordering::Relaxed);
        }
        let mut text = Text::default();
        event.record(&mut text);
        keep(Logged {
            at_ms: plenary_proto::clock::unix_millis(),
            level: if level == Level::ERROR {
                "ERROR"
            } else {
                "WARN"
            },
            target: event.metadata().target().to_owned(),
            message: text.0,
        });
    }
}

fn keep(l: Logged) {
    let mut recent = RECENT.lock().unwrap_or_else(|p| p.into_inner());
    if recent.len() == KEPT {
        recent.pop_front();
    }
    recent.push_back(l);
}

/// An event's message and fields as one line.
#[derive(Default)]
struct Text(String);

impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if self.0.len() >= MESSAGE_MAX {
            return;
        }
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, "{}={value:?}", field.name());
        }
        if self.0.len() > MESSAGE_MAX {
            let mut cut = MESSAGE_MAX;
            while !self.0.is_char_boundary(cut) {
                cut -= 1;
            }
            self.0.truncate(cut);
            self.0.push('…');
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        // Strings without Debug's quotes.
        self.record_debug(field, &format_args!("{value}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt as _;

    #[test]
    fn warnings_and_errors_are_kept_newest_first_and_bounded() {
        let subscriber = tracing_subscriber::registry().with(layer());
        let before = error_count();
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!("not kept");
            tracing::warn!(room = "abc", "a warning");
            for i in 0..KEPT {
                tracing::error!(error = %"disk full", i, "cannot write");
            }
        });
        let r = recent();
        assert_eq!(r.len(), KEPT, "bounded");
        assert_eq!(error_count() - before, KEPT as u64);
        assert_eq!(r[0].level, "ERROR");
        assert_eq!(
            r[0].message,
            format!("cannot write error=disk full i={}", KEPT - 1)
        );
        assert!(r.iter().all(|l| l.message != "not kept"));
        assert!(
            !r.iter().any(|l| l.message.starts_with("a warning")),
            "pushed out"
        );
    }
}
