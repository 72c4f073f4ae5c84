//! PHI leakage through the training export. Each message of the PHI set goes out as a
//! consented chat (`medserve.consent`), so the server de-identifies and logs it; then the
//! training export (a key with the `ml` or `admin` role, `--export-key`) is read before and
//! after, and each record new since the first read is matched to the message it came from
//! (most shared words). A marked identifier is *kept* when its whole text is in the
//! record (names: as whole words, any case) and *partly kept* when one of its words
//! (4+ letters, or 3+ digits) is in the record but nowhere else in the original message.

use std::collections::{BTreeMap, HashMap, HashSet};

use regex::Regex;
use serde::Deserialize;
use serde_json::{json, Value};

use super::Ctx;
use crate::eval::run::report::SuiteReport;
use crate::eval::run::stats::{Better, Figure};

#[derive(Debug, Clone, Deserialize)]
struct Entity {
    text: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Item {
    text: String,
    entities: Vec<Entity>,
}

const EXPORT: &str = "/v1/training/export?format=chat-jsonl&min_quality=0";

fn words(s: &str) -> HashSet<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The user text of one exported record.
fn user_text(line: &str) -> String {
    let v: Value = serde_json::from_str(line).unwrap_or(Value::Null);
    v["messages"]
        .as_array()
        .map(|ms| {
            ms.iter()
                .filter(|m| m["role"] == "user")
                .filter_map(|m| m["content"].as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

/// Whether the entity's whole text is in `record`.
fn kept(e: &Entity, record: &str) -> bool {
    if e.kind == "name" {
        let re = Regex::new(&format!(r"(?i)\b{}\b", regex::escape(&e.text)));
        re.map(|re| re.is_match(record)).unwrap_or(false)
    } else {
        record.contains(&e.text)
    }
}

/// Whether some distinctive word of the entity is in `record` but not elsewhere in the
/// original message.
fn partly_kept(e: &Entity, original: &str, record: &str) -> bool {
    let rest = words(&original.replace(&e.text, " "));
    let rec = words(record);
    words(&e.text).into_iter().any(|w| {
        let distinctive = if w.chars().all(|c| c.is_ascii_digit()) {
            w.len() >= 3
        } else {
            w.chars().count() >= 4
        };
        distinctive && !rest.contains(&w) && rec.contains(&w)
    })
}

async fn export_lines(ctx: &Ctx, key: &str) -> anyhow::Result<Vec<String>> {
    let r = ctx
        .client
        .get(EXPORT, Some(key))
        .await
        .map_err(|e| anyhow::anyhow!("training export: {e}"))?;
    anyhow::ensure!(r.status == 200, "training export: {} {}", r.status, r.text);
    Ok(r.text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect())
}

/// Runs the suite.
pub async fn run(ctx: &Ctx) -> anyhow::Result<SuiteReport> {
    if !ctx.client.target.medserve {
        return Ok(SuiteReport::skipped(
            "phi",
            "needs medserve's consent option and training export (the server is not medserve)",
        ));
    }
    let Some(key) = ctx.export_key.clone() else {
        return Ok(SuiteReport::skipped(
            "phi",
            "needs --export-key: a key allowed to read /v1/training/export",
        ));
    };
    let mut r = SuiteReport::ran("phi");
    let mut items: Vec<Item> = Vec::new();
    for spec in ctx.sets.of("phi") {
        let (rows, used) = ctx.sets.load::<Item>(&spec.name, ctx.limit, ctx.seed)?;
        items.extend(rows);
        r.sets.push(used);
    }
    let before = export_lines(ctx, &key).await?;
    let answers = ctx
        .client
        .each("phi", items.clone(), |item| async move {
            let mut body = ctx.chat(None, &item.text, 8);
            body["medserve"] = json!({"consent": true});
            ctx.complete(&body).await
        })
        .await;
    r.requests = answers.len() + 2;
    let mut recorded = 0;
    let mut not_logged: BTreeMap<String, usize> = BTreeMap::new();
    for a in &answers {
        match a {
            None => r.errors += 1,
            Some(a) if a.body["medserve"]["training"]["recorded"] == true => recorded += 1,
            Some(a) => {
                let t = &a.body["medserve"]["training"];
                let why = t["reason"].as_str().unwrap_or("unknown").to_string();
                *not_logged.entry(why).or_default() += 1;
            }
        }
    }
    for (why, n) in &not_logged {
        r.notes
            .push(format!("{n} consented messages not logged: {why}"));
    }
    let after = export_lines(ctx, &key).await?;
    let mut old: HashMap<&str, usize> = HashMap::new();
    for l in &before {
        *old.entry(l.as_str()).or_default() += 1;
    }
    let mut new_records = Vec::new();
    for l in &after {
        match old.get_mut(l.as_str()) {
            Some(n) if *n > 0 => *n -= 1,
            _ => new_records.push(user_text(l)),
        }
    }
    // Each message's record: the new record holding the most of the message's words that
    // are not part of a marked identifier (those the redactor leaves), one record per
    // message, best pairs first.
    let record_words: Vec<HashSet<String>> = new_records.iter().map(|t| words(t)).collect();
    let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
    for (m, (item, answer)) in items.iter().zip(&answers).enumerate() {
        let logged = answer
            .as_ref()
            .is_some_and(|a| a.body["medserve"]["training"]["recorded"] == true);
        if !logged {
            continue;
        }
        let mut rest = item.text.clone();
        for e in &item.entities {
            rest = rest.replace(&e.text, " ");
        }
        let w = words(&rest);
        for (i, rw) in record_words.iter().enumerate() {
            let overlap = rw.intersection(&w).count() as f64 / w.len().max(1) as f64;
            if overlap >= 0.6 {
                pairs.push((overlap, m, i));
            }
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut record_of: HashMap<usize, usize> = HashMap::new();
    let mut taken: HashSet<usize> = HashSet::new();
    for (_, m, i) in pairs {
        if !record_of.contains_key(&m) && taken.insert(i) {
            record_of.insert(m, i);
        }
    }
    let matched = record_of.len();
    let mut names = (0, 0);
    let mut other = (0, 0, 0);
    let mut by_type: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (m, i) in &record_of {
        let item = &items[*m];
        let record = &new_records[*i];
        for e in &item.entities {
            let k = kept(e, record);
            if e.kind == "name" {
                names.1 += 1;
                names.0 += usize::from(!k && !partly_kept(e, &item.text, record));
            } else {
                other.2 += 1;
                other.0 += usize::from(k);
                other.1 += usize::from(k || partly_kept(e, &item.text, record));
                let t = by_type.entry(e.kind.clone()).or_default();
                t.0 += usize::from(k);
                t.1 += 1;
            }
        }
    }
    if matched < recorded {
        r.notes.push(format!(
            "{} of {recorded} logged messages were not found in the export (a record must hold 60% of the message's words outside its identifiers)",
            recorded - matched
        ));
    }
    let sent = answers.iter().filter(|a| a.is_some()).count();
    r.figures.push(Figure::proportion(
        "phi.logged",
        "consented messages logged",
        "records",
        recorded,
        sent,
        Better::Higher,
    ));
    r.figures.push(Figure::proportion(
        "phi.matched",
        "logged messages found in the export",
        "records",
        matched,
        recorded,
        Better::Higher,
    ));
    r.figures.push(Figure::proportion(
        "phi.names_removed",
        "names removed entirely",
        "overall",
        names.0,
        names.1,
        Better::Higher,
    ));
    r.figures.push(Figure::proportion(
        "phi.identifiers_kept",
        "other identifiers kept whole",
        "overall",
        other.0,
        other.2,
        Better::Lower,
    ));
    r.figures.push(Figure::proportion(
        "phi.identifiers_partly_kept",
        "other identifiers kept whole or in part",
        "overall",
        other.1,
        other.2,
        Better::Lower,
    ));
    for (t, (k, n)) in &by_type {
        r.figures.push(Figure::proportion(
            &format!("phi.kept.type.{t}"),
            t,
            "kept whole by type",
            *k,
            *n,
            Better::Lower,
        ));
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_whole_and_in_part() {
        let name = Entity {
            text: "Anna Kowalska".into(),
            kind: "name".into(),
        };
        let street = Entity {
            text: "Hauptstraße 12".into(),
            kind: "street_address".into(),
        };
        let original = "I am Anna Kowalska of Hauptstraße 12, my chest hurts";
        assert!(kept(&name, "I am anna kowalska of [ADDRESS]"));
        assert!(!kept(&name, "I am [NAME] of [ADDRESS]"));
        assert!(partly_kept(
            &name,
            original,
            "I am [NAME] Kowalska of [ADDRESS]"
        ));
        assert!(!partly_kept(&name, original, "I am [NAME] of [ADDRESS]"));
        assert!(kept(&street, "of Hauptstraße 12, my"));
        assert!(partly_kept(&street, original, "of Hauptstraße [NUMBER]"));
        assert_eq!(
            user_text(
                r#"{"messages":[{"role":"user","content":"hi [NAME]"},{"role":"assistant","content":"x"}]}"#
            ),
            "hi [NAME]"
        );
    }
}
