//! `codex-review eval`: review quality measured on labelled pull requests.
//!
//! A dataset (`dataset`) is JSON Lines, one case a line: a pull request, a local git
//! repository with a base and a head revision, or base files and a patch (`patched` makes
//! them a repository), with the findings a good review reports (none, for a clean case).
//! The scorer (`score`) matches what a review reported against them and
//! adds up recall, precision, noise and cost per configuration; `report` writes them as
//! Markdown, JSON and an SVG chart of recall against cost.

pub mod dataset;
pub mod fates;
pub mod judge;
pub mod losses;
pub mod overrides;
pub mod patched;
pub mod repeats;
pub mod report;
pub mod score;
pub mod stored;
