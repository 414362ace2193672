//! seccomp data shared by the compiler and the executor: the named syscall groups
//! (systemd's `@group` vocabulary) and the built-in `default` deny preset.

pub mod bpf;
pub mod groups;
pub mod preset;
