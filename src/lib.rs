//! stockade: a declarative sandbox launcher.
//!
//! The pipeline runs in one direction:
//! `profile` (TOML wire types) → `compile` (pure) → `plan::Plan` (typed IR with one ordered
//! list of steps) → backends (`exec` runs it, `oci` exports it, `plan::explain` shows it).
//! Only `exec` (and the `cgroup` module it drives) changes kernel state.

pub mod app;
pub mod audit;
pub mod cgroup;
pub mod cli;
pub mod compile;
pub mod diag;
pub mod doctor;
pub mod exec;
pub mod host;
pub mod host_links;
pub mod learn;
pub mod log;
pub mod net;
pub mod oci;
pub mod plan;
pub mod profile;
pub mod schema;
pub mod seccomp;
pub mod units;
