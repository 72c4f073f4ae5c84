//! Rule tables as data: sectioned text files under `guardrails/rules/`, embedded at build
//! time. The detectors' code holds the logic; the patterns and word lists it applies live
//! in these files, where they can be reviewed and changed without reading Rust.
//!
//! Format: a line `@name` starts a section; every other non-empty line is one item, taken
//! exactly as written (a regex keeps its spaces); items with several fields separate them
//! with a tab; a line starting with `#` is a comment. The files are part of the binary, so
//! a malformed table is a build defect: the unit tests load every section.

use std::collections::HashMap;

/// The parsed rules file `guardrails/rules/<name>.rules`, embedded at build time.
macro_rules! rules_file {
    ($name:literal) => {
        $crate::tables::Tables::parse(
            concat!("guardrails/rules/", $name, ".rules"),
            include_str!(concat!("../rules/", $name, ".rules")),
        )
    };
}
pub(crate) use rules_file;

/// One parsed rules file.
#[derive(Debug)]
pub struct Tables {
    file: &'static str,
    sections: HashMap<&'static str, Vec<&'static str>>,
}

impl Tables {
    /// Parses `text`, the contents of `file` (named in panics).
    pub fn parse(file: &'static str, text: &'static str) -> Self {
        let mut sections: HashMap<&'static str, Vec<&'static str>> = HashMap::new();
        let mut current: Option<&'static str> = None;
        for (n, line) in text.lines().enumerate() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(name) = line.strip_prefix('@') {
                let name = name.trim();
                assert!(
                    sections.insert(name, Vec::new()).is_none(),
                    "{file}:{}: section @{name} appears twice",
                    n + 1
                );
                current = Some(name);
                continue;
            }
            let Some(name) = current else {
                panic!("{file}:{}: an item before the first @section", n + 1);
            };
            sections.entry(name).or_default().push(line);
        }
        Tables { file, sections }
    }

    /// The items of `section`, in file order.
    pub fn lines(&self, section: &str) -> &[&'static str] {
        match self.sections.get(section) {
            Some(v) => v,
            None => panic!("{}: no section @{section}", self.file),
        }
    }

    /// The items of `section` as a list.
    pub fn list(&self, section: &str) -> Vec<&'static str> {
        self.lines(section).to_vec()
    }

    /// The single item of `section`.
    pub fn one(&self, section: &str) -> &'static str {
        match self.lines(section) {
            [one] => one,
            other => panic!(
                "{}: section @{section} must hold one item, has {}",
                self.file,
                other.len()
            ),
        }
    }

    /// The items of `section`, each split at tabs into exactly `N` fields.
    pub fn rows<const N: usize>(&self, section: &str) -> Vec<[&'static str; N]> {
        self.lines(section)
            .iter()
            .map(|line| {
                let fields: Vec<&'static str> = line.split('\t').collect();
                match <[&'static str; N]>::try_from(fields) {
                    Ok(row) => row,
                    Err(f) => panic!(
                        "{}: @{section}: {} fields where {N} are expected in {line:?}",
                        self.file,
                        f.len()
                    ),
                }
            })
            .collect()
    }

    /// The items of `section` as (first field, second field) pairs.
    pub fn pairs(&self, section: &str) -> Vec<(&'static str, &'static str)> {
        self.rows::<2>(section)
            .into_iter()
            .map(|[a, b]| (a, b))
            .collect()
    }

    /// The value of a serde-named enum (`snake_case` names) written in `section`.
    pub fn named<T: serde::de::DeserializeOwned>(&self, section: &str, name: &str) -> T {
        serde_json::from_value(serde_json::Value::String(name.to_owned()))
            .unwrap_or_else(|_| panic!("{}: @{section}: unknown name {name:?}", self.file))
    }

    /// A map from every alias in the first field (space-separated) to the second field.
    pub fn aliases(&self, section: &str) -> HashMap<&'static str, &'static str> {
        let mut map = HashMap::new();
        for [from, to] in self.rows::<2>(section) {
            for alias in from.split(' ') {
                assert!(
                    map.insert(alias, to).is_none(),
                    "{}: @{section}: {alias:?} listed twice",
                    self.file
                );
            }
        }
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_items_fields_and_comments() {
        let t = Tables::parse(
            "test.rules",
            "# a comment\n@words\nnow\nthen \n\n@pairs\na b\tc\n@one\n\\bx\\b\n",
        );
        assert_eq!(t.list("words"), vec!["now", "then "]);
        assert_eq!(t.rows::<2>("pairs"), vec![["a b", "c"]]);
        assert_eq!(t.aliases("pairs").get("b"), Some(&"c"));
        assert_eq!(t.one("one"), "\\bx\\b");
    }

    #[test]
    #[should_panic(expected = "test.rules: no section @missing")]
    fn a_missing_section_names_the_file() {
        Tables::parse("test.rules", "@a\nx\n").lines("missing");
    }
}
