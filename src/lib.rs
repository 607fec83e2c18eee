//! lambdasim: a discrete-event simulator of AWS Lambda concurrency, scaling quotas and retries.
//!
//! Data flows one way: [`scenario`] (parse, validate, resolve) → [`model::Model`] (index-based
//! tables) → [`engine`] (event loop) → [`stats`] (streaming statistics) → [`output`] (files).
//! See ARCHITECTURE.md for the map of modules and their layers.
//!
//! Running a scenario through the library, as `lambdasim run` does without writing files:
//!
//! ```
//! use lambdasim::{scenario, simulate, Model};
//! use lambdasim::stats::NoRecorder;
//! use std::path::Path;
//!
//! let text = r#"
//! name = "doc"
//! duration = "60s"
//! seed = 7
//!
//! [[functions]]
//! name = "api"
//! duration = "100ms"
//! reserved_concurrency = 5
//!
//! [[traffic]]
//! function = "api"
//! load = { kind = "constant", rps = 100 }
//! "#;
//! let file = Path::new("doc.toml");
//! let s = scenario::load_str(text, file, &[])?;
//! let model = Model::build(&s, Path::new("."), file)?;
//! let out = simulate(&model, &mut NoRecorder);
//! let api = &out.summary.functions[0].1;
//! // 100 requests/s of 100 ms offer 10 Erlang to 5 reserved environments: Erlang-B blocks
//! // B(5, 10) = 56 % of the attempts (throttled, not retried); 6000 attempts keep the
//! // sample's noise within a few percent.
//! assert!((0.50..0.62).contains(&api.throttle_ratio), "{}", api.throttle_ratio);
//! assert_eq!(out.summary.scenario, "doc");
//! # Ok::<(), lambdasim::Error>(())
//! ```

#![warn(missing_docs)]
pub mod app;
pub mod compare;
pub mod cost;
pub mod dist;
pub mod engine;
pub mod error;
pub mod explain;
pub mod import;
pub mod load;
pub mod model;
pub mod output;
pub mod presets;
pub mod retry;
pub mod rng;
pub mod run;
pub mod scenario;
pub mod schema;
pub mod serve;
pub mod stats;
pub mod sweep;
pub mod time;
pub mod trace;
pub mod whatif;

pub use error::Error;
pub use model::Model;
pub use run::{simulate, RunOutput};
pub use scenario::{Override, Scenario};
pub use time::Micros;
