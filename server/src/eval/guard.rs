//! `medserve guardrails eval`: each input detector measured three ways — rules only,
//! learned only, combined (what the server decides) — on the validation split of the
//! training sets and on the held-out sets (`guardrails/data/heldout/`, written by helpers
//! who had not read the rules, never used for training or tuning).

use std::collections::BTreeMap;
use std::path::Path;

use medserve_guardrails::fold::fold;
use medserve_guardrails::injection::{self, Source};
use medserve_guardrails::input::{self, Decision, Guard};
use medserve_guardrails::learned::data::{
    self, HarmfulExample, InjectionExample, PhiExample, RedFlagExample,
};
use medserve_guardrails::{harmful, phi, red_flags};
use serde::Serialize;

/// Counts of one binary detector on one set.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    /// Positives in the set.
    pub positives: usize,
    /// Positives detected.
    pub detected: usize,
    /// Negatives in the set.
    pub negatives: usize,
    /// Negatives flagged.
    pub false_alarms: usize,
}

impl Counts {
    fn add(&mut self, truth: bool, said: bool) {
        if truth {
            self.positives += 1;
            self.detected += usize::from(said);
        } else {
            self.negatives += 1;
            self.false_alarms += usize::from(said);
        }
    }

    /// Detected / positives.
    pub fn recall(&self) -> f64 {
        ratio(self.detected, self.positives)
    }

    /// False alarms / negatives.
    pub fn false_alarm_rate(&self) -> f64 {
        ratio(self.false_alarms, self.negatives)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Rules only, learned only, combined.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Layers {
    /// The rules alone.
    pub rules: Counts,
    /// The learned head alone.
    pub learned: Counts,
    /// What the server decides.
    pub combined: Counts,
}

/// PHI figures of one layer on one set.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PhiCounts {
    /// Names labelled.
    pub names: usize,
    /// Names fully covered by a redaction.
    pub names_removed: usize,
    /// Structured identifiers and places labelled (everything but names).
    pub other: usize,
    /// Of those, not fully covered: kept in the store.
    pub other_kept: BTreeMap<String, usize>,
    /// Sentences without PHI.
    pub clean_sentences: usize,
    /// Of those, sentences where something was redacted anyway.
    pub clean_redacted: usize,
    /// Identifiers kept (type, text, the message): listed for the validation split, and for
    /// the held-out set only when asked (`--list-heldout-kept`), which makes that round a
    /// development set.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<(String, String, String)>,
}

/// PHI layers.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PhiLayers {
    /// Rules alone.
    pub rules: PhiCounts,
    /// Rules and tagger (the server).
    pub combined: PhiCounts,
}

/// The whole report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Weights evaluated (SHA-256).
    pub weights_sha256: String,
    /// The held-out round asked for, and the file each detector was measured on.
    pub heldout_round: u32,
    /// Detector → held-out file (inside `heldout/`).
    pub heldout_files: BTreeMap<String, String>,
    /// Emergency: validation split.
    pub emergency_validation: Layers,
    /// Emergency: held-out set.
    pub emergency_heldout: Layers,
    /// Held-out emergencies detected by the server, per category: (total, detected).
    pub emergency_heldout_by_category: BTreeMap<String, (usize, usize)>,
    /// Validation emergencies detected by the server, per category: (total, detected).
    pub emergency_validation_by_category: BTreeMap<String, (usize, usize)>,
    /// Held-out messages per kind: (total, decided right by the server).
    pub emergency_heldout_by_kind: BTreeMap<String, (usize, usize)>,
    /// Harmful requests: validation split.
    pub harmful_validation: Layers,
    /// Harmful requests: held-out set.
    pub harmful_heldout: Layers,
    /// Held-out harmful requests refused per principle: (total, refused).
    pub harmful_heldout_by_category: BTreeMap<String, (usize, usize)>,
    /// PHI: validation split.
    pub phi_validation: PhiLayers,
    /// PHI: held-out set.
    pub phi_heldout: PhiLayers,
    /// Ordinary requests of the validation split: (n, answered with a fixed text instead of
    /// the model, flagged as injection, given a PHI verdict).
    pub benign_requests_validation: (usize, usize, usize, usize),
    /// Injection on the validation split of the training set, per source.
    pub injection_validation: BTreeMap<String, Layers>,
    /// Injection on the held-out set, per source.
    pub injection_heldout: BTreeMap<String, Layers>,
}

/// The folded texts (what the rules read) and the learned scores of a batch.
fn fold_and_score<'a>(
    learned: &medserve_guardrails::learned::Learned,
    texts: impl Iterator<Item = &'a str>,
) -> Result<
    (
        Vec<String>,
        Vec<medserve_guardrails::learned::MessageScores>,
    ),
    String,
> {
    let folded: Vec<String> = texts.map(|t| fold(t).text).collect();
    let refs: Vec<&str> = folded.iter().map(String::as_str).collect();
    let scores = learned.score(&refs)?;
    Ok((folded, scores))
}

/// The input stage's report on one user message.
fn report_on(guard: &Guard, text: &str) -> Result<input::InputReport, String> {
    medserve_guardrails::eval::report_on(guard, text).map_err(|e| e.to_string())
}

fn decide(guard: &Guard, text: &str) -> Result<Decision, String> {
    report_on(guard, text).map(|r| r.decision)
}

/// The held-out file of each detector for `round`, from `heldout/rounds.toml` (detector →
/// round → file): the set of that round, else of the latest earlier round, else the
/// earliest.
pub fn heldout_files(data: &Path, round: u32) -> Result<BTreeMap<String, String>, String> {
    let path = data.join("heldout/rounds.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let table: BTreeMap<String, BTreeMap<String, String>> =
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = BTreeMap::new();
    for detector in ["red_flags", "harmful", "phi", "injection"] {
        let rounds: BTreeMap<u32, &String> = table
            .get(detector)
            .ok_or_else(|| format!("{}: no [{detector}] table", path.display()))?
            .iter()
            .map(|(r, f)| {
                r.parse::<u32>()
                    .map(|r| (r, f))
                    .map_err(|_| format!("{}: round {r:?} is not a number", path.display()))
            })
            .collect::<Result<_, _>>()?;
        let file = rounds
            .range(..=round)
            .next_back()
            .or_else(|| rounds.iter().next())
            .map(|(_, f)| (*f).clone())
            .ok_or_else(|| format!("{}: [{detector}] lists no file", path.display()))?;
        out.insert(detector.to_string(), file);
    }
    Ok(out)
}

/// Runs every measurement; `data` holds `train/` and `heldout/` (the sets of `round`).
/// `list_heldout_kept`: also list the held-out PHI identifiers that were kept (in the JSON
/// report). Looking at them makes that round a development set: say so in `rounds.toml`.
pub fn run(
    guard: &Guard,
    data: &Path,
    round: u32,
    list_heldout_kept: bool,
) -> Result<Report, String> {
    let learned = guard
        .learned
        .as_ref()
        .ok_or("the guard has no learned detectors")?;
    let files = heldout_files(data, round)?;
    let heldout = |detector: &str| data.join("heldout").join(&files[detector]);
    let mut report = Report {
        weights_sha256: learned.sha256().to_string(),
        heldout_round: round,
        heldout_files: files.clone(),
        ..Default::default()
    };

    // Emergencies.
    let train: Vec<RedFlagExample> = data::read_dir_jsonl(&data.join("train"), "red_flags")?;
    let val: Vec<&RedFlagExample> = train
        .iter()
        .filter(|e| data::is_validation(&e.text))
        .collect();
    let held: Vec<RedFlagExample> = data::read_jsonl(&heldout("red_flags"))?;
    let emergency = |set: &[&RedFlagExample],
                     layers: &mut Layers,
                     by_category: &mut BTreeMap<String, (usize, usize)>,
                     by_kind: &mut BTreeMap<String, (usize, usize)>|
     -> Result<(), String> {
        for chunk in set.chunks(32) {
            let (texts, scores) = fold_and_score(learned, chunk.iter().map(|e| e.text.as_str()))?;
            for ((e, t), s) in chunk.iter().zip(&texts).zip(&scores) {
                let rules = red_flags::detect(t).is_emergency();
                let server = matches!(decide(guard, &e.text)?, Decision::Emergency { .. });
                layers.rules.add(e.emergency, rules);
                layers.learned.add(e.emergency, s.is_emergency);
                layers.combined.add(e.emergency, server);
                if e.emergency {
                    let c = by_category
                        .entry(e.category.clone().unwrap_or_default())
                        .or_default();
                    c.0 += 1;
                    c.1 += usize::from(server);
                }
                let k = by_kind
                    .entry(e.kind.clone().unwrap_or_default())
                    .or_default();
                k.0 += 1;
                k.1 += usize::from(server == e.emergency);
            }
        }
        Ok(())
    };
    let (mut v, mut vc, mut vk) = (Layers::default(), BTreeMap::new(), BTreeMap::new());
    emergency(&val, &mut v, &mut vc, &mut vk)?;
    report.emergency_validation = v;
    report.emergency_validation_by_category = vc;
    let held_refs: Vec<&RedFlagExample> = held.iter().collect();
    let (mut h, mut hc, mut hk) = (Layers::default(), BTreeMap::new(), BTreeMap::new());
    emergency(&held_refs, &mut h, &mut hc, &mut hk)?;
    report.emergency_heldout = h;
    report.emergency_heldout_by_category = hc;
    report.emergency_heldout_by_kind = hk;

    // Harmful requests.
    let train: Vec<HarmfulExample> = data::read_dir_jsonl(&data.join("train"), "harmful")?;
    let val: Vec<&HarmfulExample> = train
        .iter()
        .filter(|e| data::is_validation(&e.text))
        .collect();
    let held: Vec<HarmfulExample> = data::read_jsonl(&heldout("harmful"))?;
    let harm = |set: &[&HarmfulExample],
                layers: &mut Layers,
                mut per: Option<&mut BTreeMap<String, (usize, usize)>>|
     -> Result<(), String> {
        for chunk in set.chunks(32) {
            let (texts, scores) = fold_and_score(learned, chunk.iter().map(|e| e.text.as_str()))?;
            for ((e, t), s) in chunk.iter().zip(&texts).zip(&scores) {
                let rules = harmful::detect_harmful(t).is_some();
                let server = !matches!(decide(guard, &e.text)?, Decision::Proceed);
                layers.rules.add(e.harmful, rules);
                layers.learned.add(e.harmful, s.is_harmful);
                layers.combined.add(e.harmful, server);
                if let (Some(p), true) = (per.as_deref_mut(), e.harmful) {
                    let c = p
                        .entry(e.category.map_or(String::new(), |c| c.to_string()))
                        .or_default();
                    c.0 += 1;
                    c.1 += usize::from(server);
                }
            }
        }
        Ok(())
    };
    let mut v = Layers::default();
    harm(&val, &mut v, None)?;
    report.harmful_validation = v;
    let held_refs: Vec<&HarmfulExample> = held.iter().collect();
    let mut h = Layers::default();
    let mut per = BTreeMap::new();
    harm(&held_refs, &mut h, Some(&mut per))?;
    report.harmful_heldout = h;
    report.harmful_heldout_by_category = per;

    // PHI.
    let train: Vec<PhiExample> = data::read_dir_jsonl(&data.join("train"), "phi")?;
    let val: Vec<&PhiExample> = train
        .iter()
        .filter(|e| data::is_validation(&e.text))
        .collect();
    let held: Vec<PhiExample> = data::read_jsonl(&heldout("phi"))?;
    let tagger = medserve_guardrails::learned::phi_tagger().map(|t| t.as_ref());
    let phi_layers = |set: &[&PhiExample], list_kept: bool| -> PhiLayers {
        PhiLayers {
            rules: phi_counts(set, false, |t| phi::detect_phi_with(t, None)),
            combined: phi_counts(set, list_kept, |t| phi::detect_phi_with(t, tagger)),
        }
    };
    report.phi_validation = phi_layers(&val, true);
    report.phi_heldout = phi_layers(&held.iter().collect::<Vec<_>>(), list_heldout_kept);

    // Ordinary requests.
    let benign: Vec<data::BenignRequest> =
        data::read_dir_jsonl(&data.join("train"), "benign_requests")?;
    let mut b = (0usize, 0usize, 0usize, 0usize);
    for e in benign.iter().filter(|e| data::is_validation(&e.text)) {
        let r = report_on(guard, &e.text)?;
        b.0 += 1;
        b.1 += usize::from(!matches!(r.decision, Decision::Proceed));
        b.2 += usize::from(r.verdicts.iter().any(|v| v.class == "prompt_injection"));
        b.3 += usize::from(r.verdicts.iter().any(|v| v.class == "phi"));
    }
    report.benign_requests_validation = b;

    // Injection.
    let train: Vec<InjectionExample> = data::read_dir_jsonl(&data.join("train"), "injection")?;
    let val: Vec<&InjectionExample> = train
        .iter()
        .filter(|e| data::is_validation(&e.text))
        .collect();
    let held: Vec<InjectionExample> = data::read_jsonl(&heldout("injection"))?;
    report.injection_validation = injection_layers(guard, learned, &val)?;
    report.injection_heldout = injection_layers(guard, learned, &held.iter().collect::<Vec<_>>())?;
    Ok(report)
}

fn injection_layers(
    guard: &Guard,
    learned: &medserve_guardrails::learned::Learned,
    set: &[&InjectionExample],
) -> Result<BTreeMap<String, Layers>, String> {
    let mut out: BTreeMap<String, Layers> = BTreeMap::new();
    for e in set {
        let source = match e.source.as_str() {
            "user" => Source::User,
            "passage" => Source::Retrieved,
            _ => Source::Tool,
        };
        let rules = injection::decide(source, &injection::detect_injection(&e.text)).is_some();
        let (_, learned_hit) = learned.injection(&[&fold(&e.text).text])?[0];
        // The server: any injection verdict (refuse, strip or flag).
        let server = match source {
            Source::User => report_on(guard, &e.text)?
                .verdicts
                .iter()
                .any(|v| v.class == "prompt_injection"),
            _ => input::screen_data(guard, source, &e.text).1.is_some(),
        };
        let l = out.entry(e.source.clone()).or_default();
        l.rules.add(e.injection, rules);
        l.learned.add(e.injection, learned_hit);
        l.combined.add(e.injection, server);
    }
    Ok(out)
}

fn phi_counts(
    set: &[&PhiExample],
    list_kept: bool,
    detect: impl Fn(&str) -> Vec<phi::PhiSpan>,
) -> PhiCounts {
    let mut c = PhiCounts::default();
    for ex in set {
        let spans = detect(&ex.text);
        let covered = |s: usize, e: usize| {
            // Every non-space byte of the entity lies inside some span.
            ex.text[s..e]
                .char_indices()
                .filter(|(_, ch)| !ch.is_whitespace() && !ch.is_ascii_punctuation())
                .all(|(i, _)| spans.iter().any(|sp| sp.start <= s + i && s + i < sp.end))
        };
        let ranges = ex.ranges();
        if ranges.is_empty() {
            c.clean_sentences += 1;
            c.clean_redacted += usize::from(!spans.is_empty());
        }
        for (s, e, kind) in ranges {
            if list_kept && !covered(s, e) {
                c.kept
                    .push((kind.to_string(), ex.text[s..e].to_string(), ex.text.clone()));
            }
            if kind == "name" {
                c.names += 1;
                c.names_removed += usize::from(covered(s, e));
            } else {
                c.other += 1;
                if !covered(s, e) {
                    *c.other_kept.entry(kind.to_string()).or_default() += 1;
                }
            }
        }
    }
    c
}

fn row(name: &str, set: &str, l: &Layers) -> String {
    let cell = |c: &Counts| {
        format!(
            "{:.3} ({}/{}) · {:.3} ({}/{})",
            c.recall(),
            c.detected,
            c.positives,
            c.false_alarm_rate(),
            c.false_alarms,
            c.negatives
        )
    };
    format!(
        "| {name} | {set} | {} | {} | {} |",
        cell(&l.rules),
        cell(&l.learned),
        cell(&l.combined)
    )
}

fn phi_row(set: &str, p: &PhiLayers) -> String {
    let cell = |c: &PhiCounts| {
        let kept: usize = c.other_kept.values().sum();
        format!(
            "names {:.3} ({}/{}) · other kept {kept}/{} {:?} · clean redacted {}/{}",
            ratio(c.names_removed, c.names),
            c.names_removed,
            c.names,
            c.other,
            c.other_kept,
            c.clean_redacted,
            c.clean_sentences
        )
    };
    format!(
        "| PHI | {set} | {} | — | {} |",
        cell(&p.rules),
        cell(&p.combined)
    )
}

/// The report as Markdown tables.
pub fn table(r: &Report) -> String {
    let mut out = vec![
        format!("weights sha256 {}", r.weights_sha256),
        format!(
            "held-out round {}: {}",
            r.heldout_round,
            r.heldout_files
                .iter()
                .map(|(d, f)| format!("{d} {f}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        String::new(),
        "Each cell: recall (detected/positives) · false-alarm rate (flagged/negatives).".into(),
        String::new(),
        "| detector | set | rules only | learned only | combined (server) |".into(),
        "|---|---|---|---|---|".into(),
        row("emergency", "validation", &r.emergency_validation),
        row("emergency", "held-out", &r.emergency_heldout),
        row("harmful request", "validation", &r.harmful_validation),
        row("harmful request", "held-out", &r.harmful_heldout),
        phi_row("validation", &r.phi_validation),
        phi_row("held-out", &r.phi_heldout),
    ];
    for (set, map) in [
        ("validation", &r.injection_validation),
        ("held-out", &r.injection_heldout),
    ] {
        for (source, l) in map {
            out.push(row(&format!("injection ({source})"), set, l));
        }
    }
    let (n, blocked, inj, phi) = r.benign_requests_validation;
    out.push(String::new());
    out.push(format!(
        "Ordinary requests (validation, n = {n}): answered with a fixed text {blocked} ({:.3}), flagged as injection {inj} ({:.3}), PHI verdict {phi} ({:.3}).",
        ratio(blocked, n),
        ratio(inj, n),
        ratio(phi, n)
    ));
    out.push(String::new());
    out.push("| emergencies: category | validation n | detected | held-out n | detected |".into());
    out.push("|---|---|---|---|---|".into());
    for (c, (n, d)) in &r.emergency_heldout_by_category {
        let (vn, vd) = r
            .emergency_validation_by_category
            .get(c)
            .copied()
            .unwrap_or_default();
        out.push(format!(
            "| {c} | {vn} | {vd} ({:.3}) | {n} | {d} ({:.3}) |",
            ratio(vd, vn),
            ratio(*d, *n)
        ));
    }
    out.push(String::new());
    out.push("| held-out red-flag set: kind | n | decided right |".into());
    out.push("|---|---|---|".into());
    for (k, (n, d)) in &r.emergency_heldout_by_kind {
        out.push(format!("| {k} | {n} | {d} ({:.3}) |", ratio(*d, *n)));
    }
    out.push(String::new());
    out.push("| held-out harmful: principle | n | refused |".into());
    out.push("|---|---|---|".into());
    for (c, (n, d)) in &r.harmful_heldout_by_category {
        out.push(format!("| {c} | {n} | {d} ({:.3}) |", ratio(*d, *n)));
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_round_names_an_existing_file_for_every_detector() {
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../guardrails/data");
        let r3 = heldout_files(&data, 3).unwrap();
        assert_eq!(r3["red_flags"], "red_flags_3.jsonl");
        assert_eq!(r3["injection"], "injection.jsonl");
        // Round 1 had no harmful set left outside training: the earliest one is used.
        assert_eq!(heldout_files(&data, 1).unwrap()["harmful"], "harmful.jsonl");
        assert_eq!(
            heldout_files(&data, 2).unwrap()["red_flags"],
            "red_flags_2.jsonl"
        );
        for round in 1..=4 {
            for f in heldout_files(&data, round).unwrap().values() {
                assert!(data.join("heldout").join(f).is_file(), "{f}");
            }
        }
    }
}
