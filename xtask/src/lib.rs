//! Project automation behind `cargo xtask`: keeping openapi.yaml, the server and the generated
//! client in lockstep, and benchmarking. The black-box tests use [`contract`] to validate every
//! response against openapi.yaml; [`bare`] is the benchmark's one-statement-per-request
//! yardstick.

pub mod bare;
pub mod bench;
pub mod check;
pub mod codegen;
pub mod contract;
pub mod drift;
pub mod spec;
