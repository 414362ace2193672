//! `stockade learn`: from observations of a program to a profile patch.
//!
//! Split as ARCHITECTURE.md section 8 asks: the tracer (an alternative supervisor loop
//! over the same Plan) writes [`event`]s as JSON lines; everything after that is pure and
//! tested from recorded logs: [`generalise`] (path collapsing, variables, syscall groups,
//! the dangerous-call gate) and [`patch`] (the TOML overlay that `extends` the profile,
//! each entry commented with what used it). `--merge` of several logs is the same code on
//! their concatenated events.

pub mod args;
pub mod cmd;
pub mod event;
pub mod generalise;
pub mod patch;
mod tracee;
pub mod tracer;
pub mod write;

#[cfg(test)]
mod tests;
