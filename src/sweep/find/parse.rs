//! Reading the `[find]` table: the parameter, range and step, goal, requirements
//! (`METRIC OP NUMBER`) and confidence, each checked against its bound in `scenario::limits`.

use super::*;

fn parse_requirement(s: &str) -> Result<Requirement, String> {
    let usage = "write METRIC OP NUMBER with OP one of <, <=, >, >= (e.g. \"functions.f.throttle_ratio < 0.01\")";
    let Some(at) = s.find(['<', '>', '=', '!']) else {
        return Err(format!("{s:?} has no comparison: {usage}"));
    };
    let (metric, rest) = (s[..at].trim(), &s[at..]);
    let (op, number) = if let Some(r) = rest.strip_prefix("<=") {
        (Op::Le, r)
    } else if let Some(r) = rest.strip_prefix(">=") {
        (Op::Ge, r)
    } else if let Some(r) = rest.strip_prefix('<') {
        (Op::Lt, r)
    } else if let Some(r) = rest.strip_prefix('>') {
        (Op::Gt, r)
    } else {
        let op: String = rest.chars().take_while(|c| "<>=!".contains(*c)).collect();
        return Err(format!("{s:?}: unknown comparison {op:?}: {usage}"));
    };
    if metric.is_empty() || metric.contains(char::is_whitespace) {
        return Err(format!("{s:?}: {metric:?} is not a metric name: {usage}"));
    }
    let number = number.trim();
    match number.parse::<f64>() {
        Ok(x)
            if x.is_finite() && number.starts_with(|c: char| c != '=' && c != '<' && c != '>') =>
        {
            Ok(Requirement {
                metric: metric.to_string(),
                op,
                threshold: x,
            })
        }
        _ => Err(format!("{s:?}: {number:?} is not a finite number: {usage}")),
    }
}

/// Checks the `[find]` table of the sweep file `file` (text `text`).
pub(in crate::sweep) fn parse(file: &Path, text: &str, f: &FindFile) -> Result<Find, Error> {
    let err = |key: &str, msg: String| in_file(file, text, &format!("find.{key}"), msg);
    let parameter = f.parameter.trim().to_string();
    if parameter.is_empty() {
        return Err(err(
            "parameter",
            "is empty: name a scenario key, e.g. functions.f.reserved_concurrency".into(),
        ));
    }
    let goal = match f.goal.as_str() {
        "smallest" => Goal::Smallest,
        "largest" => Goal::Largest,
        g => {
            return Err(err(
                "goal",
                format!("must be \"smallest\" or \"largest\", got {g:?}"),
            ))
        }
    };
    let (lo, hi) = match f.range.as_slice() {
        [a, b] => (a.clone(), b.clone()),
        r => {
            return Err(err(
                "range",
                format!("must be [lo, hi] (two numbers), got {} values", r.len()),
            ))
        }
    };
    let (Some(a), Some(b)) = (number(&lo), number(&hi)) else {
        return Err(err("range", "lo and hi must be numbers".into()));
    };
    if !a.is_finite()
        || !b.is_finite()
        || a.abs() > lim::MAX_FIND_ABS
        || b.abs() > lim::MAX_FIND_ABS
    {
        return Err(err(
            "range",
            format!(
                "lo and hi must be finite and within ±{:e}",
                lim::MAX_FIND_ABS
            ),
        ));
    }
    if b <= a {
        return Err(err("range", format!("hi ({b}) must be above lo ({a})")));
    }
    let integer = matches!(
        (&lo, &hi),
        (toml::Value::Integer(_), toml::Value::Integer(_))
    );
    let step = match &f.step {
        None if integer => 1.0,
        None => (b - a) / 100.0,
        Some(s) => match number(s) {
            Some(x) if x > 0.0 && x.is_finite() => {
                if integer && !matches!(s, toml::Value::Integer(_)) {
                    return Err(err(
                        "step",
                        format!("must be a whole number for a whole-number range, got {x}"),
                    ));
                }
                x
            }
            _ => return Err(err("step", format!("must be a number > 0, got {s}"))),
        },
    };
    let steps = ((b - a) / step - 1e-9).ceil().max(1.0);
    if steps > lim::MAX_FIND_STEPS as f64 {
        return Err(err(
            "step",
            format!(
                "the range holds {steps} steps, more than the limit of {}",
                lim::MAX_FIND_STEPS
            ),
        ));
    }
    let confidence = match &f.confidence {
        None => 0.95,
        Some(c) => match number(c) {
            Some(x) if (lim::MIN_FIND_CONFIDENCE..=lim::MAX_FIND_CONFIDENCE).contains(&x) => x,
            _ => {
                return Err(err(
                    "confidence",
                    format!(
                        "must be a number in [{}, {}] (inside (0, 1)), got {c}",
                        lim::MIN_FIND_CONFIDENCE,
                        lim::MAX_FIND_CONFIDENCE
                    ),
                ))
            }
        },
    };
    if f.require.is_empty() {
        return Err(err(
            "require",
            "is empty: list at least one requirement, e.g. [\"functions.f.throttle_ratio < 0.01\"]"
                .into(),
        ));
    }
    if f.require.len() > lim::MAX_FIND_REQUIREMENTS {
        return Err(err(
            "require",
            format!(
                "has {} requirements, more than the limit of {}",
                f.require.len(),
                lim::MAX_FIND_REQUIREMENTS
            ),
        ));
    }
    let mut require = Vec::new();
    for (i, r) in f.require.iter().enumerate() {
        require.push(parse_requirement(r).map_err(|m| err(&format!("require[{i}]"), m))?);
    }
    Ok(Find {
        parameter,
        lo,
        hi,
        step,
        steps: steps as u64,
        goal,
        require,
        confidence,
    })
}
