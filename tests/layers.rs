//! The layer rule of ARCHITECTURE.md: a module of `src/` may use modules of its own layer or of
//! layers below it, never of a layer above, and modules never import each other in a cycle.
//! The layers are read from the table under "## Layers" in ARCHITECTURE.md, and the imports
//! from every `crate::<module>` path in the code of `src/` (comments excluded), so moving a
//! `use` the wrong way fails here with the file and the module it reached.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module name -> layer number, from the "## Layers" table of ARCHITECTURE.md.
fn layers() -> BTreeMap<String, usize> {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md"))
            .expect("ARCHITECTURE.md");
    let section = text
        .split("## Layers")
        .nth(1)
        .expect("ARCHITECTURE.md has a \"## Layers\" section");
    let mut out = BTreeMap::new();
    for line in section.lines().skip_while(|l| !l.starts_with('|')) {
        if !line.starts_with('|') {
            break;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let Some(layer) = cells.get(1).and_then(|c| c.split_whitespace().next()) else {
            continue;
        };
        let Ok(layer) = layer.parse::<usize>() else {
            continue; // header and separator rows
        };
        for m in cells.get(3).copied().unwrap_or("").split(',') {
            let m = m.trim().trim_matches('`').trim_end_matches('/');
            if !m.is_empty() {
                out.insert(m.to_string(), layer);
            }
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read src") {
        let p = e.expect("dir entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level modules a file's code names as `crate::<module>`.
fn imports(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in code.lines() {
        let line = line.split("//").next().unwrap_or("");
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            let tail = &rest[i + "crate::".len()..];
            let name: String = tail
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
            rest = tail;
        }
    }
    out
}

/// Module -> (file, modules it imports), for every file of `src/` except lib.rs and main.rs.
fn graph() -> BTreeMap<String, Vec<(PathBuf, BTreeSet<String>)>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut g: BTreeMap<String, Vec<(PathBuf, BTreeSet<String>)>> = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(&src).expect("under src").to_path_buf();
        let first = rel.components().next().expect("a component");
        let module = first
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if module == "lib" || module == "main" {
            continue;
        }
        let code = std::fs::read_to_string(&f).expect("read source");
        let mut deps = imports(&code);
        deps.remove(&module);
        g.entry(module).or_default().push((rel, deps));
    }
    g
}

#[test]
fn the_layer_table_names_every_module_of_src() {
    let layers = layers();
    assert!(layers.len() >= 10, "layer table parsed: {layers:?}");
    for module in graph().keys() {
        assert!(
            layers.contains_key(module),
            "src/{module} is in no layer of ARCHITECTURE.md \"## Layers\""
        );
    }
}

#[test]
fn no_module_imports_from_a_layer_above_it() {
    let layers = layers();
    let mut bad = Vec::new();
    for (module, files) in graph() {
        let Some(&own) = layers.get(&module) else {
            continue;
        };
        for (file, deps) in files {
            for d in deps {
                match layers.get(&d) {
                    Some(&l) if l <= own => {}
                    Some(&l) => bad.push(format!(
                        "src/{} (layer {own}) uses crate::{d} (layer {l})",
                        file.display()
                    )),
                    None => bad.push(format!(
                        "src/{} uses crate::{d}, which is in no layer",
                        file.display()
                    )),
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "imports against the layers:\n{}",
        bad.join("\n")
    );
}

#[test]
fn modules_import_each_other_in_no_cycle() {
    let g: BTreeMap<String, BTreeSet<String>> = graph()
        .into_iter()
        .map(|(m, files)| (m, files.into_iter().flat_map(|(_, d)| d).collect()))
        .collect();
    // Depth-first search; a module met again while still on the path closes a cycle.
    fn visit(
        m: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == m) {
            let mut cycle = path[i..].to_vec();
            cycle.push(m.to_string());
            return Some(cycle);
        }
        if !done.insert(m.to_string()) {
            return None;
        }
        path.push(m.to_string());
        for d in g.get(m).into_iter().flatten() {
            if let Some(c) = visit(d, g, path, done) {
                return Some(c);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for m in g.keys() {
        let mut path = Vec::new();
        if let Some(c) = visit(m, &g, &mut path, &mut done) {
            panic!("import cycle: {}", c.join(" -> "));
        }
    }
}

#[test]
fn the_import_scanner_sees_paths_and_skips_comments() {
    let deps = imports("use crate::time::Micros;\n// crate::engine in a comment\nlet x = crate::dist::f(); use crate::{");
    let want: BTreeSet<String> = ["time", "dist"].iter().map(|s| s.to_string()).collect();
    assert_eq!(deps, want);
}
