//! codex-review: a self-hosted GitHub App that reviews pull requests with an OpenAI model.
//!
//! The flow: [`server`] verifies and stores a delivery as a job, [`store`] keeps it and [`worker`] runs it,
//! [`review`] reads the PR through [`github`], renders the [`diff`] for the [`model`], places
//! the findings on commentable lines and posts one review.

pub mod api;
pub mod app;
pub mod chart;
pub mod cli;
pub mod codebase;
pub mod commands;
pub mod diff;
pub mod doctor;
pub mod error_chain;
pub mod eval;
pub mod event;
pub mod github;
pub mod ids;
pub mod intake;
pub mod markdown;
pub mod metrics;
pub mod model;
pub mod pipeline;
pub mod repo_config;
pub mod retry;
pub mod review;
pub mod scratch;
pub mod secret;
pub mod server;
pub mod settings;
pub mod store;
pub mod threads;
pub mod untrusted;
pub mod when;
pub mod worker;
