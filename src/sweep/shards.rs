//! Shards (`--shard K/N`: every N-th point) and `lambdasim merge`, which reads shard folders
//! back (their `manifest.json` and `results.csv`) and writes the files of the whole sweep.

use super::*;

/// A `--shard K/N` slice: points whose index `% n == k - 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub k: usize,
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
        rows,
    })
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
        rows,
    };
    prepare_dir(out)?;
    write_outputs(&results, out, charts)?;
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
    })
}
