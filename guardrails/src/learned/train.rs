//! `medserve guardrails train`: fits every learned detector from the labelled sets and
//! chooses their thresholds on the validation split.
//!
//! Sets (all JSONL with provenance, `guardrails/data/train/`): `red_flags*.jsonl`,
//! `emergency_head*.jsonl` (red-flag messages for the emergency head alone: not negatives
//! of the harmful and injection heads), `harmful*.jsonl`, `phi*.jsonl`; plus, when given,
//! MedSafetyBench's training split (harmful), MedQuAD questions (benign, not emergencies)
//! and `eval-jsonl` exports of the care workflow (a nurse's urgency is the label of the
//! conversation's last user turn).
//! One text in five (by hash) is held back as validation; `guardrails/data/heldout/` is
//! never read here.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Value};

use super::data::{self, HarmfulExample, PhiExample, RedFlagExample};
use super::head::{self, Head, MlpOptions};
use super::tagger::{self, TagExample, Tagger};
use super::{Encoder, Learned, LoadedWeights, Weights, FORMAT};
use crate::red_flags::Category;

/// What to train on.
#[derive(Debug, Clone)]
pub struct TrainInputs {
    /// `guardrails/data` (its `train/` folder is read).
    pub data_dir: PathBuf,
    /// MedSafetyBench folder (`train_gpt4_category_N.csv`).
    pub medsafetybench: Option<PathBuf>,
    /// MedQuAD folder, and how many questions to take.
    pub medquad: Option<(PathBuf, usize)>,
    /// `eval-jsonl` exports from `medserve training export`.
    pub eval_exports: Vec<PathBuf>,
    /// The guideline corpus (its paragraphs are negatives for the injection head).
    pub corpus: Option<PathBuf>,
}

/// Validation recall the emergency threshold is chosen for. The validation positives are
/// written as near misses of the negatives, so they are harder than real messages: on the
/// two earlier held-out rounds (now development sets) 0.97 here gave held-out recall
/// 0.98-0.995 at 0.10-0.185 false alarms, 0.92 gave 0.974-0.975 at 0.068-0.100.
pub const EMERGENCY_RECALL: f64 = 0.92;
/// Largest validation false-alarm rate of the injection head: a false alarm strips a
/// vetted passage or refuses an honest user, so this head is bounded by false alarms
/// rather than tuned for recall (the rules stay the precise layer).
pub const INJECTION_FALSE_ALARMS: f64 = 0.03;
/// Largest validation false-alarm rate of the harmful-request head on benign requests
/// (the bound for refusing benign consumer questions).
pub const HARMFUL_FALSE_ALARMS: f64 = 0.05;
/// Validation recall the harmful-request threshold is chosen for (0.91 here gave 0.90 on
/// the second held-out round, a development set now).
pub const HARMFUL_RECALL: f64 = 0.91;
/// Validation recall of name and place words the tagger threshold is chosen for.
pub const PHI_RECALL: f64 = 0.97;

/// A labelled text for a head.
struct Item {
    text: String,
    class: usize,
    /// Training weight: hard negatives (written to look like the positives) count more.
    weight: f32,
}

/// Weight of a hard negative of the red-flag sets (negated, historical, idioms, mild...)
/// against an easy one (a MedQuAD question).
const HARD_NEGATIVE_WEIGHT: f32 = 3.0;

/// Trains all detectors; returns the weights (with provenance and validation figures).
pub fn train(
    encoder: Arc<dyn Encoder>,
    inputs: &TrainInputs,
    log: &mut dyn FnMut(&str),
) -> Result<Weights, String> {
    let train_dir = inputs.data_dir.join("train");
    let red: Vec<RedFlagExample> = data::read_dir_jsonl(&train_dir, "red_flags")?;
    let red_emergency_only: Vec<RedFlagExample> =
        data::read_dir_jsonl(&train_dir, "emergency_head")?;
    let harm: Vec<HarmfulExample> = data::read_dir_jsonl(&train_dir, "harmful")?;
    let phi: Vec<PhiExample> = data::read_dir_jsonl(&train_dir, "phi")?;
    let inj: Vec<data::InjectionExample> = data::read_dir_jsonl(&train_dir, "injection")?;
    let benign: Vec<data::BenignRequest> = data::read_dir_jsonl(&train_dir, "benign_requests")?;
    let paragraphs = match &inputs.corpus {
        Some(d) => data::corpus_paragraphs(d)?,
        None => Vec::new(),
    };
    let msb = match &inputs.medsafetybench {
        Some(d) => data::medsafetybench(d)?,
        None => Vec::new(),
    };
    let medquad = match &inputs.medquad {
        Some((d, n)) => data::medquad_questions(d, *n)?,
        None => Vec::new(),
    };
    let mut nurse = Vec::new();
    for p in &inputs.eval_exports {
        nurse.extend(eval_export_examples(p)?);
    }
    log(&format!(
        "sets: {} red-flag messages (+{} for the emergency head only), {} nurse-labelled, {} harmful-set requests, {} MedSafetyBench, {} MedQuAD questions, {} PHI sentences",
        red.len(), red_emergency_only.len(), nurse.len(), harm.len(), msb.len(), medquad.len(), phi.len()
    ));

    // Emergency head: none + categories.
    let mut e_classes = vec!["none".to_string()];
    e_classes.extend(Category::ALL.iter().map(|c| c.as_str().to_string()));
    let class_of = |c: &Option<String>| -> usize {
        c.as_deref()
            .and_then(|n| e_classes.iter().position(|x| x == n))
            .unwrap_or(0)
    };
    let mut e_items: Vec<Item> = Vec::new();
    // Windows of long messages whose emergency is marked, labelled one by one (training only).
    let mut e_windows: Vec<Item> = Vec::new();
    for r in red.iter().chain(&red_emergency_only).chain(&nurse) {
        let class = if r.emergency {
            class_of(&r.category).max(1)
        } else {
            0
        };
        // An emergency without a known category takes the first category slot.
        let weight = if class == 0 {
            HARD_NEGATIVE_WEIGHT
        } else {
            1.0
        };
        e_items.push(Item {
            text: r.text.clone(),
            class,
            weight,
        });
        if !r.spans.is_empty() && !data::is_validation(&r.text) {
            e_windows.extend(window_items(&r.text, &r.spans, class));
        }
    }
    for t in harm
        .iter()
        .map(|h| &h.text)
        .chain(msb.iter().map(|m| &m.1))
        .chain(&medquad)
        .chain(benign.iter().map(|b| &b.text))
    {
        e_items.push(Item {
            text: t.clone(),
            class: 0,
            weight: 1.0,
        });
    }

    // Harmful head: none + principles.
    let h_classes: Vec<String> = std::iter::once("none".to_string())
        .chain((1..=9).map(|n| n.to_string()))
        .collect();
    let mut h_items: Vec<Item> = Vec::new();
    for h in &harm {
        let class = if h.harmful {
            usize::from(h.category.unwrap_or(1).clamp(1, 9))
        } else {
            0
        };
        let weight = if class == 0 {
            HARD_NEGATIVE_WEIGHT
        } else {
            1.0
        };
        h_items.push(Item {
            text: h.text.clone(),
            class,
            weight,
        });
    }
    for (n, t) in &msb {
        h_items.push(Item {
            text: t.clone(),
            class: usize::from(*n),
            weight: 1.0,
        });
    }
    for t in red.iter().map(|r| &r.text).chain(&medquad) {
        h_items.push(Item {
            text: t.clone(),
            class: 0,
            weight: 1.0,
        });
    }
    for b in &benign {
        h_items.push(Item {
            text: b.text.clone(),
            class: 0,
            weight: HARD_NEGATIVE_WEIGHT,
        });
    }

    // Injection head: instructions aimed at the assistant vs everything else the server
    // reads (its own corpus, honest questions, emergencies, harmful requests).
    let i_classes = vec!["none".to_string(), "injection".to_string()];
    let mut i_items: Vec<Item> = inj
        .iter()
        .map(|e| Item {
            text: e.text.clone(),
            class: usize::from(e.injection),
            weight: if e.injection {
                1.0
            } else {
                HARD_NEGATIVE_WEIGHT
            },
        })
        .collect();
    for b in &benign {
        i_items.push(Item {
            text: b.text.clone(),
            class: 0,
            weight: HARD_NEGATIVE_WEIGHT,
        });
    }
    for t in paragraphs
        .iter()
        .chain(medquad.iter().take(500))
        .chain(red.iter().map(|r| &r.text))
        .chain(harm.iter().map(|h| &h.text))
    {
        i_items.push(Item {
            text: t.clone(),
            class: 0,
            weight: 1.0,
        });
    }

    // Embed every distinct text once.
    let mut texts: Vec<&str> = e_items
        .iter()
        .chain(&e_windows)
        .chain(&h_items)
        .chain(&i_items)
        .map(|i| i.text.as_str())
        .collect();
    texts.sort_unstable();
    texts.dedup();
    log(&format!("embedding {} texts", texts.len()));
    let vectors = encoder.encode(&texts)?;
    let dim = vectors.first().map_or(0, Vec::len);
    let lookup = |t: &str| -> &Vec<f32> {
        let i = texts.binary_search(&t).expect("embedded");
        &vectors[i]
    };

    let fit = |items: &[Item],
               train_only: &[Item],
               classes: &[String],
               input: &dyn Fn(&[f32], &str) -> Vec<f32>,
               log: &mut dyn FnMut(&str)|
     -> Head {
        let train: Vec<&Item> = items
            .iter()
            .filter(|i| !data::is_validation(&i.text))
            .chain(train_only)
            .collect();
        let xs: Vec<Vec<f32>> = train
            .iter()
            .map(|i| input(lookup(&i.text), &i.text))
            .collect();
        let ys: Vec<usize> = train.iter().map(|i| i.class).collect();
        let ws: Vec<f32> = train.iter().map(|i| i.weight).collect();
        let opt = MlpOptions::default();
        log(&format!(
            "training a {}-class head ({} hidden units) on {} texts",
            classes.len(),
            opt.hidden,
            xs.len()
        ));
        head::train_mlp(&xs, &ys, &ws, classes.to_vec(), opt)
    };
    if !e_windows.is_empty() {
        log(&format!(
            "{} windows of marked long messages for the emergency head",
            e_windows.len()
        ));
    }
    let mut emergency = fit(
        &e_items,
        &e_windows,
        &e_classes,
        &super::emergency_input,
        log,
    );
    let mut harmful = fit(&h_items, &[], &h_classes, &|v, _| v.to_vec(), log);
    let mut injection = fit(&i_items, &[], &i_classes, &|v, _| v.to_vec(), log);

    // PHI tagger.
    let (phi_train, phi_val): (Vec<&PhiExample>, Vec<&PhiExample>) =
        phi.iter().partition(|p| !data::is_validation(&p.text));
    let mut tag_train: Vec<TagExample> = phi_train.iter().map(|p| p.tag_example()).collect();
    tag_train.extend(augment(&phi_train, 3));
    // Ordinary requests: capitalised verbs and medical words that are not names.
    tag_train.extend(
        benign
            .iter()
            .filter(|b| !data::is_validation(&b.text))
            .map(|b| TagExample {
                text: b.text.clone(),
                spans: Vec::new(),
            }),
    );
    log(&format!("training the PHI tagger on {} sentences ({} written, the rest with names and places swapped)", tag_train.len(), phi_train.len()));
    let mut phi_tagger = tagger::train(&tag_train, 6);
    let phi_val_ex: Vec<TagExample> = phi_val.iter().map(|p| p.tag_example()).collect();
    phi_tagger.threshold = tagger_threshold(&phi_tagger, &phi_val_ex);

    // Thresholds on validation, with the serving path (windows, max).
    let probe = Weights {
        format: FORMAT,
        encoder: encoder.id().to_string(),
        dim,
        emergency: emergency.clone(),
        harmful: harmful.clone(),
        injection: injection.clone(),
        phi: phi_tagger.clone(),
        provenance: Value::Null,
    };
    let learned = Learned {
        encoder: encoder.clone(),
        weights: LoadedWeights {
            weights: probe,
            sha256: String::new(),
        },
    };
    let val = |items: &[Item]| -> Vec<(String, usize)> {
        items
            .iter()
            .filter(|i| data::is_validation(&i.text))
            .map(|i| (i.text.clone(), i.class))
            .collect()
    };
    let e_val = val(&e_items);
    let h_val = val(&h_items);
    let e_scores = score_texts(&learned, &e_val, |s| s.emergency)?;
    let h_scores = score_texts(&learned, &h_val, |s| s.harmful)?;
    emergency.threshold = head::threshold_for_recall(&positives(&e_scores), EMERGENCY_RECALL);
    // Recall first, unless it costs more than HARMFUL_FALSE_ALARMS of the benign requests
    // (refusing honest questions on sensitive topics is a harm too): the stricter wins.
    let h_negatives: Vec<f32> = h_scores
        .iter()
        .filter(|(_, y)| !*y)
        .map(|(s, _)| *s)
        .collect();
    harmful.threshold = head::threshold_for_recall(&positives(&h_scores), HARMFUL_RECALL).max(
        head::threshold_for_false_alarms(&h_negatives, HARMFUL_FALSE_ALARMS),
    );
    let i_val = val(&i_items);
    let i_texts: Vec<&str> = i_val.iter().map(|(t, _)| t.as_str()).collect();
    let i_scores: Vec<(f32, bool)> = learned
        .injection(&i_texts)?
        .into_iter()
        .zip(&i_val)
        .map(|((s, _), (_, c))| (s, *c != 0))
        .collect();
    let negatives: Vec<f32> = i_scores
        .iter()
        .filter(|(_, y)| !*y)
        .map(|(s, _)| *s)
        .collect();
    injection.threshold = head::threshold_for_false_alarms(&negatives, INJECTION_FALSE_ALARMS);
    let validation = json!({
        "emergency": binary_figures(&e_scores, emergency.threshold),
        "harmful": binary_figures(&h_scores, harmful.threshold),
        "injection": binary_figures(&i_scores, injection.threshold),
        "phi": tagger_figures(&phi_tagger, &phi_val_ex),
    });
    log(&format!("validation: {validation}"));

    let mut sets = json!({
        "red_flags": red.len(), "nurse_labelled": nurse.len(), "harmful": harm.len(),
        "medsafetybench_train": msb.len(), "medquad_questions": medquad.len(), "phi": phi.len(),
        "injection": inj.len(), "corpus_paragraphs": paragraphs.len(), "benign_requests": benign.len(),
    });
    // Named only when present, so weights trained without such sets keep their bytes.
    if !red_emergency_only.is_empty() {
        sets["emergency_head_only"] = json!(red_emergency_only.len());
    }
    Ok(Weights {
        format: FORMAT,
        encoder: encoder.id().to_string(),
        dim,
        emergency,
        harmful,
        injection,
        phi: phi_tagger,
        provenance: json!({
            "sets": sets,
            "split": "validation = FNV-1a(lower(trim(text))) % 5 == 0",
            "recall_targets": {"emergency": EMERGENCY_RECALL, "harmful": HARMFUL_RECALL, "injection_max_false_alarms": INJECTION_FALSE_ALARMS, "harmful_max_false_alarms": HARMFUL_FALSE_ALARMS, "phi": PHI_RECALL},
            "validation": validation,
        }),
    })
}

/// The windows the server reads of a long message (`super::windows`), each labelled by the
/// marked parts it holds: `class` if it holds one whole or 40 bytes of one, else none. A
/// message read whole gives nothing (its own item has its label).
fn window_items(text: &str, spans: &[String], class: usize) -> Vec<Item> {
    let pieces = super::windows(text);
    if pieces.len() < 2 {
        return Vec::new();
    }
    let marked: Vec<(usize, usize)> = spans
        .iter()
        .filter_map(|s| text.find(s.as_str()).map(|at| (at, at + s.len())))
        .collect();
    pieces
        .into_iter()
        .map(|w| {
            // `windows` returns slices of `text`.
            let start = w.as_ptr() as usize - text.as_ptr() as usize;
            let end = start + w.len();
            let holds = marked.iter().any(|&(s, e)| {
                let overlap = end.min(e).saturating_sub(start.max(s));
                overlap >= (e - s).min(40)
            });
            Item {
                text: w.to_string(),
                class: if holds { class } else { 0 },
                weight: 1.0,
            }
        })
        .collect()
}

fn score_texts(
    learned: &Learned,
    items: &[(String, usize)],
    pick: impl Fn(&super::MessageScores) -> f32,
) -> Result<Vec<(f32, bool)>, String> {
    let mut out = Vec::with_capacity(items.len());
    for chunk in items.chunks(64) {
        let texts: Vec<&str> = chunk.iter().map(|(t, _)| t.as_str()).collect();
        let s = learned.score(&texts)?;
        out.extend(s.iter().zip(chunk).map(|(s, (_, c))| (pick(s), *c != 0)));
    }
    Ok(out)
}

fn positives(scores: &[(f32, bool)]) -> Vec<f32> {
    scores.iter().filter(|(_, y)| *y).map(|(s, _)| *s).collect()
}

/// Recall and false-positive rate at a threshold, with counts.
pub fn binary_figures(scores: &[(f32, bool)], threshold: f32) -> Value {
    let pos = scores.iter().filter(|(_, y)| *y).count();
    let neg = scores.len() - pos;
    let tp = scores.iter().filter(|(s, y)| *y && *s >= threshold).count();
    let fp = scores
        .iter()
        .filter(|(s, y)| !*y && *s >= threshold)
        .count();
    json!({
        "threshold": threshold,
        "positives": pos, "detected": tp, "recall": ratio(tp, pos),
        "negatives": neg, "false_alarms": fp, "false_alarm_rate": ratio(fp, neg),
    })
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        (a as f64 / b as f64 * 1000.0).round() / 1000.0
    }
}

/// Highest threshold keeping [`PHI_RECALL`] of labelled words on `val`.
fn tagger_threshold(t: &Tagger, val: &[TagExample]) -> f32 {
    let mut pos = Vec::new();
    for ex in val {
        let ws = tagger::words(&ex.text);
        let labels = tagger::word_labels(ex, &ws);
        for (p, y) in t.word_probs(&ex.text, &ws).iter().zip(labels) {
            if y != 0 {
                pos.push(1.0 - p[0]);
            }
        }
    }
    head::threshold_for_recall(&pos, PHI_RECALL).min(0.5)
}

/// Word-level recall and precision of the tagger on `val`.
pub fn tagger_figures(t: &Tagger, val: &[TagExample]) -> Value {
    let (mut pos, mut tp, mut fp) = (0usize, 0usize, 0usize);
    for ex in val {
        let ws = tagger::words(&ex.text);
        let labels = tagger::word_labels(ex, &ws);
        for (p, y) in t.word_probs(&ex.text, &ws).iter().zip(labels) {
            let hit = 1.0 - p[0] >= t.threshold;
            pos += usize::from(y != 0);
            tp += usize::from(y != 0 && hit);
            fp += usize::from(y == 0 && hit);
        }
    }
    json!({"threshold": t.threshold, "words": pos, "found": tp, "recall": ratio(tp, pos), "precision": ratio(tp, tp + fp)})
}

/// Copies of written sentences with every name and place replaced by others from the
/// gazetteers (deterministic), so the tagger learns the contexts rather than the few names.
fn augment(examples: &[&PhiExample], copies: usize) -> Vec<TagExample> {
    let firsts = tagger::gazetteer_list("first");
    let surs = tagger::gazetteer_list("sur");
    let places = tagger::gazetteer_list("place");
    let mut seed = 0x2545F4914F6CDD1Du64;
    let mut next = |n: usize| -> usize {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n.max(1) as u64) as usize
    };
    let cap = |s: &str| -> String {
        let mut c = s.chars();
        c.next()
            .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for ex in examples {
        for _ in 0..copies {
            let mut ranges = ex.ranges();
            ranges.sort_by_key(|r| r.0);
            let mut text = String::new();
            let mut spans = Vec::new();
            let mut last = 0;
            let lower = next(8) == 0;
            for (s, e, kind) in ranges {
                if s < last {
                    continue;
                }
                text.push_str(&ex.text[last..s]);
                let original = &ex.text[s..e];
                let words = original.split_whitespace().count();
                let replacement = match kind {
                    "name" if words >= 2 => {
                        format!("{} {}", firsts[next(firsts.len())], surs[next(surs.len())])
                    }
                    "name" if next(2) == 0 => firsts[next(firsts.len())].to_string(),
                    "name" => surs[next(surs.len())].to_string(),
                    "city" => places[next(places.len())].to_string(),
                    _ => original.to_string(),
                };
                let replacement = if matches!(kind, "name" | "city") && !lower {
                    replacement
                        .split(' ')
                        .map(cap)
                        .collect::<Vec<_>>()
                        .join(" ")
                } else {
                    replacement
                };
                let class = match kind {
                    "name" => Some(1),
                    "street_address" | "postcode" | "city" => Some(2),
                    _ => None,
                };
                let at = text.len();
                text.push_str(&replacement);
                if let Some(c) = class {
                    spans.push((at, text.len(), c));
                }
                last = e;
            }
            text.push_str(&ex.text[last..]);
            out.push(TagExample { text, spans });
        }
    }
    out
}

/// Examples from an `eval-jsonl` export: the last user message of each nurse-closed
/// assessment, an emergency when the nurse's urgency is `emergency`.
pub fn eval_export_examples(path: &Path) -> Result<Vec<RedFlagExample>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let v: Value =
            serde_json::from_str(line).map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))?;
        let urgency = v["label"]["urgency"].as_str().ok_or_else(|| {
            format!(
                "{}:{}: no label.urgency (not an eval-jsonl export?)",
                path.display(),
                i + 1
            )
        })?;
        let Some(user) = v["messages"]
            .as_array()
            .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
            .and_then(|m| m["content"].as_str())
        else {
            continue;
        };
        let emergency = urgency == "emergency";
        let category = v["report"]["red_flags"]
            .as_array()
            .and_then(|a| a.first())
            .and_then(Value::as_str)
            .filter(|c| Category::from_name(c).is_some())
            .map(str::to_string);
        out.push(RedFlagExample {
            text: user.to_string(),
            emergency,
            category: if emergency { category } else { None },
            kind: Some("nurse_labelled".into()),
            spans: Vec::new(),
        });
    }
    Ok(out)
}

/// Writes weights as pretty JSON (stable field order) and returns their SHA-256.
pub fn write_weights(weights: &Weights, path: &Path) -> Result<String, String> {
    use sha2::{Digest, Sha256};
    let mut v = serde_json::to_value(weights).map_err(|e| e.to_string())?;
    // Sort the tagger's features so the file is reproducible.
    if let Some(map) = v["phi"]["weights"].as_object_mut() {
        let sorted: std::collections::BTreeMap<String, Value> =
            std::mem::take(map).into_iter().collect();
        *map = sorted.into_iter().collect();
    }
    let bytes = serde_json::to_vec(&v).map_err(|e| e.to_string())?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(path, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_of_a_marked_message_are_labelled_by_what_they_hold() {
        let filler = "We moved house last spring and the boxes are still everywhere. ";
        let span =
            "Right now my chest is crushing and my left arm has gone numb for forty minutes.";
        let text = format!("{}{span} {}", filler.repeat(8), filler.repeat(8));
        let items = window_items(&text, &[span.to_string()], 3);
        assert!(items.len() >= 3, "{}", items.len());
        let positive: Vec<&Item> = items.iter().filter(|i| i.class == 3).collect();
        assert!(!positive.is_empty() && positive.len() <= 2);
        assert!(positive
            .iter()
            .all(|i| i.text.contains("crushing") || i.text.contains("numb for forty minutes")));
        assert!(items
            .iter()
            .filter(|i| i.class == 0)
            .all(|i| !i.text.contains("crushing")));
        // A message the server reads whole gives no windows; an unmarked one only negatives.
        assert!(window_items(span, &[span.to_string()], 3).is_empty());
        assert!(window_items(&text, &[], 0).iter().all(|i| i.class == 0));
    }
}
