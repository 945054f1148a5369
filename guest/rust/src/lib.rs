//! Guest bindings for wasi-memfd.
