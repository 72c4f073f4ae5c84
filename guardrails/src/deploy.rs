//! The deployment policy: what each detector's findings lead to, as data
//! (`--guardrails-policy FILE`, TOML; the shipped default is `guardrails/policy.toml`).
//!
//! ```toml
//! [emergency]
//! learned = true                 # the learned head decides beside the rules
//! # threshold = 0.3              # overrides the trained threshold for every category
//! [emergency.actions]            # per category: "emergency" (fixed answer) or "flag"
//! self_harm = "emergency"
//! rules_veto_below = 0.02        # a rule finding needs at least this learned score
//! veto_exempt = ["self_harm"]    # categories whose rule findings are never vetoed
//! [emergency.thresholds]         # per-category thresholds of the learned head
//! self_harm = 0.2
//!
//! [harmful]
//! learned = true
//! [harmful.actions]              # per principle "1".."9": "refuse" or "flag"
//! "5" = "refuse"
//!
//! [injection]                    # per source: "refuse", "strip" or "flag"
//! learned = true
//! learned_action = "flag"         # a finding of the learned head alone
//! user = "refuse"
//! passage = "strip"
//! tool = "strip"
//!
//! [phi]
//! tagger = true                  # the learned name/place tagger beside the rules
//! ```
//! Unknown keys, categories, principles or actions are start-up errors naming them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::harmful::HarmCategory;
use crate::injection::{InjectionPolicy, Source};
use crate::red_flags::Category;

/// The shipped default policy (also the file `guardrails/policy.toml`).
pub const DEFAULT_POLICY: &str = include_str!("../policy.toml");

/// What an emergency finding leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmergencyAction {
    /// The fixed emergency answer; no model runs.
    Emergency,
    /// A verdict only; the request proceeds.
    Flag,
}

/// What a harmful-request finding leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HarmAction {
    /// A fixed refusal pointing to legitimate help.
    Refuse,
    /// A verdict only.
    Flag,
}

/// Emergency settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmergencyPolicy {
    /// Use the learned head.
    #[serde(default = "yes")]
    pub learned: bool,
    /// Overrides the trained threshold.
    #[serde(default)]
    pub threshold: Option<f32>,
    /// Per-category action (default `emergency`).
    #[serde(default)]
    pub actions: BTreeMap<String, EmergencyAction>,
    /// Per-category learned thresholds.
    #[serde(default)]
    pub thresholds: BTreeMap<String, f32>,
    /// A finding of the text rules stands only when the learned head's emergency score is
    /// at least this; below it the finding is a `flag` verdict (0: the rules decide alone).
    /// Vital signs are never vetoed.
    #[serde(default)]
    pub rules_veto_below: f32,
    /// Categories whose rule findings are never vetoed.
    #[serde(default)]
    pub veto_exempt: Vec<String>,
}

/// Harmful-request settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HarmfulPolicy {
    /// Use the learned head.
    #[serde(default = "yes")]
    pub learned: bool,
    /// Overrides the trained threshold.
    #[serde(default)]
    pub threshold: Option<f32>,
    /// Per-principle action (default `refuse`).
    #[serde(default)]
    pub actions: BTreeMap<String, HarmAction>,
}

/// Injection settings per source.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InjectionSettings {
    /// Use the learned head beside the rules.
    #[serde(default = "yes")]
    pub learned: bool,
    /// What a finding of the learned head alone leads to, in any source (default `flag`:
    /// its precision on ordinary imperative requests is too low to refuse or strip).
    #[serde(default = "flag")]
    pub learned_action: InjectionPolicy,
    /// User turns.
    pub user: InjectionPolicy,
    /// Retrieved passages.
    pub passage: InjectionPolicy,
    /// Tool results.
    pub tool: InjectionPolicy,
}

/// PHI settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhiPolicy {
    /// Use the learned tagger beside the rules.
    #[serde(default = "yes")]
    pub tagger: bool,
}

fn yes() -> bool {
    true
}

fn flag() -> InjectionPolicy {
    InjectionPolicy::Flag
}

/// A validated deployment policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardPolicy {
    /// Emergencies.
    pub emergency: EmergencyPolicy,
    /// Harmful requests.
    pub harmful: HarmfulPolicy,
    /// Prompt injection.
    pub injection: InjectionSettings,
    /// PHI.
    pub phi: PhiPolicy,
}

/// A policy with the SHA-256 of its text.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedPolicy {
    /// The policy.
    pub policy: GuardPolicy,
    /// SHA-256 of the file.
    pub sha256: String,
}

impl Default for LoadedPolicy {
    fn default() -> Self {
        LoadedPolicy::parse(DEFAULT_POLICY).expect("the shipped policy is valid")
    }
}

impl LoadedPolicy {
    /// Parses and validates a policy file's text.
    pub fn parse(text: &str) -> Result<Self, String> {
        use sha2::{Digest, Sha256};
        let policy: GuardPolicy = toml::from_str(text).map_err(|e| e.to_string())?;
        let e = &policy.emergency;
        for name in e
            .actions
            .keys()
            .chain(e.thresholds.keys())
            .chain(&e.veto_exempt)
        {
            if Category::from_name(name).is_none() {
                return Err(format!("emergency: unknown category {name:?}"));
            }
        }
        let in_range = |t: &f32| (0.0..=1.0).contains(t);
        if !e
            .threshold
            .iter()
            .chain(e.thresholds.values())
            .chain(std::iter::once(&e.rules_veto_below))
            .all(in_range)
            || !policy.harmful.threshold.iter().all(in_range)
        {
            return Err("thresholds must be between 0 and 1".into());
        }
        for p in policy.harmful.actions.keys() {
            if p.parse::<u8>()
                .ok()
                .and_then(HarmCategory::from_principle)
                .is_none()
            {
                return Err(format!(
                    "harmful: unknown principle {p:?} (use \"1\" to \"9\")"
                ));
            }
        }
        Ok(LoadedPolicy {
            policy,
            sha256: hex::encode(Sha256::digest(text.as_bytes())),
        })
    }

    /// Reads a policy file; errors name it.
    pub fn load(path: &std::path::Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("guardrails policy {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("guardrails policy {}: {e}", path.display()))
    }
}

impl GuardPolicy {
    /// The action for an emergency category.
    pub fn emergency_action(&self, c: Category) -> EmergencyAction {
        self.emergency
            .actions
            .get(c.as_str())
            .copied()
            .unwrap_or(EmergencyAction::Emergency)
    }

    /// The learned threshold for a category, given the trained one.
    /// Whether a text-rule finding of category `c` gives way to a learned emergency score
    /// of `score` (below `rules_veto_below`, the category not exempt, the head in use).
    pub fn rules_vetoed(&self, c: Category, score: f32) -> bool {
        let e = &self.emergency;
        e.learned && score < e.rules_veto_below && !e.veto_exempt.iter().any(|x| x == c.as_str())
    }

    /// The learned threshold for category `c` (policy, else the trained one).
    pub fn emergency_threshold(&self, c: Category, trained: f32) -> f32 {
        self.emergency
            .thresholds
            .get(c.as_str())
            .copied()
            .or(self.emergency.threshold)
            .unwrap_or(trained)
    }

    /// The action for a harmful-request principle.
    pub fn harm_action(&self, c: HarmCategory) -> HarmAction {
        self.harmful
            .actions
            .get(&c.principle().to_string())
            .copied()
            .unwrap_or(HarmAction::Refuse)
    }

    /// The learned harmful threshold, given the trained one.
    pub fn harm_threshold(&self, trained: f32) -> f32 {
        self.harmful.threshold.unwrap_or(trained)
    }

    /// The injection policy for a source.
    pub fn injection(&self, s: Source) -> InjectionPolicy {
        match s {
            Source::User => self.injection.user,
            Source::Retrieved => self.injection.passage,
            Source::Tool => self.injection.tool,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_policy_is_valid_and_escalates_everything() {
        let p = LoadedPolicy::default();
        assert_eq!(p.sha256.len(), 64);
        for c in Category::ALL {
            assert_eq!(p.policy.emergency_action(c), EmergencyAction::Emergency);
        }
        assert_eq!(p.policy.injection(Source::User), InjectionPolicy::Refuse);
    }

    #[test]
    fn errors_name_what_is_wrong() {
        let base = DEFAULT_POLICY.to_string();
        let e =
            LoadedPolicy::parse(&(base.clone() + "\n[emergency.actions]\nheartache = \"flag\"\n"))
                .unwrap_err();
        assert!(e.contains("heartache") || e.contains("duplicate"), "{e}");
        let e = LoadedPolicy::parse(&base.replace("[phi]", "[phi]\nsurprise = 1")).unwrap_err();
        assert!(e.contains("surprise"), "{e}");
        let e = LoadedPolicy::parse("[emergency]\nthreshold = 2.0\n[harmful]\n[injection]\nuser=\"refuse\"\npassage=\"strip\"\ntool=\"strip\"\n[phi]\n").unwrap_err();
        assert!(e.contains("between 0 and 1"), "{e}");
    }

    #[test]
    fn per_category_settings_apply() {
        let p = LoadedPolicy::parse(
            "[emergency]\n[emergency.actions]\nobstetric = \"flag\"\n[emergency.thresholds]\nself_harm = 0.1\n[harmful]\n[harmful.actions]\n\"5\" = \"flag\"\n[injection]\nuser=\"flag\"\npassage=\"strip\"\ntool=\"refuse\"\n[phi]\ntagger=false\n",
        )
        .unwrap()
        .policy;
        assert_eq!(
            p.emergency_action(Category::Obstetric),
            EmergencyAction::Flag
        );
        assert_eq!(p.emergency_threshold(Category::SelfHarm, 0.4), 0.1);
        assert_eq!(p.emergency_threshold(Category::Cardiac, 0.4), 0.4);
        assert_eq!(
            p.harm_action(HarmCategory::ScientificIntegrity),
            HarmAction::Flag
        );
        assert!(!p.phi.tagger);
    }

    #[test]
    fn the_rules_veto_spares_exempt_categories_and_needs_the_head() {
        let shipped = LoadedPolicy::default().policy;
        let floor = shipped.emergency.rules_veto_below;
        assert!(floor > 0.0 && floor < 0.5);
        assert!(shipped.rules_vetoed(Category::Cardiac, floor / 2.0));
        assert!(!shipped.rules_vetoed(Category::Cardiac, floor));
        assert!(!shipped.rules_vetoed(Category::PaediatricDanger, 0.0));
        let off = LoadedPolicy::parse(
            &DEFAULT_POLICY.replace("learned = true\n# ...", "learned = false\n# ..."),
        )
        .unwrap()
        .policy;
        assert!(!off.emergency.learned);
        assert!(
            !off.rules_vetoed(Category::Cardiac, 0.0),
            "no head, no veto"
        );
        let e =
            LoadedPolicy::parse(&DEFAULT_POLICY.replace("\"paediatric_danger\"", "\"toothache\""))
                .unwrap_err();
        assert!(e.contains("toothache"), "{e}");
        let e = LoadedPolicy::parse(
            &DEFAULT_POLICY.replace("rules_veto_below = 0.03", "rules_veto_below = 1.5"),
        )
        .unwrap_err();
        assert!(e.contains("between 0 and 1"), "{e}");
    }
}
