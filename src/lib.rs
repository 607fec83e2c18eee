//! lambdasim: a discrete-event simulator of AWS Lambda concurrency, scaling quotas and retries.
//!
//! Data flows one way: [`scenario`] (parse, validate, resolve) → [`model::Model`] (index-based
//! tables) → [`engine`] (event loop) → [`stats`] (streaming statistics) → [`output`] (files).
//! See ARCHITECTURE.md for the map of modules.

pub mod app;
pub mod cost;
pub mod dist;
pub mod engine;
pub mod error;
pub mod explain;
pub mod load;
pub mod model;
pub mod output;
pub mod presets;
pub mod retry;
pub mod rng;
pub mod run;
pub mod scenario;
pub mod schema;
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
