//! The modules of `shared` form a stack, each layer importing only from itself and the layers
//! below (DESIGN.md): errors and the request id at the bottom, HTTP at the top. This test reads
//! every `crate::` and `super::` path outside test code in `shared/src` and fails on one that
//! runs upward, or on a cycle between files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, bottom first: a module's layer is the one naming its top-level module.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "floor: errors, the request id, clock, config, ids, the route table",
        &["error", "request_id", "clock", "config", "ids", "routes"],
    ),
    (
        "store: the port, its adapters and schema, records and counters; mail; AWS clients",
        &["store", "records", "counters", "mail", "aws"],
    ),
    ("vocabulary: permissions and the catalogs' types", &["permissions", "resource"]),
    ("query engine: the AST, dialects, planner, evaluator; JSON:API documents", &["query", "jsonapi"]),
    ("models: catalogs, typed views, links", &["model", "links"]),
    ("auth: tokens, passwords, sessions, policy, principal", &["auth"]),
    ("state: AppState, built once per cold start", &["app"]),
    (
        "use-cases: what a request does; listing and includes; bootstrap, cleanup",
        &["usecase", "listing", "include", "bootstrap", "cleanup"],
    ),
    (
        "HTTP: extractors, rendering, errors as responses; the Lambda main; the OpenAPI document",
        &["http", "lambda", "openapi"],
    ),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every source file but the crate root, as a module path (`auth/session`, `store`).
fn modules(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            modules(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(src()).unwrap().with_extension("");
            let name = relative.to_string_lossy().replace('\\', "/");
            let name = name.strip_suffix("/mod").unwrap_or(&name).to_string();
            if name != "lib" {
                out.push(name);
            }
        }
    }
}

fn file_of(module: &str) -> PathBuf {
    let plain = src().join(format!("{module}.rs"));
    if plain.exists() { plain } else { src().join(module).join("mod.rs") }
}

fn layer_of(module: &str) -> usize {
    let top = module.split('/').next().unwrap();
    LAYERS
        .iter()
        .position(|(_, members)| members.contains(&top))
        .unwrap_or_else(|| panic!("module {module} is in no layer: add it to LAYERS (and to the README's stack)"))
}

/// The source without its `#[cfg(test)]` / `#[cfg(all(test, ...))]` items (tests may import
/// anything).
fn without_tests(source: &str) -> String {
    let mut out = String::new();
    let mut rest = source;
    while let Some(at) = rest.find("#[cfg(test)]").into_iter().chain(rest.find("#[cfg(all(test")).min() {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        let Some(open) = after.find('{') else { break };
        let mut depth = 0;
        let mut end = after.len();
        for (i, c) in after[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// The modules a path names: `crate::a::b` is `a/b` if that is a module, else `a`; the
/// crate root's re-exports are where they come from.
fn resolve(path: &[&str], known: &BTreeSet<String>) -> Option<String> {
    match path {
        ["Error" | "Result" | "Problem", ..] => Some("error".into()),
        ["AppState", ..] => Some("app".into()),
        [a, b, ..] if known.contains(&format!("{a}/{b}")) => Some(format!("{a}/{b}")),
        [a, ..] if known.contains(*a) => Some(a.to_string()),
        _ => None,
    }
}

/// The modules `module` imports, outside its tests.
fn imports(module: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let source = without_tests(&std::fs::read_to_string(file_of(module)).unwrap());
    assert!(!source.contains("crate::{"), "{module}: one `use crate::` path per module, so this test can read it");
    let parent = match module.rsplit_once('/') {
        // A directory module's `super` is its parent; a file's in a directory is its directory.
        Some((dir, _)) => dir.to_string(),
        None => String::new(),
    };
    let mut found = BTreeSet::new();
    for (prefix, base) in [("crate::", String::new()), ("super::", parent)] {
        for (at, _) in source.match_indices(prefix) {
            if at > 0 && source[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let tail = &source[at + prefix.len()..];
            let segments: Vec<&str> = tail
                .split("::")
                .map(|s| s.split(|c: char| !(c.is_alphanumeric() || c == '_')).next().unwrap_or(""))
                .take_while(|s| !s.is_empty())
                .take(2)
                .collect();
            let mut path: Vec<&str> = base.split('/').filter(|s| !s.is_empty()).collect();
            path.extend(segments);
            if let Some(target) = resolve(&path, known).filter(|t| t != module) {
                found.insert(target);
            }
        }
    }
    found
}

#[test]
fn no_module_imports_one_above_it() {
    let mut all = Vec::new();
    modules(&src(), &mut all);
    let known: BTreeSet<String> = all.iter().cloned().collect();
    let mut upward = Vec::new();
    for module in &all {
        for target in imports(module, &known) {
            let (from, to) = (layer_of(module), layer_of(&target));
            if to > from {
                upward.push(format!("{module} ({}) imports {target} ({})", LAYERS[from].0, LAYERS[to].0));
            }
        }
    }
    assert!(upward.is_empty(), "imports that run upward:\n{}", upward.join("\n"));
}

#[test]
fn no_files_import_each_other_in_a_loop() {
    let mut all = Vec::new();
    modules(&src(), &mut all);
    let known: BTreeSet<String> = all.iter().cloned().collect();
    // A directory module (`auth`) only declares and re-exports its children: it is not a node.
    let graph: BTreeMap<String, BTreeSet<String>> = all
        .iter()
        .map(|m| {
            let edges = imports(m, &known)
                .into_iter()
                .filter(|t| !m.starts_with(&format!("{t}/")) && !t.starts_with(&format!("{m}/")));
            (
                m.clone(),
                edges
                    .filter(|t| {
                        !file_of(t).ends_with("mod.rs") || known.iter().all(|k| !k.starts_with(&format!("{t}/")))
                    })
                    .collect(),
            )
        })
        .collect();
    // Depth-first search; a node met again while on the path closes a loop.
    fn visit(n: &str, g: &BTreeMap<String, BTreeSet<String>>, path: &mut Vec<String>, done: &mut BTreeSet<String>) {
        if let Some(i) = path.iter().position(|p| p == n) {
            panic!("modules import each other in a loop: {} -> {n}", path[i..].join(" -> "));
        }
        if done.contains(n) {
            return;
        }
        path.push(n.to_string());
        for next in g.get(n).into_iter().flatten() {
            visit(next, g, path, done);
        }
        path.pop();
        done.insert(n.to_string());
    }
    let mut done = BTreeSet::new();
    for m in graph.keys() {
        visit(m, &graph, &mut Vec::new(), &mut done);
    }
}

#[test]
fn the_layers_are_the_ones_the_readme_shows() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).unwrap();
    // The stack is drawn top first, each layer's name starting a line.
    let drawn: Vec<&str> = readme
        .lines()
        .filter_map(|l| {
            LAYERS.iter().map(|(n, _)| n.split(':').next().unwrap()).find(|t| l.starts_with(&format!("{t} ")))
        })
        .collect();
    let mut expected: Vec<&str> = LAYERS.iter().map(|(n, _)| n.split(':').next().unwrap()).collect();
    expected.reverse();
    assert_eq!(drawn, expected, "README's module stack (Layout) differs from LAYERS");
}
