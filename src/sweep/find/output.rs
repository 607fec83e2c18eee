//! The files and text of a `[find]`: `find.json` (the answer, its bracket, the metrics at the
//! answer and every probe) and the lines `sweep` prints.

use super::*;

fn json_value(v: &toml::Value) -> serde_json::Value {
    match v {
        toml::Value::Integer(i) => (*i).into(),
        toml::Value::Float(f) => {
            serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, Into::into)
        }
        other => other.to_string().into(),
    }
}

fn num(x: f64) -> serde_json::Value {
    serde_json::Number::from_f64(x).map_or(serde_json::Value::Null, Into::into)
}

/// A probe in `find.json`: its value, verdict and, per requirement, mean and bound.
fn probe_json(o: &FindOutcome, p: &Probe) -> serde_json::Value {
    let checks: Vec<serde_json::Value> = o
        .find
        .require
        .iter()
        .zip(&p.checks)
        .map(|(r, c)| {
            serde_json::json!({
                "requirement": r.to_string(),
                "n": c.n,
                "mean": num(c.mean),
                "bound": c.bound.map_or(serde_json::Value::Null, num),
                "met": c.met,
            })
        })
        .collect();
    serde_json::json!({
        "value": json_value(&p.value),
        "pass": p.pass,
        "requirements": checks,
    })
}

pub(super) fn find_json(o: &FindOutcome, res: &Results) -> String {
    let f = &o.find;
    let answer = o.answer.map(|i| &o.probes[i]);
    // Every metric at the answer: mean, standard deviation and two-sided interval.
    let metrics: serde_json::Map<String, serde_json::Value> = match o.answer {
        None => serde_json::Map::new(),
        Some(i) => {
            let stats = super::results::point_stats(res);
            res.metrics
                .iter()
                .zip(&stats[i].1)
                .map(|(k, s)| {
                    let v = match s {
                        None => serde_json::Value::Null,
                        Some(s) => serde_json::json!({
                            "n": s.n,
                            "mean": num(s.mean),
                            "stddev": s.stddev.map_or(serde_json::Value::Null, num),
                            "ci95_lower": s.ci95.map_or(serde_json::Value::Null, |c| num(c.0)),
                            "ci95_upper": s.ci95.map_or(serde_json::Value::Null, |c| num(c.1)),
                        }),
                    };
                    (k.clone(), v)
                })
                .collect()
        }
    };
    let (passing, failing) = (answer, o.failing.map(|i| &o.probes[i]));
    let v = serde_json::json!({
        "parameter": f.parameter,
        "goal": match f.goal { Goal::Smallest => "smallest", Goal::Largest => "largest" },
        "range": [json_value(&f.lo), json_value(&f.hi)],
        "step": num(f.step),
        "require": f.require.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
        "confidence": num(f.confidence),
        "bound": "one-sided Student t bound of the mean over replications",
        "replications": o.replications,
        "value": answer.map_or(serde_json::Value::Null, |p| json_value(&p.value)),
        "passing": passing.map_or(serde_json::Value::Null, |p| probe_json(o, p)),
        "failing": failing.map_or(serde_json::Value::Null, |p| probe_json(o, p)),
        "metrics": metrics,
        "probes": o.probes.iter().map(|p| probe_json(o, p)).collect::<Vec<_>>(),
    });
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}

/// What `sweep` prints for a `[find]`: the probes, the answer with its bounds and the bracket.
pub fn report_text(o: &FindOutcome) -> String {
    let f = &o.find;
    let pct = format_f64((f.confidence * 1e4).round() / 1e2);
    let side = |r: &Requirement| if r.op.upper() { "upper" } else { "lower" };
    let mut s = format!(
        "find: the {} {} in [{}, {}] with {} ({pct} % one-sided bounds, {} replications per value)\n",
        match f.goal { Goal::Smallest => "smallest", Goal::Largest => "largest" },
        f.parameter,
        value_text(&f.lo),
        value_text(&f.hi),
        f.require.iter().map(|r| r.to_string()).collect::<Vec<_>>().join(" and "),
        o.replications,
    );
    for p in &o.probes {
        let parts: Vec<String> = f
            .require
            .iter()
            .zip(&p.checks)
            .map(|(r, c)| {
                format!(
                    "{} mean {}, {} bound {}",
                    r.metric,
                    readable(c.mean),
                    side(r),
                    c.bound.map_or("-".into(), readable)
                )
            })
            .collect();
        s.push_str(&format!(
            "  {} = {}: {} ({})\n",
            f.parameter,
            value_text(&p.value),
            if p.pass { "passes" } else { "fails" },
            parts.join("; ")
        ));
    }
    match o.answer {
        None => s.push_str(&format!(
            "no value of {} in [{}, {}] meets every requirement\n",
            f.parameter,
            value_text(&f.lo),
            value_text(&f.hi)
        )),
        Some(i) => {
            let p = &o.probes[i];
            s.push_str(&format!(
                "answer: {} = {}\n",
                f.parameter,
                value_text(&p.value)
            ));
            for (r, c) in f.require.iter().zip(&p.checks) {
                s.push_str(&format!(
                    "  {}: mean {}, {pct} % {} bound {} {} {}\n",
                    r.metric,
                    readable(c.mean),
                    side(r),
                    c.bound.map_or("-".into(), readable),
                    r.op.text(),
                    format_f64(r.threshold)
                ));
            }
            match o.failing.map(|j| &o.probes[j]) {
                Some(q) => s.push_str(&format!(
                    "  bracket: {} fails, {} passes\n",
                    value_text(&q.value),
                    value_text(&p.value)
                )),
                None => s.push_str(&format!(
                    "  bracket: {} passes at the end of the range\n",
                    value_text(&p.value)
                )),
            }
        }
    }
    s
}
