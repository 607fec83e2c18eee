//! Shards (`--shard K/N`: every N-th point) and `lambdasim merge`, which reads shard folders
//! back (their `manifest.json` and `results.csv`) and writes the files of the whole sweep.

use super::*;

/// A `--shard K/N` slice: points whose index `% n == k - 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard's number, 1..=n.
    pub k: usize,
    /// Number of shards.
    pub n: usize,
}

impl FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("--shard {s:?}: expected K/N with 1 <= K <= N, e.g. 2/8");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let k: usize = k.trim().parse().map_err(|_| bad())?;
        let n: usize = n.trim().parse().map_err(|_| bad())?;
        if k == 0 || n == 0 || k > n {
            return Err(bad());
        }
        Ok(Shard { k, n })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

impl Shard {
    /// Whether point index `point` belongs to this shard.
    pub fn holds(&self, point: usize) -> bool {
        point % self.n == self.k - 1
    }
}

pub(super) const MANIFEST: &str = "manifest.json";

pub(super) fn manifest_json(res: &Results) -> String {
    let v = serde_json::json!({
        "lambdasim": env!("CARGO_PKG_VERSION"),
        "shard": res.shard.to_string(),
        "points_total": res.points_total,
        "replications": res.replications,
        "vary": res.vary,
        "metrics": res.metrics,
        "content_hash": res.content_hash,
    });
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}

/// Writes `results.csv` and `manifest.json`; for a whole sweep (not a shard) also

#[derive(Deserialize)]
pub(super) struct Manifest {
    shard: String,
    points_total: usize,
    replications: u64,
    vary: Vec<String>,
    metrics: Vec<String>,
    content_hash: Option<String>,
}

pub(super) fn read_shard(dir: &Path) -> Result<Results, Error> {
    let mpath = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&mpath).map_err(|e| {
        Error::input_at(
            &mpath,
            None,
            format!("cannot read the shard manifest (is this a sweep output folder?): {e}"),
        )
    })?;
    let m: Manifest = serde_json::from_str(&text)
        .map_err(|e| Error::input_at(&mpath, Some((e.line(), e.column())), e.to_string()))?;
    let shard: Shard = m
        .shard
        .parse()
        .map_err(|e: String| Error::input(&mpath, KeyPath::parse("shard"), e))?;
    let content_hash = m.content_hash.ok_or_else(|| {
        Error::input_at(
            &mpath,
            None,
            "has no content_hash (written by an older lambdasim): run the shard again",
        )
    })?;
    let cpath = dir.join("results.csv");
    let bad = |line: Option<u64>, msg: String| {
        Error::input_at(&cpath, line.map(|l| (l as usize, 1)), msg)
    };
    let mut rd =
        csv::Reader::from_path(&cpath).map_err(|e| bad(None, format!("cannot read: {e}")))?;
    let header: Vec<String> = rd
        .headers()
        .map_err(|e| bad(None, e.to_string()))?
        .iter()
        .map(String::from)
        .collect();
    let mut want = vec!["point".to_string(), "replication".into(), "seed".into()];
    want.extend(m.vary.iter().cloned());
    want.extend(m.metrics.iter().cloned());
    want.push("error".into());
    if header != want {
        return Err(bad(Some(1), "header does not match manifest.json".into()));
    }
    let nv = m.vary.len();
    let nm = m.metrics.len();
    let mut rows = Vec::new();
    for rec in rd.records() {
        let rec = rec.map_err(|e| bad(None, e.to_string()))?;
        let line = rec.position().map(|p| p.line());
        let num = |i: usize| -> Result<u64, Error> {
            let s = &rec[i];
            if s.is_empty() {
                return Ok(0);
            }
            s.parse()
                .map_err(|_| bad(line, format!("{}: not a number: {s:?}", want[i])))
        };
        let metrics = (0..nm)
            .map(|j| {
                let s = &rec[3 + nv + j];
                if s.is_empty() {
                    Ok(None)
                } else {
                    s.parse::<f64>().map(Some).map_err(|_| {
                        bad(line, format!("{}: not a number: {s:?}", want[3 + nv + j]))
                    })
                }
            })
            .collect::<Result<Vec<_>, Error>>()?;
        rows.push(Row {
            point: num(0)? as usize,
            replication: num(1)?,
            seed: num(2)?,
            values: (0..nv).map(|j| rec[3 + j].to_string()).collect(),
            metrics,
            error: rec[3 + nv + nm].to_string(),
        });
    }
    Ok(Results {
        vary: m.vary,
        metrics: m.metrics,
        points_total: m.points_total,
        replications: m.replications,
        shard,
        content_hash,
        rows,
    })
}

/// A hash of what a sweep's rows depend on besides the grid: the bytes of the sweep file, of its
/// base scenario and of every file the scenario names in a `path` key (traces, empirical
/// distributions), in that order, each preceded by its length. 64-bit FNV-1a as 16 hex digits:
/// byte-based, so equal on every platform and independent of where the files are. `merge`
/// compares it so that shards run from edited copies are refused instead of mixed.
pub fn content_hash(sweep: &Sweep) -> Result<String, Error> {
    fn paths(v: &toml::Value, out: &mut Vec<String>) {
        match v {
            toml::Value::Table(t) => {
                for (k, x) in t {
                    match x {
                        toml::Value::String(s) if k == "path" => out.push(s.clone()),
                        _ => paths(x, out),
                    }
                }
            }
            toml::Value::Array(a) => a.iter().for_each(|x| paths(x, out)),
            _ => {}
        }
    }
    let read = |p: &Path| {
        std::fs::read(p).map_err(|e| Error::input_at(p, None, format!("cannot read: {e}")))
    };
    let scenario = read(&sweep.scenario)?;
    let mut files = vec![sweep.text.as_bytes().to_vec(), scenario.clone()];
    let mut named = Vec::new();
    if let Some(t) = std::str::from_utf8(&scenario)
        .ok()
        .and_then(|t| toml::from_str::<toml::Table>(t).ok())
    {
        paths(&toml::Value::Table(t), &mut named);
    }
    let base = sweep.scenario.parent().unwrap_or(Path::new("."));
    for p in named {
        // A missing file is reported by the scenario check of the points that use it.
        if let Ok(bytes) = std::fs::read(crate::model::resolve_path(base, &p)) {
            files.push(bytes);
        }
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for f in &files {
        for b in (f.len() as u64).to_le_bytes().iter().chain(f) {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    Ok(format!("{h:016x}"))
}

/// Refuses shards computed from different sweep or scenario contents, naming each group.
fn check_same_contents(parts: &[Results], dirs: &[PathBuf]) -> Result<(), Error> {
    let mut groups: Vec<(&str, Vec<String>)> = Vec::new();
    for (p, d) in parts.iter().zip(dirs) {
        let name = format!("{} ({})", p.shard, d.display());
        match groups.iter_mut().find(|g| g.0 == p.content_hash) {
            Some(g) => g.1.push(name),
            None => groups.push((&p.content_hash, vec![name])),
        }
    }
    if groups.len() < 2 {
        return Ok(());
    }
    let list: Vec<String> = groups
        .iter()
        .map(|(h, names)| format!("content_hash {h}: shards {}", names.join(", ")))
        .collect();
    Err(Error::input(
        Path::new("merge"),
        KeyPath::default(),
        format!(
            "the shards were run from different sweep or scenario file contents; {}",
            list.join("; ")
        ),
    ))
}

/// `lambdasim merge`: combine the outputs of `--shard 1/N … N/N` into the files of one
/// unsharded sweep (byte for byte).
pub fn merge(dirs: &[PathBuf], out: &Path, charts: bool) -> Result<SweepReport, Error> {
    if dirs.is_empty() {
        return Err(Error::input(
            Path::new("merge"),
            KeyPath::default(),
            "give the shard output folders to merge",
        ));
    }
    let parts = dirs
        .iter()
        .map(|d| read_shard(d))
        .collect::<Result<Vec<_>, Error>>()?;
    check_same_contents(&parts, dirs)?;
    let first = &parts[0];
    let n = first.shard.n;
    let mut seen = vec![None::<&Path>; n];
    for (p, d) in parts.iter().zip(dirs) {
        let m = d.join(MANIFEST);
        if p.vary != first.vary
            || p.metrics != first.metrics
            || p.points_total != first.points_total
            || p.replications != first.replications
            || p.shard.n != n
        {
            return Err(Error::input_at(
                &m,
                None,
                format!(
                    "does not belong to the same sweep as {} (different shard count, grid, replications or metrics)",
                    dirs[0].join(MANIFEST).display()
                ),
            ));
        }
        if let Some(other) = seen[p.shard.k - 1] {
            return Err(Error::input_at(
                &m,
                None,
                format!("shard {} is also in {}", p.shard, other.display()),
            ));
        }
        seen[p.shard.k - 1] = Some(d);
    }
    let missing: Vec<String> = (1..=n)
        .filter(|k| seen[k - 1].is_none())
        .map(|k| format!("{k}/{n}"))
        .collect();
    if !missing.is_empty() {
        return Err(Error::input(
            Path::new("merge"),
            KeyPath::default(),
            format!("missing shards: {}", missing.join(", ")),
        ));
    }
    let mut rows: Vec<Row> = parts.iter().flat_map(|p| p.rows.iter().cloned()).collect();
    rows.sort_by_key(|r| (r.point, r.replication));
    let expected = first.points_total * first.replications as usize;
    let complete = rows.len() == expected
        && rows.iter().enumerate().all(|(i, r)| {
            r.point == i / first.replications as usize
                && r.replication == (i % first.replications as usize) as u64
        });
    if !complete {
        return Err(Error::runtime(format!(
            "the shards hold {} rows, but the sweep has {} points x {} replications = {expected} (a shard did not finish?)",
            rows.len(),
            first.points_total,
            first.replications
        )));
    }
    let results = Results {
        vary: first.vary.clone(),
        metrics: first.metrics.clone(),
        points_total: first.points_total,
        replications: first.replications,
        shard: Shard { k: 1, n: 1 },
        content_hash: first.content_hash.clone(),
        rows,
    };
    // Whole or absent: written into a staging folder swapped in at the end (output::staging).
    let staging = crate::output::staging::Staging::begin(out)?;
    write_outputs(&results, staging.dir(), charts)?;
    staging.commit()?;
    let mut failed: Vec<(usize, String)> = results
        .rows
        .iter()
        .filter(|r| !r.error.is_empty())
        .map(|r| (r.point, r.error.clone()))
        .collect();
    failed.dedup_by_key(|f| f.0);
    Ok(SweepReport {
        out_dir: out.to_path_buf(),
        points: results.points_total,
        runs: results.rows.len(),
        failed_points: failed,
        results,
        find: None,
    })
}
