//! How far a streamed answer can be released before its sentence ends.
//!
//! The output policy classifies whole sentences, but a rule can only ever fire on text from
//! the first byte where one of its patterns could still start a match. [`Reach`] finds that
//! byte: it runs one lazy DFA of all the rules, anchored at each candidate start, over the
//! text that has arrived, and a start is *dead* once the DFA reaches its dead state (no
//! continuation of the text can make a match begin there). Every byte before the first live
//! start can be sent: no rule will ever match text that begins there, however the sentence
//! goes on. Deadness only grows as text arrives, so the answer is the same for any split of
//! the text into deltas.
//!
//! The DFA over-approximates the rules, never the other way: word boundaries (`\b`) are
//! dropped from its patterns, so it matches everything the rules match and more (a lazy DFA
//! cannot follow a Unicode word boundary across non-ASCII text, which model answers are full
//! of: "you’re"). A cache error counts as a live start too. Erring this way only holds text
//! back longer.

use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::{Anchored, Input, MatchKind};

/// The rules' union as one lazy DFA.
#[derive(Debug)]
pub(crate) struct Reach {
    dfa: DFA,
}

impl Reach {
    /// A DFA of every pattern in `sources` (regex syntax, without `\B` or a literal `\\b`),
    /// word boundaries dropped. Panics on an invalid pattern: the sources are built-in rule
    /// tables, and their tests build this.
    pub(crate) fn new(sources: &[String]) -> Self {
        let loose: Vec<String> = sources.iter().map(|s| s.replace(r"\b", "")).collect();
        let dfa = DFA::builder()
            .configure(DFA::config().match_kind(MatchKind::All))
            .build_many(&loose)
            .unwrap_or_else(|e| panic!("output policy rules as one DFA: {e}"));
        Reach { dfa }
    }

    /// A cache for [`earliest`](Self::earliest) (one per stream).
    pub(crate) fn cache(&self) -> Cache {
        self.dfa.create_cache()
    }

    /// The first character boundary at or after `from` where a match of any rule could
    /// start, given that more text may follow `text`; `text.len()` when there is none.
    pub(crate) fn earliest(&self, cache: &mut Cache, text: &str, from: usize) -> usize {
        let mut at = from.min(text.len());
        while at < text.len() {
            if text.is_char_boundary(at) && self.could_start(cache, text, at) {
                return at;
            }
            at += 1;
        }
        text.len()
    }

    /// Whether a match could begin at byte `at` of `text` (or of a longer text that starts
    /// with it).
    fn could_start(&self, cache: &mut Cache, text: &str, at: usize) -> bool {
        let input = Input::new(text).range(at..).anchored(Anchored::Yes);
        let Ok(mut state) = self.dfa.start_state_forward(cache, &input) else {
            return true;
        };
        for &byte in &text.as_bytes()[at..] {
            state = match self.dfa.next_state(cache, state, byte) {
                Ok(s) => s,
                Err(_) => return true,
            };
            if state.is_dead() {
                return false;
            }
            if state.is_match() || state.is_quit() {
                return true;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reach(patterns: &[&str]) -> Reach {
        Reach::new(
            &patterns
                .iter()
                .map(|p| format!("(?i){p}"))
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn finds_the_first_start_a_match_could_still_take() {
        let r = reach(&[r"\byou\s+have\s+\w+", r"\btake\s+\d+\s*mg\b"]);
        let mut c = r.cache();
        // Nothing can start a match: everything may go.
        assert_eq!(r.earliest(&mut c, "Rest and drink water ", 0), 21);
        // "yo" may become "you have…".
        assert_eq!(r.earliest(&mut c, "Rest and yo", 0), 9);
        // "your" cannot.
        assert_eq!(r.earliest(&mut c, "Rest your feet ", 0), 15);
        // A start stays live through a match and after it.
        let t = "Then take 500 mg now";
        assert_eq!(r.earliest(&mut c, t, 0), 5);
        // Starting the scan later skips earlier starts.
        assert_eq!(r.earliest(&mut c, t, 6), t.len());
        // Word boundaries are dropped (an over-approximation): "mistake" may start "take"
        // until the text rules it out.
        assert_eq!(r.earliest(&mut c, "a mistake 5", 0), 5);
        assert_eq!(r.earliest(&mut c, "a mistake was made ", 0), 19);
    }

    #[test]
    fn non_ascii_text_is_followed() {
        let r = reach(&[r"\byou(?:\s+are|['’]re)\s+suffering\b"]);
        let mut c = r.cache();
        assert_eq!(
            r.earliest(&mut c, "Café, crème brûlée ", 0),
            "Café, crème brûlée ".len()
        );
        let t = "I see you’re feeling low ";
        assert_eq!(r.earliest(&mut c, t, 0), t.len());
        assert_eq!(r.earliest(&mut c, "I see you’re suff", 0), 6);
        // Case-insensitive, with Unicode case folding.
        assert_eq!(r.earliest(&mut c, "OK. YOU’RE SUFFERING", 0), 4);
    }
}
