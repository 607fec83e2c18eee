//! `lambdasim schema`: a JSON Schema (draft 2020-12) of the scenario file, for editors.
//!
//! Built by hand rather than derived: the scenario types deserialize durations from strings or
//! numbers (`Micros`), distributions from a table or a bare duration (`dist_or_fixed`), and the
//! `dist` / `load` tables as internally tagged enums; a derive would need custom schemas for all
//! of these anyway, plus attributes on types other engineers edit. The schema mirrors
//! `scenario::Scenario` and its tables (`deny_unknown_fields` becomes
//! `additionalProperties: false`), takes ranges from `scenario::validate` and names from the
//! preset tables. `tests/schema.rs` keeps it honest: every shipped scenario and every resolved
//! scenario `lambdasim check` prints validates against it, and a misspelt key does not.

use crate::load::MAX_RPS;
use crate::presets;
use crate::scenario::limits as lim;
use serde_json::{json, Map, Value};

/// Units `time::parse_duration` accepts.
const DURATION_PATTERN: &str = r"^\s*\+?([0-9]+(\.[0-9]*)?|\.[0-9]+)\s*(us|µs|ms|s|sec|secs|m|min|mins|h|hr|hours|d|days)?\s*$";

/// The schema as pretty-printed JSON text.
pub fn schema_text() -> String {
    let mut s = serde_json::to_string_pretty(&schema()).unwrap_or_default();
    s.push('\n');
    s
}

/// An object schema that rejects unknown keys, as `deny_unknown_fields` does.
fn object(description: &str, props: Value, required: &[&str]) -> Value {
    json!({
        "type": "object",
        "description": description,
        "properties": props,
        "required": required,
        "additionalProperties": false,
    })
}

fn duration(description: &str) -> Value {
    json!({ "$ref": "#/$defs/duration", "description": description })
}

fn dist_ref(description: &str) -> Value {
    json!({ "$ref": "#/$defs/dist_or_duration", "description": description })
}

fn string_enum(description: &str, values: &[&str]) -> Value {
    json!({ "type": "string", "enum": values, "description": description })
}

fn rate(description: &str) -> Value {
    json!({ "type": "number", "minimum": 0, "maximum": MAX_RPS, "description": description })
}

/// One variant of an internally tagged table (`{ dist = "<name>", ... }`,
/// `{ kind = "<name>", ... }`); `optional` fields may be left out.
fn tagged(
    tag: &str,
    name: &str,
    description: &str,
    fields: &[(&str, Value)],
    optional: &[(&str, Value)],
) -> Value {
    let mut props = Map::new();
    props.insert(tag.into(), json!({ "const": name }));
    let mut required = vec![tag];
    for (k, v) in fields {
        props.insert((*k).into(), v.clone());
        required.push(k);
    }
    for (k, v) in optional {
        props.insert((*k).into(), v.clone());
    }
    object(description, Value::Object(props), &required)
}

fn dist_variant(name: &str, description: &str, fields: &[(&str, Value)]) -> Value {
    tagged("dist", name, description, fields, &[])
}

fn load_variant(
    name: &str,
    description: &str,
    fields: &[(&str, Value)],
    optional: &[(&str, Value)],
) -> Value {
    tagged("kind", name, description, fields, optional)
}

fn dists() -> Value {
    let d = |s: &str| duration(s);
    json!({ "oneOf": [
        dist_variant("fixed", "Always the same duration.", &[("value", d("the duration"))]),
        dist_variant("exponential", "Exponential.", &[("mean", d("mean, > 0"))]),
        dist_variant("uniform", "Uniform between min and max.", &[("min", d("lowest")), ("max", d("highest, >= min"))]),
        dist_variant("lognormal", "Log-normal given its median and 99th percentile.", &[("median", d("median, > 0")), ("p99", d("99th percentile, >= median"))]),
        dist_variant("lognormal", "Log-normal given its mean and standard deviation.", &[("mean", d("mean, > 0")), ("stddev", d("standard deviation"))]),
        dist_variant("normal", "Normal, truncated at 0.", &[("mean", d("mean, > 0")), ("stddev", d("standard deviation"))]),
        dist_variant("gamma", "Gamma.", &[("shape", json!({"type": "number", "exclusiveMinimum": 0, "description": "shape parameter k, > 0"})), ("scale", d("scale, > 0"))]),
        dist_variant("empirical", "One duration per line of a file, drawn uniformly.", &[("path", json!({"type": "string", "description": "relative to the scenario file"}))]),
    ]})
}

fn loads() -> Value {
    let step = object(
        "From `at` on, `rps` requests per second.",
        json!({ "at": duration("when the step starts"), "rps": rate("requests per second") }),
        &["at", "rps"],
    );
    json!({ "oneOf": [
        load_variant("constant", "A constant rate.", &[("rps", rate("requests per second"))], &[]),
        load_variant("steps", "Piecewise-constant rate.", &[("steps", json!({"type": "array", "items": step, "description": "the steps, in time order"}))], &[]),
        load_variant("ramp", "Linear ramp from `from` to `to` over `over`, starting at `start`.",
            &[("from", rate("rate at the start")), ("to", rate("rate at the end")), ("over", duration("ramp length"))],
            &[("start", duration("when the ramp starts (default 0s)"))]),
        load_variant("spike", "`base` rate with `peak` for `length` from `at`.",
            &[("base", rate("base rate")), ("peak", rate("rate during the spike")), ("at", duration("spike start")), ("length", duration("spike length"))], &[]),
        load_variant("diurnal", "Sinusoid: mean + amplitude x sin(2 pi (t + phase) / period).",
            &[("mean", rate("mean rate")), ("amplitude", json!({"type": "number", "minimum": 0, "description": "half the peak-to-trough swing, requests per second"})), ("period", duration("period"))],
            &[("phase", duration("phase shift (default 0s)"))]),
        load_variant("trace", "Replay a trace file: per-second or per-minute counts, timestamps, or the Azure Functions public trace.",
            &[("path", json!({"type": "string", "description": "relative to the scenario file"}))],
            &[("format", string_enum("file format (default auto: decided from the header)", &["auto", "counts", "timestamps", "azure"])),
              ("interval", duration("length of one row of a counts file without a time column (default 1s; Azure 1m)")),
              ("select", json!({"type": "string", "description": "Azure trace: the HashFunction of the row to replay (default the first)"})),
              ("scale", json!({"type": "number", "minimum": 0, "description": "multiplies every count (default 1)"}))]),
    ]})
}

fn function() -> Value {
    let runtimes: Vec<&str> = presets::RUNTIMES.iter().map(|r| r.name).collect();
    object(
        "A Lambda function.",
        json!({
            "name": { "type": "string", "minLength": 1, "description": "unique; traffic and --set address the function by it" },
            "runtime": { "type": "string", "examples": runtimes, "description": "runtime preset: sets the default INIT duration (see `lambdasim presets`); another name needs `init`" },
            "memory_mb": lim::MEMORY_MB.schema("memory in MB (default 128)"),
            "architecture": string_enum("x86_64 (default) or arm64: selects the prices", &["x86_64", "arm64"]),
            "timeout": duration("invocation timeout, 1s..15m (default 3s)"),
            "duration": dist_ref("handler duration: a duration or a distribution table"),
            "init": dist_ref("INIT (cold start) duration; default from the runtime preset"),
            "reserved_concurrency": { "type": "integer", "minimum": 0, "description": "cap and carve-out from the account pool; 0 switches the function off" },
            "provisioned_concurrency": { "type": "integer", "minimum": 0, "description": "pre-initialized environments (<= reserved_concurrency when set)" },
            "error_rate": { "type": "number", "minimum": 0, "maximum": 1, "description": "probability that an invocation ends in a function error" },
            "idle_timeout": dist_ref("an idle environment is reclaimed after this (default uniform 5m..15m)"),
            "max_lifetime": duration("an environment is retired after this age, once idle (default 2h)"),
        }),
        &["name", "duration"],
    )
}

fn traffic() -> Value {
    let retry = object(
        "Client retries of sync traffic (AWS SDK retry modes).",
        json!({
            "mode": string_enum("none (default), legacy, standard or adaptive", &["none", "legacy", "standard", "adaptive"]),
            "max_attempts": lim::RETRY_MAX_ATTEMPTS.schema("attempts in all, the first included (default by mode: legacy 5, standard and adaptive 3)"),
            "base": duration("backoff base (default 1s)"),
            "cap": duration("backoff cap (default 20s)"),
            "clients": lim::RETRY_CLIENTS.schema("independent SDK clients the requests are spread over, uniformly at random, each with its own retry quota and adaptive rate limiter (default 1)"),
        }),
        &[],
    );
    let async_ = object(
        "Async invocation settings.",
        json!({
            "maximum_retry_attempts": lim::ASYNC_RETRY_ATTEMPTS.schema("retries of function errors and timeouts (default 2)"),
            "maximum_event_age": duration("60s..6h: events older than this go to the DLQ or are dropped (default 6h)"),
            "dlq": { "type": "boolean", "description": "a dead-letter queue / on-failure destination is configured" },
        }),
        &[],
    );
    let sqs = object(
        "SQS event source mapping.",
        json!({
            "batch_size": lim::SQS_BATCH_SIZE.schema("messages per batch (default 10)"),
            "maximum_batching_window": duration("0s..5m (default 0s)"),
            "maximum_concurrency": lim::SQS_MAXIMUM_CONCURRENCY.schema("most concurrent batches of this mapping, without throttles (default 1000)"),
            "visibility_timeout": duration("a failed or throttled batch returns after this; at least the function timeout, at most 12h (default 30s)"),
            "max_receive_count": lim::SQS_MAX_RECEIVE_COUNT.schema("receives before a message goes to the DLQ (default 5)"),
            "report_batch_item_failures": { "type": "boolean", "description": "only the failed messages of a batch return to the queue (default false)" },
            "poison_rate": { "type": "number", "minimum": 0, "maximum": 1, "description": "share of messages that always fail (poison messages; lambdasim extension)" },
        }),
        &[],
    );
    let stream = object(
        "Kinesis / DynamoDB stream event source.",
        json!({
            "shards": lim::STREAM_SHARDS.schema("shards of the stream (default 4)"),
            "parallelization_factor": lim::STREAM_PARALLELIZATION.schema("concurrent batches per shard (default 1)"),
            "batch_size": lim::STREAM_BATCH_SIZE.schema("records per batch (default 100)"),
            "maximum_retry_attempts": lim::STREAM_RETRY_ATTEMPTS.schema("retries of a failing batch; -1 = until the record expires (default -1)"),
            "maximum_record_age": duration("60s..7d (default 24h)"),
            "bisect_batch_on_function_error": { "type": "boolean", "description": "a failing batch is split in two and each half retried (default false)" },
            "on_failure_destination": { "type": "boolean", "description": "records that run out of retries or age go to an on-failure destination (counted dlq) instead of being skipped (dropped)" },
            "poison_rate": { "type": "number", "minimum": 0, "maximum": 1, "description": "share of records that always fail (poison records; lambdasim extension)" },
        }),
        &[],
    );
    object(
        "A traffic source sending requests to one function.",
        json!({
            "function": { "type": "string", "description": "name of a function of this scenario" },
            "invocation": string_enum("sync (default), async, sqs or stream", &["sync", "async", "sqs", "stream"]),
            "arrivals": string_enum("poisson (default) or uniform (evenly spaced)", &["poisson", "uniform"]),
            "load": { "$ref": "#/$defs/load", "description": "the load shape: a table with `kind` = constant, steps, ramp, spike, diurnal or trace" },
            "retry": retry,
            "async": async_,
            "sqs": sqs,
            "stream": stream,
        }),
        &["function", "load"],
    )
}

fn account() -> Value {
    let regions: Vec<&str> = presets::BURST_QUOTAS.iter().map(|(r, _)| *r).collect();
    object(
        "Account-level limits and the scaling model.",
        json!({
            "region": { "type": "string", "examples": regions, "description": "selects the legacy burst quota (default us-east-1)" },
            "concurrency_limit": lim::ACCOUNT_CONCURRENCY.schema("account concurrency per region (default 1000)"),
            "unreserved_minimum": { "type": "integer", "minimum": 0, "description": "reservations may not push unreserved below this (default 100)" },
            "scaling": string_enum("per-function (default, current platform) or burst (legacy account burst quota)", &["per-function", "burst"]),
            "burst_quota": { "type": "integer", "minimum": 1, "description": "override of the regional burst quota (burst mode)" },
            "scale_step": { "type": "integer", "minimum": 1, "description": "environments added per scale_interval" },
            "scale_interval": duration("refill interval of the scaling budget"),
            "scale_refill": string_enum("continuous or step", &["continuous", "step"]),
            "rps_limit_factor": lim::RPS_LIMIT_FACTOR.schema("requests-per-second limit = factor x concurrency limit (0 = off; default 10)"),
        }),
        &[],
    )
}

fn pricing() -> Value {
    let price = |d: &str| json!({ "type": "number", "minimum": 0, "description": d });
    object(
        "Prices in USD (default us-east-1 list prices).",
        json!({
            "request_per_million": price("per million requests"),
            "gb_second_x86_64": price("on-demand, per GB-second"),
            "gb_second_arm64": price("on-demand, per GB-second"),
            "provisioned_gb_second_x86_64": price("provisioned concurrency configured, per GB-second"),
            "provisioned_gb_second_arm64": price("provisioned concurrency configured, per GB-second"),
            "provisioned_duration_gb_second_x86_64": price("duration on provisioned environments, per GB-second"),
            "provisioned_duration_gb_second_arm64": price("duration on provisioned environments, per GB-second"),
            "bill_init": { "type": "boolean", "description": "INIT of on-demand cold starts is billed (since Aug 2025; default true)" },
        }),
        &[],
    )
}

/// The scenario schema as a JSON value.
pub fn schema() -> Value {
    let mut top = object(
        "A lambdasim scenario: functions, their traffic, account limits and prices.",
        json!({
            "name": { "type": "string", "minLength": 1, "description": "names the default output folder" },
            "description": { "type": "string", "description": "free text, shown in report.html" },
            "duration": duration("simulated time (at most 90 days)"),
            "seed": { "type": "integer", "minimum": 0, "description": "same seed + same scenario = identical outputs (default 1)" },
            "bucket": duration("time-series resolution, at least 1ms (default 1s)"),
            "warmup": duration("excluded from summary statistics (default 0s)"),
            "account": account(),
            "functions": { "type": "array", "minItems": 1, "items": function(), "description": "the functions of the account (`[[functions]]`, at least one)" },
            "traffic": { "type": "array", "items": traffic(), "description": "traffic sources (`[[traffic]]`), each sending requests to one function" },
            "pricing": pricing(),
        }),
        &["name", "duration", "functions"],
    );
    let m = top.as_object_mut().expect("object");
    m.insert(
        "$schema".into(),
        json!("https://json-schema.org/draft/2020-12/schema"),
    );
    m.insert("title".into(), json!("lambdasim scenario"));
    m.insert(
        "$defs".into(),
        json!({
            "duration": {
                "description": "a duration with a unit (\"250ms\", \"10s\", \"5m\", \"1h\", \"500us\") or a number of seconds",
                "anyOf": [
                    { "type": "string", "pattern": DURATION_PATTERN },
                    { "type": "number", "minimum": 0 },
                ],
            },
            "dist": dists(),
            "dist_or_duration": {
                "anyOf": [ { "$ref": "#/$defs/duration" }, { "$ref": "#/$defs/dist" } ],
            },
            "load": loads(),
        }),
    );
    top
}
