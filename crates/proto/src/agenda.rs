//! A meeting's agenda and its speakers' list: the items a moderator moves through (each with
//! an optional time box), and who speaks now, for how long, and who is next (the raised
//! hands, people who have not spoken yet first when the stack is progressive). The messages
//! that carry them are in `signal.rs`; the rules are the meeting service's.

use serde::{Deserialize, Serialize};

use crate::ids::ParticipantId;

/// Longest agenda item title, in characters.
pub const MAX_ITEM_CHARS: usize = 200;
/// Most items on an agenda.
pub const MAX_AGENDA_ITEMS: usize = 50;
/// Longest time box of an item, in minutes.
pub const MAX_ITEM_MINUTES: u32 = 600;
/// Longest speaking time a moderator may set, in seconds.
pub const MAX_SPEAKING_SECONDS: u32 = 3600;

/// One item of an agenda.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgendaItem {
    pub title: String,
    /// Its time box.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes: Option<u32>,
}

impl AgendaItem {
    /// The items with their titles trimmed, or why they cannot be the agenda.
    pub fn checked(items: &[AgendaItem]) -> Result<Vec<AgendaItem>, String> {
        if items.len() > MAX_AGENDA_ITEMS {
            return Err(format!("an agenda has at most {MAX_AGENDA_ITEMS} items"));
        }
        items
            .iter()
            .map(|i| {
                let title = i.title.trim().to_owned();
                if title.is_empty()
                    || title.chars().count() > MAX_ITEM_CHARS
                    || title.chars().any(char::is_control)
                {
                    return Err(format!(
                        "an agenda item needs 1 to {MAX_ITEM_CHARS} characters, on one line"
                    ));
                }
                if i.minutes.is_some_and(|m| m == 0 || m > MAX_ITEM_MINUTES) {
                    return Err(format!(
                        "an item's time box is 1 to {MAX_ITEM_MINUTES} minutes"
                    ));
                }
                Ok(AgendaItem {
                    title,
                    minutes: i.minutes,
                })
            })
            .collect()
    }
}

/// The agenda as everyone sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agenda {
    pub items: Vec<AgendaItem>,
    /// The item under discussion (an index into `items`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<usize>,
    /// When it became the current one (milliseconds since the Unix epoch, server clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_ms: Option<i64>,
}

/// The speakers' list as everyone sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Speakers {
    /// Who speaks now (given the floor by a moderator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<ParticipantId>,
    /// Since when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_ms: Option<i64>,
    /// Who is next, in order: the raised hands, those who have not spoken yet first when the
    /// stack is progressive.
    pub queue: Vec<ParticipantId>,
    /// People who have not spoken yet go first.
    #[serde(default)]
    pub progressive: bool,
    /// Each speaker's time, in seconds (shown as a timer; nobody is cut off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_s: Option<u32>,
}

/// The speaking order of `hands` (in the order raised): as raised, or with those who have not
/// spoken yet first (each group keeping the order raised).
pub fn speaking_order(
    hands: &[ParticipantId],
    progressive: bool,
    has_spoken: impl Fn(ParticipantId) -> bool,
) -> Vec<ParticipantId> {
    let mut order = hands.to_vec();
    if progressive {
        order.sort_by_key(|p| has_spoken(*p));
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_checked() {
        let item = |t: &str, m| AgendaItem {
            title: t.into(),
            minutes: m,
        };
        let ok = AgendaItem::checked(&[item(" Budget ", Some(10)), item("AOB", None)]).unwrap();
        assert_eq!(ok[0].title, "Budget");
        assert!(AgendaItem::checked(&[item("", None)]).is_err());
        assert!(AgendaItem::checked(&[item("a\nb", None)]).is_err());
        assert!(AgendaItem::checked(&[item("x", Some(0))]).is_err());
        assert!(AgendaItem::checked(&[item("x", Some(601))]).is_err());
        let many = vec![item("x", None); MAX_AGENDA_ITEMS + 1];
        assert!(AgendaItem::checked(&many).is_err());
        assert!(AgendaItem::checked(&[]).unwrap().is_empty());
    }

    #[test]
    fn a_progressive_stack_puts_first_speakers_first() {
        let hands = [
            ParticipantId(3),
            ParticipantId(1),
            ParticipantId(2),
            ParticipantId(4),
        ];
        let spoke = |p: ParticipantId| p.0 == 3 || p.0 == 2;
        assert_eq!(speaking_order(&hands, false, spoke), hands);
        assert_eq!(
            speaking_order(&hands, true, spoke),
            [
                ParticipantId(1),
                ParticipantId(4),
                ParticipantId(3),
                ParticipantId(2)
            ]
        );
    }
}
