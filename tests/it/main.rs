//! The integration tests, in one binary (one link instead of thirty): each module drives the
//! service (or a part of it) over HTTP against the fakes in `support`, on a real database.
//! `tests/log_secrets.rs` stays a binary of its own: it installs the process's one global
//! log subscriber.

#[macro_use]
mod support;

mod acks;
mod checks;
mod cli;
mod cli_review;
mod config;
mod conversation;
mod deploy_files;
mod diff_props;
mod docs;
mod doctor;
mod durability;
mod errors;
mod eval;
mod eval_sample;
mod fake_services;
mod findings;
mod gate_bypass;
mod github_calls;
mod hardening;
mod large_prs;
mod lifecycle;
mod limits;
mod local_git;
mod markdown;
mod metrics;
mod model_faults;
mod picture;
mod pull_mode;
mod recovery;
mod redelivery;
mod repo_tools;
mod review_api;
mod review_e2e;
mod rooms;
mod setup;
mod snapshot;
mod spend;
mod status_page;
mod store;
mod usage;
mod webhook;
