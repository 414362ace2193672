//! The native executor. STUB: the executor work implements it.

pub mod confine;
