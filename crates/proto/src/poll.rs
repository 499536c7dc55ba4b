//! Polls and votes in a meeting: what a moderator asks, who may answer, and what everyone sees
//! of the answers. The messages that carry them are in `signal.rs`; the rules are checked by
//! the meeting service.

use serde::{Deserialize, Serialize};

/// Longest question, in characters.
pub const MAX_QUESTION_CHARS: usize = 500;
/// Longest option, in characters.
pub const MAX_OPTION_CHARS: usize = 200;
/// Most options of a single- or multiple-choice poll.
pub const MAX_POLL_OPTIONS: usize = 12;
/// Longest a poll may stay open by its own timer (a day); a moderator may close it sooner.
pub const MAX_POLL_SECONDS: u32 = 24 * 3600;
/// Shortest timer a poll may have.
pub const MIN_POLL_SECONDS: u32 = 10;
/// Most polls one meeting may hold (open and closed).
pub const MAX_POLLS: usize = 200;

/// What kind of answer a poll asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PollKind {
    /// Yes, no or abstain.
    YesNo,
    /// One of the moderator's options.
    Single,
    /// Any of the moderator's options (at least one).
    Multiple,
    /// A consent round: consent, a concern (consent with reservations) or an objection.
    Consent,
}

impl PollKind {
    /// The fixed options of a kind that has them, by their wire names (clients word them).
    pub fn fixed_options(self) -> Option<&'static [&'static str]> {
        match self {
            Self::YesNo => Some(&["yes", "no", "abstain"]),
            Self::Consent => Some(&["consent", "concern", "object"]),
            Self::Single | Self::Multiple => None,
        }
    }
}

/// Who may answer a poll.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PollVoters {
    /// Everyone in the meeting, guests too.
    #[default]
    Everyone,
    /// People signed in with an account on this server.
    SignedIn,
    /// Signed-in members of an organisation the room's owner belongs to (the owner and the
    /// room's co-owners too).
    Members,
}

/// A poll as a moderator asks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PollSpec {
    pub question: String,
    pub kind: PollKind,
    /// The options of a single- or multiple-choice poll (2 to [`MAX_POLL_OPTIONS`]); empty
    /// for the kinds with fixed options. Quick polls (A/B/C/D, yes/no, true/false) are
    /// single-choice polls whose options the client fills in.
    #[serde(default)]
    pub options: Vec<String>,
    /// Secret: nobody, the store included, keeps who chose what; only who voted and the
    /// counts. Otherwise everyone sees who chose what once the results show.
    #[serde(default)]
    pub secret: bool,
    #[serde(default)]
    pub voters: PollVoters,
    /// Votes (abstentions included) needed for the result to count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum: Option<u32>,
    /// Closes by itself this many seconds after it opens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<u32>,
    /// The counts are hidden from everyone (moderators too) until the poll closes; only the
    /// number of votes shows.
    #[serde(default)]
    pub hide_results: bool,
}

impl PollSpec {
    /// The poll's options: the moderator's, or the kind's fixed ones.
    pub fn option_names(&self) -> Vec<String> {
        match self.kind.fixed_options() {
            Some(fixed) => fixed.iter().map(|s| (*s).to_owned()).collect(),
            None => self.options.clone(),
        }
    }

    /// The spec with its texts trimmed, or why it cannot be asked.
    pub fn checked(&self) -> Result<PollSpec, String> {
        let question = self.question.trim().to_owned();
        if question.is_empty() || question.chars().count() > MAX_QUESTION_CHARS {
            return Err(format!(
                "a question needs 1 to {MAX_QUESTION_CHARS} characters"
            ));
        }
        if has_control(&question) {
            return Err("a question may not hold control characters".into());
        }
        let options: Vec<String> = self.options.iter().map(|o| o.trim().to_owned()).collect();
        match self.kind.fixed_options() {
            Some(_) if !options.is_empty() => {
                return Err("this kind of poll has its own options".into());
            }
            Some(_) => {}
            None => {
                if options.len() < 2 || options.len() > MAX_POLL_OPTIONS {
                    return Err(format!("a poll needs 2 to {MAX_POLL_OPTIONS} options"));
                }
                for (i, o) in options.iter().enumerate() {
                    if o.is_empty() || o.chars().count() > MAX_OPTION_CHARS || has_control(o) {
                        return Err(format!(
                            "an option needs 1 to {MAX_OPTION_CHARS} characters, on one line"
                        ));
                    }
                    if options[..i].contains(o) {
                        return Err("two options are the same".into());
                    }
                }
            }
        }
        if let Some(d) = self.duration_s
            && !(MIN_POLL_SECONDS..=MAX_POLL_SECONDS).contains(&d)
        {
            return Err(format!(
                "a poll's timer is {MIN_POLL_SECONDS} to {MAX_POLL_SECONDS} seconds"
            ));
        }
        if self.quorum == Some(0) {
            return Err("a quorum is at least one vote".into());
        }
        Ok(PollSpec {
            question,
            options,
            ..self.clone()
        })
    }

    /// Whether `choices` (option indices) is a valid answer, as given (no repeats).
    pub fn valid_choices(&self, choices: &[u32]) -> bool {
        let n = self.option_names().len();
        if choices.is_empty() || choices.iter().any(|c| *c as usize >= n) {
            return false;
        }
        if (1..choices.len()).any(|i| choices[..i].contains(&choices[i])) {
            return false;
        }
        self.kind == PollKind::Multiple || choices.len() == 1
    }
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// A poll as everyone in the meeting sees it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Poll {
    /// Unique in its meeting, increasing.
    pub id: u64,
    /// What was asked.
    pub spec: PollSpec,
    /// The moderator who asked.
    pub by: String,
    /// Milliseconds since the Unix epoch, by the server's clock.
    pub opened_ms: i64,
    /// When its timer closes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closes_ms: Option<i64>,
    /// When it closed; open while `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_ms: Option<i64>,
    /// Votes cast (people, not options).
    pub votes: u32,
    /// Votes per option, in the options' order; `None` while hidden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<Vec<u32>>,
    /// (Named polls, when the counts show) who chose each option, in the options' order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub names: Option<Vec<Vec<String>>>,
}

impl Poll {
    pub fn is_open(&self) -> bool {
        self.closed_ms.is_none()
    }

    /// Whether enough votes came for the result to count (`None`: the poll has no quorum).
    pub fn quorum_met(&self) -> Option<bool> {
        self.spec.quorum.map(|q| self.votes >= q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: PollKind, options: &[&str]) -> PollSpec {
        PollSpec {
            question: " Shall we? ".into(),
            kind,
            options: options.iter().map(|s| (*s).to_owned()).collect(),
            secret: false,
            voters: PollVoters::Everyone,
            quorum: None,
            duration_s: None,
            hide_results: false,
        }
    }

    #[test]
    fn specs_are_checked() {
        let ok = spec(PollKind::Single, &[" A ", "B"]).checked().unwrap();
        assert_eq!(ok.question, "Shall we?");
        assert_eq!(ok.options, ["A", "B"]);
        assert!(spec(PollKind::Consent, &[]).checked().is_ok());
        assert!(spec(PollKind::Consent, &["x"]).checked().is_err());
        assert!(spec(PollKind::Single, &["A"]).checked().is_err());
        assert!(spec(PollKind::Multiple, &["A", " A"]).checked().is_err());
        assert!(spec(PollKind::Single, &["A", ""]).checked().is_err());
        assert!(spec(PollKind::Single, &["A", "B\nC"]).checked().is_err());
        let many: Vec<String> = (0..=MAX_POLL_OPTIONS).map(|i| i.to_string()).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(spec(PollKind::Single, &many).checked().is_err());
        let mut s = spec(PollKind::YesNo, &[]);
        s.question = "  ".into();
        assert!(s.checked().is_err());
        s.question = "q".into();
        s.duration_s = Some(5);
        assert!(s.checked().is_err());
        s.duration_s = Some(60);
        s.quorum = Some(0);
        assert!(s.checked().is_err());
        s.quorum = Some(3);
        assert!(s.checked().is_ok());
    }

    #[test]
    fn choices_are_checked() {
        let single = spec(PollKind::Single, &["A", "B", "C"]);
        assert!(single.valid_choices(&[2]));
        assert!(!single.valid_choices(&[]));
        assert!(!single.valid_choices(&[3]));
        assert!(!single.valid_choices(&[0, 1]));
        let multi = spec(PollKind::Multiple, &["A", "B", "C"]);
        assert!(multi.valid_choices(&[0, 2]));
        assert!(!multi.valid_choices(&[0, 0]));
        let consent = spec(PollKind::Consent, &[]);
        assert_eq!(consent.option_names(), ["consent", "concern", "object"]);
        assert!(consent.valid_choices(&[2]));
        assert!(!consent.valid_choices(&[3]));
    }

    #[test]
    fn a_poll_on_the_wire() {
        let poll = Poll {
            id: 1,
            spec: spec(PollKind::YesNo, &[]).checked().unwrap(),
            by: "Mo".into(),
            opened_ms: 5,
            closes_ms: None,
            closed_ms: None,
            votes: 2,
            counts: Some(vec![1, 1, 0]),
            names: None,
        };
        let json = serde_json::to_string(&poll).unwrap();
        assert_eq!(
            json,
            r#"{"id":1,"spec":{"question":"Shall we?","kind":"yes_no","options":[],"secret":false,"voters":"everyone","hide_results":false},"by":"Mo","opened_ms":5,"votes":2,"counts":[1,1,0]}"#
        );
        let back: Poll = serde_json::from_str(&json).unwrap();
        assert_eq!(back, poll);
        assert_eq!(back.quorum_met(), None);
    }
}
