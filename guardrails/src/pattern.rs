//! Built-in regex patterns with named fragments (`@name@`), shared by the rule tables of
//! the harmful-request, injection and output-policy modules.

use regex::Regex;

/// Replaces every `@name@` by its fragment; two passes, so a fragment may use another.
fn expand(pattern: &str, fragments: &[(&str, &str)]) -> String {
    let mut s = pattern.to_owned();
    for _ in 0..2 {
        for (name, fragment) in fragments {
            s = s.replace(&format!("@{name}@"), fragment);
        }
    }
    s
}

/// Compiles a built-in, case-insensitive pattern. An invalid one is a bug in a rule table:
/// it panics with the pattern's text, and each module's tests compile every pattern.
pub(crate) fn compile(pattern: &str, fragments: &[(&str, &str)]) -> Regex {
    let source = format!("(?i){}", expand(pattern, fragments));
    Regex::new(&source).unwrap_or_else(|e| panic!("invalid built-in pattern {pattern:?}: {e}"))
}
