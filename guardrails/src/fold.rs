//! Unicode folding, done once per message for every detector.
//!
//! Each character is put in NFKC form (full-width letters, ligatures and compatibility
//! forms become plain letters), combining marks are composed with the letter before them,
//! invisible characters (zero-width spaces and joiners, soft hyphens, bidi controls, the BOM)
//! are removed, unusual spaces become a plain space, curly quotes become `'`/`"`, and Cyrillic
//! and Greek letters that look like Latin ones inside otherwise Latin words are mapped to the
//! Latin letter. Case is kept: the PHI tagger needs it.
//!
//! [`Folded::original`] maps a byte range of the folded text back to the input, so findings
//! are reported (and redacted) against what the client sent.

use unicode_normalization::char::compose;
use unicode_normalization::UnicodeNormalization;

/// Folded text with a map back to the original.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folded {
    /// The folded text.
    pub text: String,
    /// For each byte of `text`: the byte range of the original character it came from.
    spans: Vec<(usize, usize)>,
}

impl Folded {
    /// The byte range in the original text of the folded range `start..end` (a non-empty
    /// range on character boundaries of [`Folded::text`]).
    pub fn original(&self, start: usize, end: usize) -> (usize, usize) {
        if start >= end || end > self.spans.len() {
            return (0, 0);
        }
        (self.spans[start].0, self.spans[end - 1].1)
    }

    /// True when folding changed nothing.
    pub fn is_identity(&self, original: &str) -> bool {
        self.text == original
    }
}

/// Folds `text` (linear in its length).
pub fn fold(text: &str) -> Folded {
    let mut out = String::with_capacity(text.len());
    let mut spans: Vec<(usize, usize)> = Vec::with_capacity(text.len());
    // The last pushed base character, for composing a following combining mark.
    let mut last: Option<(char, usize)> = None;
    for (start, raw) in text.char_indices() {
        let end = start + raw.len_utf8();
        if is_invisible(raw) {
            continue;
        }
        for c in std::iter::once(raw).nfkc() {
            if is_combining(c) {
                if let Some((base, at)) = last {
                    if let Some(composed) = compose(base, c) {
                        // The composed letter replaces its base and covers both originals.
                        let from = spans[at].0;
                        out.truncate(at);
                        spans.truncate(at);
                        push(&mut out, &mut spans, composed, from, end);
                        last = Some((composed, at));
                        continue;
                    }
                }
            }
            let c = map_char(c);
            let at = out.len();
            push(&mut out, &mut spans, c, start, end);
            last = Some((c, at));
        }
    }
    let mut folded = Folded { text: out, spans };
    map_lookalikes(&mut folded);
    folded
}

fn push(out: &mut String, spans: &mut Vec<(usize, usize)>, c: char, start: usize, end: usize) {
    out.push(c);
    for _ in 0..c.len_utf8() {
        spans.push((start, end));
    }
}

/// Zero-width characters, soft hyphen, bidi controls, word joiners, BOM.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
    )
}

fn is_combining(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}')
}

/// Spaces and quote marks to ASCII.
fn map_char(c: char) -> char {
    match c {
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{02BC}' | '\u{2032}' => '\'',
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' => '"',
        '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2212}' => '-',
        c if c != '\n' && c != '\r' && c != '\t' && c.is_whitespace() => ' ',
        c => c,
    }
}

/// A Cyrillic or Greek letter that looks like a Latin one (one table for every detector:
/// the injection skeleton reads it too).
pub(crate) fn lookalike(c: char) -> Option<char> {
    Some(match c {
        'а' => 'a',
        'е' | 'ё' | 'ε' => 'e',
        'ρ' => 'p',
        'о' => 'o',
        'р' => 'p',
        'с' => 'c',
        'у' => 'y',
        'х' => 'x',
        'і' => 'i',
        'ј' => 'j',
        'ѕ' => 's',
        'һ' => 'h',
        'ԁ' => 'd',
        'А' => 'A',
        'В' => 'B',
        'Е' => 'E',
        'К' => 'K',
        'М' => 'M',
        'Н' => 'H',
        'О' => 'O',
        'Р' => 'P',
        'С' => 'C',
        'Т' => 'T',
        'Х' => 'X',
        'І' => 'I',
        'ο' => 'o',
        'α' => 'a',
        'ι' => 'i',
        'ν' => 'v',
        'Α' => 'A',
        'Β' => 'B',
        'Ε' => 'E',
        'Ζ' => 'Z',
        'Η' => 'H',
        'Ι' => 'I',
        'Κ' => 'K',
        'Μ' => 'M',
        'Ν' => 'N',
        'Ο' => 'O',
        'Ρ' => 'P',
        'Τ' => 'T',
        'Υ' => 'Y',
        'Χ' => 'X',
        'ɡ' => 'g',
        _ => return None,
    })
}

fn is_latin_letter(c: char) -> bool {
    c.is_ascii_alphabetic() || ('\u{00C0}'..='\u{024F}').contains(&c)
}

/// Inside a word that also holds Latin letters, look-alike letters become Latin (a word in
/// real Cyrillic or Greek script is left alone). Same byte layout is not guaranteed, so the
/// text is rebuilt with its span map.
fn map_lookalikes(f: &mut Folded) {
    if f.text.is_ascii() {
        return;
    }
    let chars: Vec<(usize, char)> = f.text.char_indices().collect();
    let mut out = String::with_capacity(f.text.len());
    let mut spans = Vec::with_capacity(f.spans.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].1.is_alphabetic() {
            let (at, c) = chars[i];
            push(&mut out, &mut spans, c, f.spans[at].0, f.spans[at].1);
            i += 1;
            continue;
        }
        let s = i;
        while i < chars.len() && chars[i].1.is_alphabetic() {
            i += 1;
        }
        let word = &chars[s..i];
        let mixed = word.iter().any(|&(_, c)| is_latin_letter(c))
            && word.iter().any(|&(_, c)| lookalike(c).is_some());
        for &(at, c) in word {
            let c = if mixed { lookalike(c).unwrap_or(c) } else { c };
            push(&mut out, &mut spans, c, f.spans[at].0, f.spans[at].1);
        }
    }
    f.text = out;
    f.spans = spans;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn back(f: &Folded, original: &str, needle: &str) -> String {
        let s = f.text.find(needle).expect("needle in folded text");
        let (a, b) = f.original(s, s + needle.len());
        original[a..b].to_string()
    }

    #[test]
    fn removes_invisible_characters_and_maps_back() {
        let t = "ki\u{200B}ll my\u{00AD}self";
        let f = fold(t);
        assert_eq!(f.text, "kill myself");
        assert_eq!(back(&f, t, "kill"), "ki\u{200B}ll");
    }

    #[test]
    fn nfkc_full_width_and_ligatures() {
        let f = fold("ｃｈｅｓｔ pain, ﬁne");
        assert_eq!(f.text, "chest pain, fine");
    }

    #[test]
    fn composes_combining_marks_so_a_name_stays_whole() {
        let t = "Ma\u{0308}kinen";
        let f = fold(t);
        assert_eq!(f.text, "Mäkinen");
        assert_eq!(back(&f, t, "Mäkinen"), t);
    }

    #[test]
    fn lookalikes_inside_latin_words_only() {
        assert_eq!(fold("ignоre").text, "ignore"); // Cyrillic о
        assert_eq!(fold("Горбачёв").text, "Горбачёв"); // real Cyrillic stays
    }

    #[test]
    fn quotes_spaces_and_dashes() {
        assert_eq!(
            fold("I\u{2019}m\u{00A0}fine \u{2013} ok").text,
            "I'm fine - ok"
        );
    }

    #[test]
    fn empty_and_binary_looking_input() {
        assert_eq!(fold("").text, "");
        let junk: String = (0u32..2000).filter_map(char::from_u32).collect();
        let f = fold(&junk);
        let (a, b) = f.original(0, f.text.len());
        assert!(a <= b && b <= junk.len());
    }
}
