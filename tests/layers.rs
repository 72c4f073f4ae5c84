//! Module layering: in every crate of the workspace, the top-level modules import each
//! other without cycles (calls only go down), and no module reaches items through the
//! crate root (`crate::AppState` instead of `crate::app::AppState` would hide an edge).
//! Reads the sources; fails naming the cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Source text of a top-level module: `name.rs` plus everything under `name/`, with
/// comments and the trailing `#[cfg(test)]` part of each file removed.
fn module_text(src: &Path, name: &str) -> String {
    let mut files: Vec<PathBuf> = Vec::new();
    let file = src.join(format!("{name}.rs"));
    if file.is_file() {
        files.push(file);
    }
    let dir = src.join(name);
    if dir.is_dir() {
        collect_rs(&dir, &mut files);
    }
    let mut out = String::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let code = match text.find("#[cfg(test)]") {
            Some(i) => &text[..i],
            None => &text[..],
        };
        for line in code.lines() {
            let line = match line.find("//") {
                Some(i) => &line[..i],
                None => line,
            };
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            collect_rs(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Names after `crate::` in `text`, including those inside `use crate::{a, b::c}`.
fn crate_refs(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + "crate::".len()..];
        let ident: String = after
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !ident.is_empty() {
            out.insert(ident);
        } else if let Some(group) = after.strip_prefix('{') {
            // Top-level names of the group: `{a::{b, c}, d}` gives a and d.
            let mut depth = 0usize;
            let mut expect_name = true;
            let mut chars = group.char_indices().peekable();
            while let Some((i, c)) = chars.next() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => expect_name = true,
                    c if expect_name && depth == 0 && (c.is_alphanumeric() || c == '_') => {
                        let name: String = group[i..]
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        for _ in 1..name.chars().count() {
                            chars.next();
                        }
                        if name != "self" {
                            out.insert(name);
                        }
                        expect_name = false;
                    }
                    _ => {}
                }
            }
        }
        rest = after;
    }
    out
}

/// Top-level modules declared in the crate root (`mod x;` / `pub mod x;`).
fn modules(root: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(root).unwrap();
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            let l = l
                .strip_prefix("pub mod ")
                .or_else(|| l.strip_prefix("pub(crate) mod "))
                .or_else(|| l.strip_prefix("mod "))?;
            l.strip_suffix(';').map(str::to_string)
        })
        .collect()
}

/// Names the crate root re-exports (`pub use a::{B, C};`, `pub use a::B;`): a module
/// that reaches them through the root hides its real dependency. Items the root defines
/// itself (a crate's shared types) are the bottom layer and may be used by every module.
fn reexports(root: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(root).unwrap();
    let mut out = BTreeSet::new();
    let mut rest = &text[..];
    while let Some(i) = rest.find("pub use ") {
        let after = &rest[i + "pub use ".len()..];
        let end = after.find(';').unwrap_or(after.len());
        let stmt = &after[..end];
        let names = match (stmt.find('{'), stmt.rfind('}')) {
            (Some(a), Some(b)) => stmt[a + 1..b].to_string(),
            _ => stmt.to_string(),
        };
        for part in names.split(',') {
            let last = part.trim().rsplit("::").next().unwrap_or("");
            let name = last.rsplit(" as ").next().unwrap_or(last).trim();
            if !name.is_empty() && name != "self" {
                out.insert(name.to_string());
            }
        }
        rest = &after[end..];
    }
    out
}

/// A cycle in `graph`, if any (depth-first search).
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for m in &graph[n] {
            match state.get(m.as_str()).copied().unwrap_or(0) {
                1 => {
                    let at = stack.iter().position(|x| x == m).unwrap();
                    let mut cycle = stack[at..].to_vec();
                    cycle.push(m.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(m, graph, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in graph.keys() {
        if state.get(n.as_str()).copied().unwrap_or(0) == 0 {
            let mut stack = Vec::new();
            if let Some(c) = visit(n, graph, &mut state, &mut stack) {
                return Some(c);
            }
        }
    }
    None
}

fn check_crate(dir: &str) -> Vec<String> {
    let src = repo_root().join(dir).join("src");
    let mut problems = Vec::new();
    for root in ["lib.rs", "main.rs"] {
        let root = src.join(root);
        if !root.is_file() {
            continue;
        }
        let mods = modules(&root);
        let known: BTreeSet<&str> = mods.iter().map(String::as_str).collect();
        let reexported = reexports(&root);
        let mut graph = BTreeMap::new();
        for m in &mods {
            let refs = crate_refs(&module_text(&src, m));
            let mut deps = BTreeSet::new();
            for r in refs {
                if r == *m {
                    continue;
                }
                if known.contains(r.as_str()) {
                    deps.insert(r);
                } else if reexported.contains(&r) {
                    problems.push(format!(
                        "{dir}: module `{m}` uses `crate::{r}`, a re-export of the crate root: import it from the module that defines it"
                    ));
                }
            }
            graph.insert(m.clone(), deps);
        }
        if let Some(cycle) = find_cycle(&graph) {
            problems.push(format!(
                "{dir} ({}): import cycle {}",
                root.file_name().unwrap().to_string_lossy(),
                cycle.join(" -> ")
            ));
        }
    }
    problems
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn no_crate_has_an_import_cycle_between_its_modules() {
    let mut problems = Vec::new();
    for dir in ["server", "rag", "guardrails", "models", "tools"] {
        problems.extend(check_crate(dir));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_checker_finds_a_cycle_and_a_root_reference() {
    let mut g = BTreeMap::new();
    g.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    g.insert("b".to_string(), BTreeSet::from(["c".to_string()]));
    g.insert("c".to_string(), BTreeSet::from(["a".to_string()]));
    assert_eq!(find_cycle(&g).unwrap(), ["a", "b", "c", "a"]);
    g.get_mut("c").unwrap().clear();
    assert_eq!(find_cycle(&g), None);
    let refs = crate_refs(
        "use crate::{app::AppState, error::{self, ApiError}};\nuse crate::{store, x::{y, z}};\nlet b = crate::BUILD;",
    );
    assert_eq!(
        refs,
        ["BUILD", "app", "error", "store", "x"]
            .map(String::from)
            .into_iter()
            .collect::<BTreeSet<_>>()
    );
}
