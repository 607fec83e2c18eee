//! API Gateway in front of sync traffic: the `gateway` key of a `[[traffic]]` entry and the
//! named `[[gateways]]` several entries can share.
//!
//! Two shapes, one meaning:
//!
//! ```toml
//! [[traffic]]                     # a gateway of its own
//! gateway = { rate = 500, burst = 200, timeout = "29s" }
//!
//! [[gateways]]                    # one gateway (one token bucket) shared by name
//! name = "api"
//! rate = 500
//! [[traffic]]
//! gateway = "api"
//! ```
//!
//! Every key of a gateway is optional; the defaults are API Gateway's documented account
//! defaults. Throttle quota per account, per Region: 10,000 requests per second with a token
//! bucket of 5,000 requests ("Amazon API Gateway quotas",
//! <https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html>; some newer
//! Regions default to 2,500 / 1,250). Integration timeout: 50 ms to 29 s for REST APIs, 29 s
//! the default ("Quotas for configuring and running a REST API in API Gateway",
//! <https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-execution-service-limits-table.html>;
//! Regional and private REST APIs may raise it through a quota increase since June 2024,
//! <https://aws.amazon.com/about-aws/whats-new/2024/06/amazon-api-gateway-integration-timeout-limit-29-seconds/>).

use super::limits as lim;
use crate::error::KeyPath;
use crate::time::Micros;
use schemars::JsonSchema;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// Account throttle rate of API Gateway, requests per second (limits.html, see the module doc).
pub const DEFAULT_RATE: f64 = 10_000.0;
/// Account burst (token bucket capacity) of API Gateway, requests.
pub const DEFAULT_BURST: u32 = 5_000;
/// Default integration timeout of a REST API.
pub const DEFAULT_TIMEOUT: Micros = Micros::from_secs(29);

fn default_rate() -> f64 {
    DEFAULT_RATE
}
fn default_burst() -> u32 {
    DEFAULT_BURST
}
fn default_timeout() -> Micros {
    DEFAULT_TIMEOUT
}

/// An API Gateway's throttle and integration timeout (`traffic.gateway = { ... }`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GatewaySpec {
    /// Steady-state requests per second the token bucket refills (default 10000, API
    /// Gateway's account default).
    #[serde(default = "default_rate")]
    #[schemars(range(min = lim::GATEWAY_RATE_MIN, max = lim::GATEWAY_RATE_MAX))]
    pub rate: f64,
    /// Token bucket capacity: requests that may pass at once (default 5000).
    #[serde(default = "default_burst")]
    #[schemars(range(min = lim::GATEWAY_BURST.min, max = lim::GATEWAY_BURST.max))]
    pub burst: u32,
    /// Integration timeout, 50ms..15m: the client gets a 504 then while the function keeps
    /// running (default 29s).
    #[serde(default = "default_timeout")]
    pub timeout: Micros,
}

impl Default for GatewaySpec {
    fn default() -> Self {
        GatewaySpec {
            rate: DEFAULT_RATE,
            burst: DEFAULT_BURST,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// A named API Gateway (`[[gateways]]`): the traffic entries with `gateway = "<name>"` share
/// its token bucket.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct NamedGateway {
    /// Unique; traffic entries name the gateway by it.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Steady-state requests per second (default 10000).
    #[serde(default = "default_rate")]
    #[schemars(range(min = lim::GATEWAY_RATE_MIN, max = lim::GATEWAY_RATE_MAX))]
    pub rate: f64,
    /// Token bucket capacity (default 5000).
    #[serde(default = "default_burst")]
    #[schemars(range(min = lim::GATEWAY_BURST.min, max = lim::GATEWAY_BURST.max))]
    pub burst: u32,
    /// Integration timeout, 50ms..15m (default 29s).
    #[serde(default = "default_timeout")]
    pub timeout: Micros,
}

impl NamedGateway {
    /// The gateway's settings without its name.
    pub fn spec(&self) -> GatewaySpec {
        GatewaySpec {
            rate: self.rate,
            burst: self.burst,
            timeout: self.timeout,
        }
    }
}

/// `traffic.gateway`: the name of a `[[gateways]]` entry, or a table of the entry's own.
#[derive(Clone, Debug, Serialize, PartialEq, JsonSchema)]
#[serde(untagged)]
pub enum GatewayRef {
    /// Shares the `[[gateways]]` entry of this name.
    Named(String),
    /// A gateway of this traffic entry alone.
    Inline(GatewaySpec),
}

// By hand rather than `untagged`, so an error inside the table (an unknown key, a bad
// duration) reaches the user as itself, not as "did not match any variant".
impl<'de> Deserialize<'de> for GatewayRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = GatewayRef;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("the name of a [[gateways]] entry or a table { rate, burst, timeout }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<GatewayRef, E> {
                Ok(GatewayRef::Named(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<GatewayRef, A::Error> {
                GatewaySpec::deserialize(de::value::MapAccessDeserializer::new(m))
                    .map(GatewayRef::Inline)
            }
        }
        d.deserialize_any(V)
    }
}

/// Checks of `[[gateways]]` and every `traffic.gateway`: names unique and known, values in
/// range, and a gateway only in front of sync traffic (API Gateway's Lambda integration
/// invokes the function synchronously; async and event source traffic never passes one).
pub(super) fn validate(s: &super::Scenario) -> Result<(), (KeyPath, String)> {
    if s.gateways.len() > lim::MAX_GATEWAYS {
        return Err((
            KeyPath::parse("gateways"),
            format!("at most {} gateways", lim::MAX_GATEWAYS),
        ));
    }
    let mut names = std::collections::HashSet::new();
    for (i, g) in s.gateways.iter().enumerate() {
        let gk = |key: &str| KeyPath::parse(&format!("gateways[{i}].{key}"));
        if g.name.trim().is_empty() {
            return Err((gk("name"), "must not be empty".into()));
        }
        if !names.insert(g.name.as_str()) {
            return Err((gk("name"), format!("{:?} is defined twice", g.name)));
        }
        check_spec(&g.spec(), &gk)?;
    }
    for (i, t) in s.traffic.iter().enumerate() {
        let tk = |key: &str| KeyPath::traffic(i, &format!("gateway.{key}"));
        let Some(g) = &t.gateway else { continue };
        if t.invocation != super::Invocation::Sync {
            return Err((
                KeyPath::traffic(i, "gateway"),
                "API Gateway fronts sync traffic only (its Lambda integration invokes synchronously)"
                    .into(),
            ));
        }
        match g {
            GatewayRef::Named(n) if !names.contains(n.as_str()) => {
                let shown: String = n.chars().take(64).collect();
                return Err((
                    KeyPath::traffic(i, "gateway"),
                    format!("no [[gateways]] entry named {shown:?}"),
                ));
            }
            GatewayRef::Named(_) => {}
            GatewayRef::Inline(spec) => check_spec(spec, &tk)?,
        }
    }
    Ok(())
}

fn check_spec(g: &GatewaySpec, key: &dyn Fn(&str) -> KeyPath) -> Result<(), (KeyPath, String)> {
    if !(lim::GATEWAY_RATE_MIN..=lim::GATEWAY_RATE_MAX).contains(&g.rate) {
        return Err((
            key("rate"),
            format!(
                "must be in {}..={} requests per second",
                lim::GATEWAY_RATE_MIN,
                lim::GATEWAY_RATE_MAX
            ),
        ));
    }
    if !lim::GATEWAY_BURST.contains(g.burst) {
        return Err((key("burst"), lim::GATEWAY_BURST.message()));
    }
    if g.timeout < lim::GATEWAY_TIMEOUT_MIN || g.timeout > lim::GATEWAY_TIMEOUT_MAX {
        return Err((key("timeout"), "must be in 50ms..=15m".into()));
    }
    Ok(())
}
