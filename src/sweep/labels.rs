//! Metric and parameter names in words, with units: the one table the sweep's terminal table,
//! chart titles and axes, and report.html read. A key not in the table is shown as written.

/// (key suffix after the function or account prefix, words, unit). Units name what is counted.
const METRICS: &[(&str, &str, &str)] = &[
    ("requests", "requests", "requests"),
    ("attempts", "attempts", "attempts"),
    ("invocations", "invocations", "invocations"),
    ("succeeded", "succeeded requests", "requests"),
    ("failed", "failed requests", "requests"),
    ("timed_out", "timed-out invocations", "invocations"),
    (
        "failed_throttled",
        "requests failed by throttling",
        "requests",
    ),
    ("errors", "function errors", "invocations"),
    ("throttles.total", "throttles", "attempts"),
    ("throttles.burst", "burst throttles", "attempts"),
    ("throttles.account", "account-limit throttles", "attempts"),
    ("throttles.reserved", "reserved-limit throttles", "attempts"),
    ("throttles.rate", "request-rate throttles", "attempts"),
    ("throttle_ratio", "throttle ratio", "throttled / attempts"),
    ("cold_starts", "cold starts", "invocations"),
    ("cold_start_ratio", "cold-start ratio", "cold / invocations"),
    ("retries", "retries", "attempts"),
    ("dropped", "dropped events", "events"),
    ("dlq", "dead-lettered events", "events"),
    ("in_flight", "in flight at the end", "invocations"),
    ("latency_ms.mean", "mean latency", "ms"),
    ("latency_ms.p50", "median latency", "ms"),
    ("latency_ms.p90", "p90 latency", "ms"),
    ("latency_ms.p99", "p99 latency", "ms"),
    ("latency_ms.p999", "p99.9 latency", "ms"),
    ("latency_ms.max", "maximum latency", "ms"),
    ("duration_ms.mean", "mean duration", "ms"),
    ("duration_ms.p50", "median duration", "ms"),
    ("duration_ms.p90", "p90 duration", "ms"),
    ("duration_ms.p99", "p99 duration", "ms"),
    ("duration_ms.p999", "p99.9 duration", "ms"),
    ("duration_ms.max", "maximum duration", "ms"),
    ("concurrency.peak", "peak concurrency", "environments"),
    ("concurrency.mean", "mean concurrency", "environments"),
    (
        "environments_created",
        "environments created",
        "environments",
    ),
    (
        "provisioned.utilization_mean",
        "provisioned utilization",
        "busy / provisioned",
    ),
    (
        "provisioned.spillover_invocations",
        "spillover to on-demand",
        "invocations",
    ),
    ("cost_usd.requests", "request cost", "USD"),
    ("cost_usd.compute", "compute cost", "USD"),
    ("cost_usd.provisioned", "provisioned cost", "USD"),
    ("cost_usd.total", "total cost", "USD"),
    ("queue.peak_depth", "peak queue depth", "messages"),
    (
        "queue.max_oldest_age_ms",
        "maximum age of the oldest message",
        "ms",
    ),
    (
        "queue.p99_oldest_age_ms",
        "p99 age of the oldest message",
        "ms",
    ),
    ("queue.drained_at_s", "backlog last drained at", "s"),
    ("queue.dlq", "dead-lettered from the queue", "messages"),
    ("queue.dropped", "dropped from the queue", "messages"),
    ("cost_whatif.x86_64", "cost on x86_64", "USD"),
    ("cost_whatif.arm64", "cost on arm64", "USD"),
    ("cost_whatif.init_billed", "billed INIT cost", "USD"),
    ("cost_whatif.init_if_billed", "INIT cost if billed", "USD"),
    (
        "cost_whatif.provisioned_break_even_utilization",
        "provisioned break-even utilization",
        "busy / provisioned",
    ),
    ("throttles.gateway", "API Gateway throttles", "attempts"),
    ("gateway_timeouts", "API Gateway timeouts (504)", "attempts"),
    (
        "throttles.capacity",
        "Managed Instances capacity throttles",
        "attempts",
    ),
];

/// (last key segments of a parameter, words, unit).
const PARAMETERS: &[(&str, &str, &str)] = &[
    (
        "reserved_concurrency",
        "reserved concurrency",
        "environments",
    ),
    (
        "provisioned_concurrency",
        "provisioned concurrency",
        "environments",
    ),
    ("memory_mb", "memory", "MB"),
    ("load.rps", "load", "requests/s"),
    ("load.base", "base load", "requests/s"),
    ("load.peak", "peak load", "requests/s"),
    (
        "concurrency_limit",
        "account concurrency limit",
        "environments",
    ),
    (
        "maximum_concurrency",
        "SQS maximum concurrency",
        "environments",
    ),
    ("batch_size", "batch size", "records"),
    (
        "parallelization_factor",
        "parallelization factor",
        "per shard",
    ),
    ("timeout", "timeout", ""),
    ("seed", "seed", ""),
];

/// Whose metric a key is: `account` or the function name, and the rest of the key.
fn split_owner(key: &str) -> (Option<&str>, &str) {
    if let Some(rest) = key.strip_prefix("account.") {
        return (Some("account"), rest);
    }
    if let Some(rest) = key.strip_prefix("functions.") {
        // Function names may not contain dots, so the owner ends at the first one.
        if let Some((name, rest)) = rest.split_once('.') {
            return (Some(name), rest);
        }
    }
    (None, key)
}

/// A metric in words with its unit: `("api: p99 latency", "ms")`. Unknown keys stay as written.
pub fn metric(key: &str) -> (String, String) {
    let (owner, rest) = split_owner(key);
    match METRICS.iter().find(|(k, _, _)| *k == rest) {
        Some((_, words, unit)) => (
            owner.map_or(words.to_string(), |o| format!("{o}: {words}")),
            unit.to_string(),
        ),
        None => (key.to_string(), String::new()),
    }
}

/// A swept parameter in words with its unit: `("api: memory", "MB")`.
pub fn parameter(key: &str) -> (String, String) {
    let (owner, rest) = split_owner(key);
    let owner = owner.or_else(|| {
        key.strip_prefix("traffic.")
            .and_then(|r| r.split_once('.'))
            .map(|(n, _)| n)
    });
    match PARAMETERS
        .iter()
        .find(|(k, _, _)| rest == *k || rest.ends_with(&format!(".{k}")))
    {
        Some((_, words, unit)) => (
            owner.map_or(words.to_string(), |o| format!("{o}: {words}")),
            unit.to_string(),
        ),
        None => (key.to_string(), String::new()),
    }
}

/// "words (unit)", or the words alone without a unit.
pub fn with_unit((words, unit): (String, String)) -> String {
    if unit.is_empty() {
        words
    } else {
        format!("{words} ({unit})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_summary_metric_has_words_and_a_unit() {
        let keys = crate::sweep::runner::metric_keys(vec!["api".into()]);
        for k in keys {
            let (words, unit) = metric(&k);
            assert!(words != k && !unit.is_empty(), "{k} has no entry");
        }
        assert_eq!(
            metric("functions.api.latency_ms.p99"),
            ("api: p99 latency".into(), "ms".into())
        );
        assert_eq!(
            parameter("traffic.api.load.rps"),
            ("api: load".into(), "requests/s".into())
        );
        assert_eq!(metric("nope.x"), ("nope.x".into(), String::new()));
    }
}
