//! Range and cross-field checks of a resolved scenario. Each failure names the key path.

use super::{Function, Invocation, RetryMode, Scaling, Scenario, Traffic};
use crate::error::KeyPath;
use crate::presets;
use crate::time::Micros;
use std::collections::HashMap;

type R = Result<(), (KeyPath, String)>;

fn fail(key: KeyPath, msg: impl Into<String>) -> R {
    Err((key, msg.into()))
}
fn k(s: &str) -> KeyPath {
    KeyPath::parse(s)
}

use super::limits as lim;
pub use super::limits::{MAX_ACCOUNT_LIMIT, MAX_BUCKETS, MAX_DURATION, MAX_REQUESTS, MAX_ROWS};

/// Checks ranges and cross-field rules of a resolved scenario.
pub fn validate(s: &Scenario) -> R {
    if s.name.trim().is_empty() {
        return fail(k("name"), "must not be empty");
    }
    if s.name.contains(['/', '\\']) || s.name == "." || s.name == ".." {
        return fail(k("name"), "is used as a folder name: no '/' or '\\'");
    }
    if s.name.chars().any(char::is_control) {
        return fail(k("name"), "must not contain control characters");
    }
    if s.name.len() > lim::MAX_SCENARIO_NAME {
        return fail(
            k("name"),
            format!(
                "is {} bytes long, more than the limit of {} (it becomes a folder name)",
                s.name.len(),
                lim::MAX_SCENARIO_NAME
            ),
        );
    }
    if s.duration.0 == 0 {
        return fail(k("duration"), "must be greater than 0");
    }
    if s.duration > MAX_DURATION {
        return fail(k("duration"), "must be at most 90 days");
    }
    if s.bucket.0 < 1000 {
        return fail(k("bucket"), "must be at least 1ms");
    }
    if s.duration.0 / s.bucket.0 > MAX_BUCKETS {
        return fail(
            k("bucket"),
            format!(
                "{} buckets is over the limit of {MAX_BUCKETS}: use a larger bucket",
                s.duration.0 / s.bucket.0
            ),
        );
    }
    let rows = (s.duration.0 / s.bucket.0).saturating_mul(s.functions.len() as u64 + 1);
    if rows > MAX_ROWS {
        return fail(
            k("bucket"),
            format!(
                "{rows} time-series rows (buckets x (functions + 1)) is over the limit of {MAX_ROWS}: use a larger bucket or a shorter duration"
            ),
        );
    }
    if s.warmup >= s.duration {
        return fail(k("warmup"), "must be shorter than duration");
    }
    let a = &s.account;
    if !lim::ACCOUNT_CONCURRENCY.contains(a.concurrency_limit) {
        return fail(
            k("account.concurrency_limit"),
            lim::ACCOUNT_CONCURRENCY.message(),
        );
    }
    if a.unreserved_minimum > a.concurrency_limit {
        return fail(
            k("account.unreserved_minimum"),
            "must not exceed account.concurrency_limit",
        );
    }
    if a.bucket_capacity() == 0 {
        return fail(k("account.burst_quota"), "must be at least 1");
    }
    if a.burst_quota.is_some() && a.scaling != Scaling::Burst {
        return fail(
            k("account.burst_quota"),
            "applies only with scaling = \"burst\"",
        );
    }
    if a.scale_step == Some(0) {
        return fail(k("account.scale_step"), "must be at least 1");
    }
    if a.scale_interval.is_some_and(|i| i.0 < 1000) {
        return fail(k("account.scale_interval"), "must be at least 1ms");
    }
    if !lim::RPS_LIMIT_FACTOR.contains(a.rps_limit_factor) {
        return fail(
            k("account.rps_limit_factor"),
            format!("{} (0 = off)", lim::RPS_LIMIT_FACTOR.message()),
        );
    }
    if s.functions.is_empty() {
        return fail(
            k("functions"),
            "the scenario needs at least one [[functions]] entry",
        );
    }
    let p = &s.pricing;
    for (key, v) in [
        ("request_per_million", p.request_per_million),
        ("gb_second_x86_64", p.gb_second_x86_64),
        ("gb_second_arm64", p.gb_second_arm64),
        (
            "provisioned_gb_second_x86_64",
            p.provisioned_gb_second_x86_64,
        ),
        ("provisioned_gb_second_arm64", p.provisioned_gb_second_arm64),
        (
            "provisioned_duration_gb_second_x86_64",
            p.provisioned_duration_gb_second_x86_64,
        ),
        (
            "provisioned_duration_gb_second_arm64",
            p.provisioned_duration_gb_second_arm64,
        ),
        ("snapstart_cache_gb_second", p.snapstart_cache_gb_second),
        ("snapstart_restore_gb", p.snapstart_restore_gb),
    ] {
        if !(0.0..=lim::MAX_PRICE).contains(&v) {
            return fail(
                k(&format!("pricing.{key}")),
                format!(
                    "must be a finite price in 0..={} dollars, got {}",
                    lim::MAX_PRICE,
                    if v.abs() > lim::MAX_PRICE {
                        format!("{v:e}")
                    } else {
                        format!("{v}")
                    }
                ),
            );
        }
    }
    if s.functions.len() > lim::MAX_FUNCTIONS {
        return fail(
            k("functions"),
            format!(
                "{} functions, more than the limit of {}",
                s.functions.len(),
                lim::MAX_FUNCTIONS
            ),
        );
    }
    let mut reserved_total: u64 = 0;
    let mut unreserved_provisioned: u64 = 0;
    // Name -> index, built once so `check` stays linear in the number of functions.
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(s.functions.len());
    for (i, f) in s.functions.iter().enumerate() {
        let fk = |key: &str| KeyPath::function(i, key);
        if f.name.trim().is_empty() {
            return fail(fk("name"), "must not be empty");
        }
        // The name is a field of timeseries.csv (written unquoted) and a --set key.
        if f.name.contains([',', '"']) || f.name.chars().any(char::is_control) {
            return fail(
                fk("name"),
                format!(
                    "{:?}: a function name may not contain commas, quotes or control characters",
                    f.name
                ),
            );
        }
        let chars = f.name.chars().count();
        if chars > lim::MAX_FUNCTION_NAME {
            return fail(
                fk("name"),
                format!(
                    "is {chars} characters long, more than the limit of {}",
                    lim::MAX_FUNCTION_NAME
                ),
            );
        }
        if index.insert(f.name.as_str(), i).is_some() {
            return fail(fk("name"), format!("duplicate function name {:?}", f.name));
        }
        if !lim::MEMORY_MB.contains(f.memory_mb) {
            return fail(
                fk("memory_mb"),
                format!("{}, got {}", lim::MEMORY_MB.message(), f.memory_mb),
            );
        }
        if f.timeout < Micros::SECOND || f.timeout > Micros::from_secs(900) {
            return fail(
                fk("timeout"),
                format!("must be between 1s and 15m, got {}", f.timeout),
            );
        }
        if !(0.0..=1.0).contains(&f.cpu_bound) {
            return fail(
                fk("cpu_bound"),
                format!("must be a share in 0..=1, got {}", f.cpu_bound),
            );
        }
        if let Some(r) = f.duration_reference_mb {
            if !lim::MEMORY_MB.contains(r) {
                return fail(
                    fk("duration_reference_mb"),
                    format!("{}, got {r}", lim::MEMORY_MB.message()),
                );
            }
        }
        if !lim::THREADS.contains(f.threads) {
            return fail(
                fk("threads"),
                format!("{}, got {}", lim::THREADS.message(), f.threads),
            );
        }
        if !(0.0..=1.0).contains(&f.error_rate) {
            return fail(
                fk("error_rate"),
                format!("must be a probability in 0..=1, got {}", f.error_rate),
            );
        }
        if f.init.is_none() {
            let names: Vec<&str> = presets::RUNTIMES.iter().map(|r| r.name).collect();
            return fail(
                fk("runtime"),
                format!(
                    "unknown runtime {:?} (give `init` or one of: {})",
                    f.runtime,
                    names.join(", ")
                ),
            );
        }
        for (key, d) in [
            ("duration", Some(&f.duration)),
            ("init", f.init.as_ref()),
            ("idle_timeout", Some(&f.idle_timeout)),
        ] {
            if let Some(d) = d {
                d.validate()
                    .map_err(|(field, m)| (fk(&format!("{key}.{field}")), m))?;
            }
        }
        if f.max_lifetime.0 == 0 {
            return fail(fk("max_lifetime"), "must be greater than 0");
        }
        super::provisioned::validate(i, f, s.duration)?;
        // The key a changing provisioned concurrency is named by in the rules below.
        let peak_key = if f.provisioned_autoscaling.is_some() {
            "provisioned_autoscaling.max"
        } else if f.provisioned_varies() {
            "provisioned_schedule"
        } else {
            "provisioned_concurrency"
        };
        super::snapstart::validate(f, &fk)?;
        if let Some(r) = f.reserved_concurrency {
            if r > a.concurrency_limit {
                return fail(
                    fk("reserved_concurrency"),
                    format!(
                        "{r} exceeds account.concurrency_limit {}",
                        a.concurrency_limit
                    ),
                );
            }
            if f.provisioned_concurrency > r {
                return fail(
                    fk("provisioned_concurrency"),
                    format!(
                        "{} exceeds reserved_concurrency {r}: provisioned must be <= reserved",
                        f.provisioned_concurrency
                    ),
                );
            }
            if f.provisioned_peak() > r {
                return fail(
                    fk(peak_key),
                    format!(
                        "provisioned concurrency reaches {}, more than reserved_concurrency {r}: provisioned must be <= reserved",
                        f.provisioned_peak()
                    ),
                );
            }
            reserved_total += r as u64;
            let left = a.concurrency_limit as i64 - reserved_total as i64;
            if left < a.unreserved_minimum as i64 {
                return fail(
                    fk("reserved_concurrency"),
                    format!(
                        "reservations total {reserved_total}, leaving {left} unreserved of account.concurrency_limit {}; at least account.unreserved_minimum = {} must stay unreserved",
                        a.concurrency_limit, a.unreserved_minimum
                    ),
                );
            }
        } else {
            unreserved_provisioned += f.provisioned_peak() as u64;
        }
        if f.provisioned_peak() > a.concurrency_limit {
            return fail(fk(peak_key), "exceeds account.concurrency_limit");
        }
    }
    // Provisioned concurrency of functions without a reservation comes out of the unreserved
    // pool, which must keep account.unreserved_minimum (100) for on-demand use: "Configuring
    // provisioned concurrency",
    // <https://docs.aws.amazon.com/lambda/latest/dg/provisioned-concurrency.html>.
    let pool = a.concurrency_limit as u64 - reserved_total;
    if unreserved_provisioned + a.unreserved_minimum as u64 > pool {
        let i = s
            .functions
            .iter()
            .rposition(|f| f.reserved_concurrency.is_none() && f.provisioned_peak() > 0)
            .unwrap_or(0);
        return fail(
            KeyPath::function(i, "provisioned_concurrency"),
            format!("provisioned concurrency of functions without a reservation totals {unreserved_provisioned}, leaving {} of the unreserved pool of {pool}; at least account.unreserved_minimum = {} must stay unreserved", pool as i64 - unreserved_provisioned as i64, a.unreserved_minimum),
        );
    }
    let mut expected_requests = 0.0;
    for (i, t) in s.traffic.iter().enumerate() {
        let tk = |key: &str| KeyPath::traffic(i, key);
        let Some(&fi) = index.get(t.function.as_str()) else {
            // Name at most a few functions so the error stays one short line.
            let mut names: Vec<&str> = s
                .functions
                .iter()
                .take(8)
                .map(|f| f.name.as_str())
                .collect();
            if s.functions.len() > 8 {
                names.push("...");
            }
            let shown: String = t.function.chars().take(lim::MAX_FUNCTION_NAME).collect();
            return fail(
                tk("function"),
                format!(
                    "no function named {:?} (functions: {})",
                    shown,
                    names.join(", ")
                ),
            );
        };
        t.load
            .validate()
            .map_err(|(field, m)| (tk(&format!("load.{field}")), m))?;
        expected_requests += t.load.peak_rps() * s.duration.as_secs_f64();
        let f = &s.functions[fi];
        validate_invocation(t, f, &tk)?;
        if let Some(r) = &t.retry {
            if r.mode != RetryMode::None && t.invocation != Invocation::Sync {
                return fail(tk("retry"), "client retries apply to sync invocations only");
            }
            if r.max_attempts
                .is_some_and(|m| !lim::RETRY_MAX_ATTEMPTS.contains(m))
            {
                return fail(tk("retry.max_attempts"), lim::RETRY_MAX_ATTEMPTS.message());
            }
            if r.clients.is_some_and(|n| !lim::RETRY_CLIENTS.contains(n)) {
                return fail(tk("retry.clients"), lim::RETRY_CLIENTS.message());
            }
            if r.base.is_some_and(|b| b.0 == 0) {
                return fail(tk("retry.base"), "must be greater than 0");
            }
            if r.cap.is_some_and(|c| c.0 == 0) {
                return fail(tk("retry.cap"), "must be greater than 0");
            }
        }
    }
    super::gateway::validate(s)?;
    super::capacity::validate(s)?;
    if expected_requests > MAX_REQUESTS {
        return fail(
            k("traffic"),
            format!("the traffic asks for about {expected_requests:.2e} requests, over the limit of {MAX_REQUESTS:e}: shorten duration or lower the rate"),
        );
    }
    super::dependencies::validate(s)?;
    Ok(())
}

/// The invocation model's own table: present only for its model, every value in AWS's range
/// (docs/platform.md "Invocation models and retries").
fn validate_invocation(t: &Traffic, f: &Function, tk: &dyn Fn(&str) -> KeyPath) -> R {
    let wrong_table = match t.invocation {
        Invocation::Sync => t.async_.is_some() || t.sqs.is_some() || t.stream.is_some(),
        Invocation::Async => t.sqs.is_some() || t.stream.is_some(),
        Invocation::Sqs => t.async_.is_some() || t.stream.is_some(),
        Invocation::Stream => t.async_.is_some() || t.sqs.is_some(),
    };
    if wrong_table {
        return fail(
            tk("invocation"),
            "an async/sqs/stream table needs the matching invocation model (invocation = \"async\", \"sqs\" or \"stream\")",
        );
    }
    let probability = |key: &str, p: f64| -> R {
        if (0.0..=1.0).contains(&p) {
            Ok(())
        } else {
            fail(tk(key), format!("must be a probability in 0..=1, got {p}"))
        }
    };
    if let Some(a) = &t.async_ {
        if !lim::ASYNC_RETRY_ATTEMPTS.contains(a.maximum_retry_attempts) {
            return fail(
                tk("async.maximum_retry_attempts"),
                lim::ASYNC_RETRY_ATTEMPTS.message(),
            );
        }
        if a.maximum_event_age < Micros::from_secs(60)
            || a.maximum_event_age > Micros::from_secs(6 * 3600)
        {
            return fail(
                tk("async.maximum_event_age"),
                format!("must be between 60s and 6h, got {}", a.maximum_event_age),
            );
        }
    }
    if let Some(q) = &t.sqs {
        if !lim::SQS_BATCH_SIZE.contains(q.batch_size) {
            return fail(tk("sqs.batch_size"), lim::SQS_BATCH_SIZE.message());
        }
        if q.maximum_batching_window > Micros::from_secs(300) {
            return fail(tk("sqs.maximum_batching_window"), "must be at most 300s");
        }
        if !lim::SQS_MAXIMUM_CONCURRENCY.contains(q.maximum_concurrency) {
            return fail(
                tk("sqs.maximum_concurrency"),
                lim::SQS_MAXIMUM_CONCURRENCY.message(),
            );
        }
        if q.visibility_timeout < f.timeout || q.visibility_timeout > Micros::from_secs(12 * 3600) {
            return fail(
                tk("sqs.visibility_timeout"),
                format!(
                    "must be at least the function timeout ({}) and at most 12h, got {} (AWS refuses an event source mapping whose queue's visibility timeout is below the function timeout)",
                    f.timeout, q.visibility_timeout
                ),
            );
        }
        if !lim::SQS_MAX_RECEIVE_COUNT.contains(q.max_receive_count) {
            return fail(
                tk("sqs.max_receive_count"),
                lim::SQS_MAX_RECEIVE_COUNT.message(),
            );
        }
        probability("sqs.poison_rate", q.poison_rate)?;
    }
    if let Some(st) = &t.stream {
        if !lim::STREAM_SHARDS.contains(st.shards) {
            return fail(tk("stream.shards"), lim::STREAM_SHARDS.message());
        }
        if !lim::STREAM_PARALLELIZATION.contains(st.parallelization_factor) {
            return fail(
                tk("stream.parallelization_factor"),
                lim::STREAM_PARALLELIZATION.message(),
            );
        }
        if !lim::STREAM_BATCH_SIZE.contains(st.batch_size) {
            return fail(tk("stream.batch_size"), lim::STREAM_BATCH_SIZE.message());
        }
        // MaximumBatchingWindowInSeconds: 0 to 300 s.
        if st.batching_window > Micros::from_secs(300) {
            return fail(tk("stream.batching_window"), "must be at most 300s");
        }
        if !lim::STREAM_RETRY_ATTEMPTS.contains(st.maximum_retry_attempts) {
            return fail(
                tk("stream.maximum_retry_attempts"),
                "must be -1 (until the record expires) or in 0..=10000",
            );
        }
        if st.maximum_record_age < Micros::from_secs(60)
            || st.maximum_record_age > Micros::from_secs(7 * 24 * 3600)
        {
            return fail(
                tk("stream.maximum_record_age"),
                format!("must be between 60s and 7d, got {}", st.maximum_record_age),
            );
        }
        probability("stream.poison_rate", st.poison_rate)?;
    }
    Ok(())
}
