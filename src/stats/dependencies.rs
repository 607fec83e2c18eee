//! Statistics of downstream limits (`[[dependencies]]`): one time-series row per dependency and
//! bucket ([`DependencyRow`], written to dependencies.csv and drawn as dependencies.png) and the
//! summary of each ([`DependencySummary`], `dependencies.<name>` in summary.json).

use super::summary::Percentiles;
use crate::time::Micros;
use serde::Serialize;

/// One bucket of one dependency.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DependencyRow {
    /// Start of the bucket.
    pub start: Micros,
    /// Index of the dependency (scenario order).
    pub dependency: u32,
    /// Its connection limit.
    pub max_connections: u32,
    /// Most connections held at once in the bucket.
    pub connections_max: u32,
    /// Time-weighted mean of connections held.
    pub connections_mean: f64,
    /// Most invocations waiting for a connection at once (pooled dependencies).
    pub waiting_max: u32,
    /// Invocations that failed for want of a connection (refused at once, or their pool wait
    /// ran out), counted when they failed.
    pub connection_errors: u64,
    /// Invocations that began to wait for a connection.
    pub waits: u64,
}

/// `dependencies.<name>` of summary.json: over the summary window (after the warmup).
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct DependencySummary {
    /// The connection limit.
    pub max_connections: u32,
    /// Most connections held at once.
    pub peak_connections: u32,
    /// Time-weighted mean of connections held.
    pub mean_connections: f64,
    /// `mean_connections / max_connections`.
    pub utilization: f64,
    /// Connections handed out (invocations that got every connection they needed count once
    /// per dependency).
    pub acquired: u64,
    /// Invocations that failed for want of a connection.
    pub connection_errors: u64,
    /// `connection_errors / (acquired + connection_errors)`: the share of invocations that
    /// asked for a connection and failed.
    pub error_ratio: f64,
    /// Invocations that had to wait for a connection (pooled dependencies).
    pub waits: u64,
    /// Waits that ran out (subset of `connection_errors`).
    pub wait_timeouts: u64,
    /// Time spent waiting by invocations that waited, ms.
    pub wait_ms: Percentiles,
}
