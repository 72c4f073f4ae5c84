//! The PHI token tagger: names and places (street addresses, postcodes, towns) in free text
//! from many countries.
//!
//! A multinomial logistic model over sparse surface features of each word and its
//! neighbours: the lower-cased word, its shape (`Xxxx`, `dd`, ...), capitalisation, script
//! (ASCII, Latin with diacritics, other scripts), affixes, gazetteer hits (given names,
//! surnames, places, street words, name particles, known non-names; `data/gazetteer/`), and
//! cue words before it ("dr", "my name is", "lives at"). The sentence encoder is uncased, so
//! casing comes from these features. Classes: `O`, `NAME`, `PLACE`. Runs of tagged words
//! (joined by particles, hyphens and apostrophes) become spans.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use super::head::Adam;

/// Tag classes.
pub const CLASSES: [&str; 3] = ["O", "NAME", "PLACE"];

/// A word of the input, with its byte range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// Byte offset of the start.
    pub start: usize,
    /// Byte offset one past the end.
    pub end: usize,
    /// True when a line break comes between this word and the previous one.
    pub after_newline: bool,
}

/// Splits `text` into words (letters and digits, with inner apostrophes, hyphens and dots
/// as in "O'Brien", "Jean-Luc", "St.") and single punctuation marks. Linear.
pub fn words(text: &str) -> Vec<Word> {
    let mut out = Vec::new();
    let mut newline = false;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        if c.is_whitespace() {
            newline |= c == '\n';
            i += 1;
            continue;
        }
        let start = at;
        if c.is_alphanumeric() {
            i += 1;
            while i < chars.len() {
                let c = chars[i].1;
                let inner = matches!(c, '\'' | '-' | '’')
                    && chars.get(i + 1).is_some_and(|n| n.1.is_alphanumeric());
                if c.is_alphanumeric() || inner {
                    i += 1;
                } else {
                    break;
                }
            }
        } else {
            i += 1;
        }
        let end = chars.get(i).map_or(text.len(), |c| c.0);
        out.push(Word {
            start,
            end,
            after_newline: newline,
        });
        newline = false;
    }
    out
}

/// Word lists, embedded at build time.
struct Gazetteer {
    first: HashSet<String>,
    surname: HashSet<String>,
    place: HashSet<String>,
    street: HashSet<String>,
    particle: HashSet<String>,
    not_name: HashSet<String>,
    /// Not a tagger feature (outside [`gazetteer_sha256`]): the place-span filter's list.
    not_place: HashSet<String>,
}

fn list(src: &str) -> HashSet<String> {
    src.lines()
        .map(|l| l.trim().to_lowercase())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

static GAZ: LazyLock<Gazetteer> = LazyLock::new(|| Gazetteer {
    first: list(include_str!("../../data/gazetteer/first_names.txt")),
    surname: list(include_str!("../../data/gazetteer/surnames.txt")),
    place: list(include_str!("../../data/gazetteer/places.txt")),
    street: list(include_str!("../../data/gazetteer/street_words.txt")),
    particle: list(include_str!("../../data/gazetteer/name_particles.txt")),
    not_name: list(include_str!("../../data/gazetteer/not_names.txt")),
    not_place: list(include_str!("../../data/gazetteer/not_places.txt")),
});

/// SHA-256 of the embedded gazetteer files: weights are only valid with the lists they were
/// trained with.
pub fn gazetteer_sha256() -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for src in [
        include_str!("../../data/gazetteer/first_names.txt"),
        include_str!("../../data/gazetteer/surnames.txt"),
        include_str!("../../data/gazetteer/places.txt"),
        include_str!("../../data/gazetteer/street_words.txt"),
        include_str!("../../data/gazetteer/name_particles.txt"),
        include_str!("../../data/gazetteer/not_names.txt"),
    ] {
        h.update(src.as_bytes());
        h.update([0u8]);
    }
    hex::encode(h.finalize())
}

fn shape(w: &str) -> String {
    let mut s = String::new();
    for c in w.chars() {
        let k = if c.is_uppercase() {
            'X'
        } else if c.is_lowercase() {
            'x'
        } else if c.is_numeric() {
            'd'
        } else {
            c
        };
        if !s.ends_with(k) || s.chars().rev().take_while(|&x| x == k).count() < 2 {
            s.push(k);
        }
    }
    s
}

fn script(w: &str) -> &'static str {
    if w.is_ascii() {
        "ascii"
    } else if w.chars().all(|c| !c.is_alphabetic() || c <= '\u{024F}') {
        "latin_ext"
    } else {
        "other"
    }
}

/// Gazetteer tags of a lower-cased word.
fn gaz_tags(lw: &str, out: &mut Vec<&'static str>) {
    let g = &*GAZ;
    let bare = lw.trim_end_matches("'s").trim_end_matches('.');
    if g.first.contains(bare) {
        out.push("first");
    }
    if g.surname.contains(bare) {
        out.push("sur");
    }
    if g.place.contains(bare) {
        out.push("place");
    }
    if g.street.contains(bare)
        || g.street
            .iter()
            .any(|s| s.len() >= 4 && bare.ends_with(s.as_str()) && bare.len() > s.len() + 2)
    {
        out.push("street");
    }
    if g.particle.contains(bare) {
        out.push("particle");
    }
    if g.not_name.contains(bare) {
        out.push("notname");
    }
}

/// Per-word facts used by the features of the word and of its neighbours.
struct Info {
    lower: String,
    shape: String,
    tags: Vec<&'static str>,
    cap: bool,
}

fn infos(text: &str, ws: &[Word]) -> Vec<Info> {
    ws.iter()
        .map(|w| {
            let s = &text[w.start..w.end];
            let lower = s.to_lowercase();
            let mut tags = Vec::new();
            gaz_tags(&lower, &mut tags);
            Info {
                cap: s.chars().next().is_some_and(char::is_uppercase),
                shape: shape(s),
                lower,
                tags,
            }
        })
        .collect()
}

/// Feature strings of word `i`.
fn features(text: &str, ws: &[Word], inf: &[Info], i: usize) -> Vec<String> {
    let w = &text[ws[i].start..ws[i].end];
    let me = &inf[i];
    let mut f = vec!["b".to_string()];
    f.push(format!("w={}", me.lower));
    f.push(format!("sh={}", me.shape));
    f.push(format!("sc={}", script(w)));
    let chars: Vec<char> = me.lower.chars().collect();
    if chars.len() >= 3 {
        f.push(format!(
            "s3={}",
            chars[chars.len() - 3..].iter().collect::<String>()
        ));
        f.push(format!("p3={}", chars[..3].iter().collect::<String>()));
    }
    f.push(format!("len={}", chars.len().min(8)));
    for t in &me.tags {
        f.push(format!("g={t}"));
        f.push(format!("g={t}&cap={}", me.cap));
    }
    let sent_start = i == 0
        || ws[i].after_newline
        || matches!(
            &text[ws[i - 1].start..ws[i - 1].end],
            "." | "!" | "?" | ":" | "\""
        );
    f.push(format!("ss={sent_start}&cap={}", me.cap));
    if ws[i].after_newline {
        f.push("nl".into());
    }
    for (d, name) in [(-2isize, "p2"), (-1, "p1"), (1, "n1"), (2, "n2")] {
        let j = i as isize + d;
        if j < 0 || j as usize >= ws.len() {
            f.push(format!("{name}=<none>"));
            continue;
        }
        let o = &inf[j as usize];
        f.push(format!("{name}w={}", o.lower));
        if d.abs() == 1 {
            f.push(format!("{name}sh={}", o.shape));
            for t in &o.tags {
                f.push(format!("{name}g={t}"));
            }
        }
    }
    if i >= 1 {
        f.push(format!("p1w={}&cap={}", inf[i - 1].lower, me.cap));
    }
    if i >= 2 {
        f.push(format!("p2p1={} {}", inf[i - 2].lower, inf[i - 1].lower));
    }
    f
}

/// A trained tagger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tagger {
    /// Feature → one weight per class ([`CLASSES`]).
    pub weights: HashMap<String, [f32; 3]>,
    /// A word is tagged when `1 - p(O) >= threshold`.
    pub threshold: f32,
    /// [`gazetteer_sha256`] at training time.
    pub gazetteer_sha256: String,
}

/// A span the tagger found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TagSpan {
    /// Byte offset of the start.
    pub start: usize,
    /// Byte offset one past the end.
    pub end: usize,
    /// 1 = NAME, 2 = PLACE.
    pub class: usize,
}

impl Tagger {
    /// Checks the weights fit the embedded gazetteer and are finite.
    pub fn validate(&self) -> Result<(), String> {
        if self.gazetteer_sha256 != gazetteer_sha256() {
            return Err("the PHI tagger was trained with other gazetteer lists (retrain with `medserve guardrails train`)".into());
        }
        if !self.weights.values().flatten().all(|v| v.is_finite())
            || !(0.0..=1.0).contains(&self.threshold)
        {
            return Err("PHI tagger weights must be finite and its threshold in 0..1".into());
        }
        Ok(())
    }

    fn probs(&self, feats: &[String]) -> [f32; 3] {
        let mut z = [0f32; 3];
        for f in feats {
            if let Some(w) = self.weights.get(f) {
                for c in 0..3 {
                    z[c] += w[c];
                }
            }
        }
        let m = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let e = z.map(|v| (v - m).exp());
        let s: f32 = e.iter().sum();
        e.map(|v| v / s)
    }

    /// Per-word class probabilities.
    pub fn word_probs(&self, text: &str, ws: &[Word]) -> Vec<[f32; 3]> {
        let inf = infos(text, ws);
        (0..ws.len())
            .map(|i| self.probs(&features(text, ws, &inf, i)))
            .collect()
    }

    /// Name and place spans in `text`.
    pub fn tag(&self, text: &str) -> Vec<TagSpan> {
        let ws = words(text);
        let probs = self.word_probs(text, &ws);
        let labels: Vec<usize> = probs
            .iter()
            .map(|p| {
                if 1.0 - p[0] >= self.threshold {
                    if p[1] >= p[2] {
                        1
                    } else {
                        2
                    }
                } else {
                    0
                }
            })
            .collect();
        spans_of(text, &ws, &labels)
    }
}

/// Joins runs of tagged words into spans; a particle, hyphen or apostrophe between two
/// tagged words of the same class joins them.
fn spans_of(text: &str, ws: &[Word], labels: &[usize]) -> Vec<TagSpan> {
    let mut out: Vec<TagSpan> = Vec::new();
    let mut i = 0;
    while i < ws.len() {
        let class = labels[i];
        if class == 0 {
            i += 1;
            continue;
        }
        let start = ws[i].start;
        let mut end = ws[i].end;
        i += 1;
        loop {
            if i < ws.len() && labels[i] == class && !ws[i].after_newline {
                end = ws[i].end;
                i += 1;
                continue;
            }
            // "van der", "-", "," inside an address: bridge one or two joiners.
            let bridge = (1..=2).find(|&k| {
                i + k < ws.len()
                    && labels[i + k] == class
                    && (0..k).all(|m| {
                        let t = &text[ws[i + m].start..ws[i + m].end];
                        labels[i + m] == 0
                            && (GAZ.particle.contains(&t.to_lowercase())
                                || matches!(t, "-" | "'" | "/")
                                || (class == 2 && t == ","))
                    })
            });
            match bridge {
                Some(k) => {
                    end = ws[i + k].end;
                    i += k + 1;
                }
                None => break,
            }
        }
        // A span made only of known non-names or of short lower-case words ("no", "of")
        // is a slip of the model, not an identifier.
        let slip = ws
            .iter()
            .filter(|w| w.start >= start && w.end <= end)
            .map(|w| &text[w.start..w.end])
            .filter(|t| t.chars().any(char::is_alphanumeric))
            .all(|t| {
                let lower = t.to_lowercase();
                GAZ.not_name.contains(&lower)
                    || (t.chars().count() <= 3 && t.chars().all(|c| c.is_lowercase()))
            });
        // Vital-sign and lab words next to numbers look like a street and a house number to
        // the model ("Potassium 5.9", "Puls 88"): a place span with such a word and no
        // evidence of a place is dropped. Spans of numbers alone stay (ages, dates and
        // numbers the rules missed are often caught there).
        let span_words: Vec<&str> = ws
            .iter()
            .filter(|w| w.start >= start && w.end <= end)
            .map(|w| &text[w.start..w.end])
            .collect();
        let unplaced = class == 2
            && span_words.iter().any(|t| is_not_place(t))
            && !span_words.iter().any(|t| place_evidence(t));
        if !slip && !unplaced {
            out.push(TagSpan { start, end, class });
        }
    }
    out
}

/// Whether a word inside a place span shows it is one: a known place or street word (as the
/// features see them), a capitalised word of three or more letters that is not a clinical
/// term ("Cromwell", not "Potassium" or "BP"), or a word of a script without capitals.
fn place_evidence(word: &str) -> bool {
    let mut tags = Vec::new();
    gaz_tags(&word.to_lowercase(), &mut tags);
    if tags.contains(&"place") || tags.contains(&"street") {
        return true;
    }
    if is_not_place(word) {
        return false;
    }
    let letters: Vec<char> = word.chars().filter(|c| c.is_alphabetic()).collect();
    let capitalised = letters.len() >= 3
        && letters[0].is_uppercase()
        && letters[1..].iter().any(|c| c.is_lowercase());
    let caseless = letters
        .iter()
        .any(|c| !c.is_uppercase() && !c.is_lowercase());
    capitalised || caseless
}

/// A clinical word of [`GAZ`]'s `not_place` list (vital signs, lab tests, units, chart words).
fn is_not_place(word: &str) -> bool {
    let lower = word.to_lowercase();
    GAZ.not_place
        .contains(lower.trim_end_matches("'s").trim_end_matches('.'))
}

/// One labelled sentence for training: the text and its name/place byte ranges.
#[derive(Debug, Clone)]
pub struct TagExample {
    /// The sentence.
    pub text: String,
    /// `(start, end, class)` with class 1 = NAME, 2 = PLACE.
    pub spans: Vec<(usize, usize, usize)>,
}

/// Word labels of an example: a word takes the class of the span it overlaps.
pub fn word_labels(ex: &TagExample, ws: &[Word]) -> Vec<usize> {
    ws.iter()
        .map(|w| {
            ex.spans
                .iter()
                .find(|&&(s, e, _)| w.start < e && s < w.end)
                .map_or(0, |&(_, _, c)| c)
        })
        .map(|c| c)
        .collect()
}

/// Trains a tagger (AdaGrad-style Adam on sparse features, L2, a few epochs), keeping
/// features seen at least twice.
pub fn train(examples: &[TagExample], epochs: usize) -> Tagger {
    // Featurise once.
    let data: Vec<(Vec<Vec<String>>, Vec<usize>)> = examples
        .iter()
        .map(|ex| {
            let ws = words(&ex.text);
            let inf = infos(&ex.text, &ws);
            let feats = (0..ws.len())
                .map(|i| features(&ex.text, &ws, &inf, i))
                .collect();
            (feats, word_labels(ex, &ws))
        })
        .collect();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for (feats, _) in &data {
        for f in feats.iter().flatten() {
            *counts.entry(f.as_str()).or_default() += 1;
        }
    }
    let index: HashMap<String, usize> = counts
        .iter()
        .filter(|(_, &c)| c >= 2)
        .enumerate()
        .map(|(i, (f, _))| (f.to_string(), i))
        .collect();
    let nf = index.len();
    let mut w = vec![0f32; nf * 3];
    let mut g2 = vec![1e-6f32; nf * 3];
    let lr = 0.3f32;
    let l2 = 1e-5f32;
    // Class weights: tagged words are rarer than O.
    let cw = [1.0f32, 3.0, 3.0];
    let mut order: Vec<usize> = (0..data.len()).collect();
    let mut seed = 0x9E3779B97F4A7C15u64;
    for _ in 0..epochs {
        // Deterministic shuffle.
        for i in (1..order.len()).rev() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            order.swap(i, (seed % (i as u64 + 1)) as usize);
        }
        for &k in &order {
            let (feats, labels) = &data[k];
            for (fs, &y) in feats.iter().zip(labels) {
                let ids: Vec<usize> = fs.iter().filter_map(|f| index.get(f).copied()).collect();
                let mut z = [0f32; 3];
                for &id in &ids {
                    for c in 0..3 {
                        z[c] += w[id * 3 + c];
                    }
                }
                let m = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let e = z.map(|v| (v - m).exp());
                let s: f32 = e.iter().sum();
                for c in 0..3 {
                    let d = (e[c] / s - if c == y { 1.0 } else { 0.0 }) * cw[y];
                    for &id in &ids {
                        let j = id * 3 + c;
                        let g = d + l2 * w[j];
                        g2[j] += g * g;
                        w[j] -= lr * g / g2[j].sqrt();
                    }
                }
            }
        }
    }
    let _ = Adam::new(0);
    let weights = index
        .into_iter()
        .filter_map(|(f, i)| {
            let v = [w[i * 3], w[i * 3 + 1], w[i * 3 + 2]];
            (v.iter().any(|x| x.abs() >= 1e-3)).then(|| (f, v.map(|x| (x * 1e4).round() / 1e4)))
        })
        .collect();
    Tagger {
        weights,
        threshold: 0.5,
        gazetteer_sha256: gazetteer_sha256(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_inner_apostrophes_and_non_ascii_letters() {
        let t = "Ólafur O'Brien-Smith, 12 Østergade!";
        let ws: Vec<&str> = words(t).iter().map(|w| &t[w.start..w.end]).collect();
        assert_eq!(ws, ["Ólafur", "O'Brien-Smith", ",", "12", "Østergade", "!"]);
    }

    #[test]
    fn shapes_collapse_long_runs() {
        assert_eq!(shape("Mäkinen"), "Xxx");
        assert_eq!(shape("SW1A"), "XXdX");
        assert_eq!(shape("00100"), "dd");
    }

    #[test]
    fn a_small_tagger_learns_names_after_cues() {
        let mk = |t: &str, name: &str| {
            let s = t.find(name).unwrap();
            TagExample {
                text: t.into(),
                spans: vec![(s, s + name.len(), 1)],
            }
        };
        let mut ex = Vec::new();
        for n in [
            "Aino Virtanen",
            "Kovács Péter",
            "Joost de Vries",
            "Zeynep Şahin",
            "Ngozi Okafor",
            "Łukasz Wójcik",
        ] {
            ex.push(mk(&format!("Hi, my name is {n} and I have a cough."), n));
            ex.push(mk(&format!("This is {n}, my chest hurts."), n));
            ex.push(TagExample {
                text: "My Metformin dose is fine on Monday.".into(),
                spans: vec![],
            });
        }
        let t = train(&ex, 8);
        let spans = t.tag("Hi, my name is Eeva Mäkelä and I have a cough.");
        let got: Vec<&str> = spans
            .iter()
            .map(|s| &"Hi, my name is Eeva Mäkelä and I have a cough."[s.start..s.end])
            .collect();
        assert!(got.contains(&"Eeva Mäkelä"), "{got:?}");
    }
}

/// The entries of one gazetteer list (`first`, `sur`, `place`), sorted.
pub fn gazetteer_list(which: &str) -> Vec<String> {
    let g = &*GAZ;
    let set = match which {
        "first" => &g.first,
        "sur" => &g.surname,
        _ => &g.place,
    };
    let mut v: Vec<String> = set.iter().cloned().collect();
    v.sort();
    v
}
