//! End-to-end tests of the `logfusion` binary, run as a user runs it: one module per command
//! or contract, sharing the helpers of [`common`].

mod common;

mod accounting;
mod bench;
mod cluster;
mod export;
mod object_store;
mod query;
mod robustness;
mod run;
mod server;
mod validate;
