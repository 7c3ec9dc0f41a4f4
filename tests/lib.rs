//! Black-box tests for Ratel live in `tests/`; this crate has no library code.
