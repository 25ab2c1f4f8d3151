//! The import graph of `src/`: no module imports one that (directly or not) imports it
//! back, at any depth, and each layer imports only the layers below it. Read from the
//! source text (`crate::…` and `super::…` paths outside test modules), so a new arrow
//! that breaks the plan fails here with the modules named.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

/// What each top-level module may import besides itself. `adapters` includes the HTTP
/// adapter, which drives the application, hence `app`.
const LAYERS: &[(&str, &[&str])] = &[
    ("domain", &[]),
    ("ports", &["domain"]),
    ("instruments", &["domain"]),
    ("config", &["domain"]),
    ("app", &["domain", "ports", "instruments"]),
    (
        "adapters",
        &["domain", "ports", "instruments", "config", "app"],
    ),
];

#[test]
fn no_module_imports_its_importers() {
    let edges = edges();
    for depth in 1..=4 {
        let graph = collapse(&edges, depth);
        let cycles = cycles(&graph);
        assert!(
            cycles.is_empty(),
            "import circles at depth {depth}: {cycles:?}"
        );
    }
}

#[test]
fn layers_import_only_the_layers_below() {
    let graph = collapse(&edges(), 1);
    for (layer, allowed) in LAYERS {
        let imports = graph
            .get(&vec![layer.to_string()])
            .cloned()
            .unwrap_or_default();
        for target in imports {
            assert!(
                allowed.contains(&target[0].as_str()),
                "{layer} imports {}",
                target[0]
            );
        }
    }
}

/// The domain stays pure: no I/O, no clock, no runtime.
#[test]
fn the_domain_uses_no_io_crates() {
    for file in rust_files(Path::new("src/domain")) {
        let text = production_code(&std::fs::read_to_string(&file).unwrap());
        for forbidden in [
            "tokio::",
            "reqwest::",
            "hyper",
            "http_body",
            "native_tls",
            "sqlx::",
            "sled::",
            "poem",
            "SystemTime::now",
        ] {
            assert!(
                !text.contains(forbidden),
                "{} uses {forbidden}",
                file.display()
            );
        }
    }
}

/// Every (module, imported module) pair, modules as paths below `src/`.
fn edges() -> Vec<(Module, Module)> {
    let mut edges = Vec::new();
    for file in rust_files(Path::new("src")) {
        let module = module_of(&file);
        let test_file = file.to_string_lossy().ends_with("_tests.rs");
        if test_file || module.first().is_some_and(|m| m == "bin" || m == "main") {
            continue;
        }
        let text = production_code(&std::fs::read_to_string(&file).unwrap());
        for path in paths_after(&text, "crate::") {
            edges.push((module.clone(), path));
        }
        let parent = &module[..module.len().saturating_sub(1)];
        for path in paths_after(&text, "super::") {
            let mut target = parent.to_vec();
            target.extend(path);
            edges.push((module.clone(), target));
        }
    }
    edges
}

fn collapse(edges: &[(Module, Module)], depth: usize) -> BTreeMap<Module, BTreeSet<Module>> {
    let mut graph: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (from, to) in edges {
        let (from, to) = (cut(from, depth), cut(to, depth));
        if !from.is_empty() && !to.is_empty() && from != to && !to.starts_with(&from) {
            graph.entry(from).or_default().insert(to);
        }
    }
    graph
}

fn cut(module: &Module, depth: usize) -> Module {
    module.iter().take(depth).cloned().collect()
}

/// Strongly connected components of more than one module (Tarjan).
fn cycles(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    struct Walk<'a> {
        graph: &'a BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<Module, usize>,
        low: BTreeMap<Module, usize>,
        stack: Vec<Module>,
        found: Vec<Vec<Module>>,
    }
    impl Walk<'_> {
        fn visit(&mut self, v: &Module) {
            let n = self.index.len();
            self.index.insert(v.clone(), n);
            self.low.insert(v.clone(), n);
            self.stack.push(v.clone());
            for w in self.graph.get(v).into_iter().flatten() {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v.clone(), low);
                } else if self.stack.contains(w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v.clone(), low);
                }
            }
            if self.low[v] == self.index[v] {
                let at = self.stack.iter().position(|m| m == v).unwrap();
                let component = self.stack.split_off(at);
                if component.len() > 1 {
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !walk.index.contains_key(v) {
            walk.visit(v);
        }
    }
    walk.found
}

/// The module path segments following each `prefix` (`crate::app::admin::Caller` →
/// `app`, `admin`): lower-case identifiers only, so types and functions end the path.
fn paths_after(text: &str, prefix: &str) -> Vec<Module> {
    text.match_indices(prefix)
        .filter(|(at, _)| {
            let before = text[..*at].chars().next_back();
            !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
        })
        .map(|(at, _)| {
            text[at + prefix.len()..]
                .split("::")
                .map(|segment| {
                    segment
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                        .collect::<String>()
                })
                .take_while(|segment| !segment.is_empty())
                .collect::<Module>()
        })
        .filter(|path| !path.is_empty())
        .collect()
}

/// The text before the first `#[cfg(test)]`: test modules may import anything (as may
/// the `*_tests.rs` files such a module names with `#[path]`).
fn production_code(text: &str) -> String {
    text.split("#[cfg(test)]")
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn module_of(file: &Path) -> Module {
    let relative = file.strip_prefix("src").unwrap().with_extension("");
    let mut parts: Module = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts
        .last()
        .is_some_and(|last| last == "mod" || last == "lib")
    {
        parts.pop();
    }
    parts
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}
