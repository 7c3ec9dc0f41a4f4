//! Ratel's Rust SDK.
//!
//! [`generated`] is the low-level client, generated from openapi.yaml by `cargo xtask codegen`
//! (never edited by hand).

#[allow(
    clippy::all,
    clippy::pedantic,
    missing_docs,
    unused_imports,
    irrefutable_let_patterns
)]
#[rustfmt::skip]
pub mod generated;
