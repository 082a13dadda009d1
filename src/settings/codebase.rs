//! The repository snapshot and the model's tools: where snapshots live, their limits, and the
//! tool budgets.

use std::time::Duration;

use super::{SettingsError, whole_number};

/// The repository snapshot and the model's tools over it.
#[derive(Debug, Clone, PartialEq)]
pub struct CodebaseSettings {
    /// `CODEX_REVIEW_SNAPSHOT_DIR`: where snapshots are unpacked, default
    /// `codex-review-snapshots-INSTANCE` in the service's data directory (beside the SQLite
    /// database; the working directory with PostgreSQL). A cache, emptied of earlier
    /// snapshots at start; created with mode 0700, and refused at start when another user
    /// owns it or may enter it.
    pub snapshot_dir: std::path::PathBuf,
    /// `CODEX_REVIEW_SNAPSHOT_CACHE_MB`: snapshots no review holds are removed, oldest first,
    /// beyond this total, default 2,048.
    pub cache_bytes: u64,
    /// `CODEX_REVIEW_SNAPSHOT_MAX_ARCHIVE_MB` (default 256), `..._MAX_UNPACKED_MB` (1,024),
    /// `..._MAX_FILES` (100,000), `..._MAX_FILE_KB` (4,096: larger files are left out). A
    /// repository over the first three is read file by file through the contents API.
    pub limits: crate::codebase::Limits,
    /// `CODEX_REVIEW_TOOL_TURNS` (default 12; 0 turns the tools off), `CODEX_REVIEW_TOOL_CALLS`
    /// (120 per review), `CODEX_REVIEW_TOOL_INPUT_TOKENS` (2,000,000 per review, cached ones
    /// weighted by their price), `CODEX_REVIEW_TOOL_SECONDS` (600 per conversation). The
    /// review's calls and tokens are shared out: a fifth for the verification, the rest in
    /// equal shares between the parts. A repository may lower them.
    pub tools: crate::model::ToolLimits,
}

impl CodebaseSettings {
    /// Reads the settings through `lookup`; `instance` names the default snapshot directory,
    /// which `DATABASE_URL` places.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        instance: &str,
    ) -> Result<Self, SettingsError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let number =
            |var: &'static str, default: u64, min: u64| whole_number(get(var), var, default, min);
        const MB: u64 = 1024 * 1024;
        let limits = crate::codebase::Limits::default();
        let tools = crate::model::ToolLimits::default();
        let safe_instance: String = instance
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        Ok(Self {
            snapshot_dir: get("CODEX_REVIEW_SNAPSHOT_DIR")
                .map(|d| std::path::PathBuf::from(d.trim()))
                .unwrap_or_else(|| {
                    let name = format!("codex-review-snapshots-{safe_instance}");
                    super::credentials::beside_database(&lookup, &name)
                }),
            cache_bytes: number("CODEX_REVIEW_SNAPSHOT_CACHE_MB", 2_048, 1)? * MB,
            limits: crate::codebase::Limits {
                compressed_bytes: number(
                    "CODEX_REVIEW_SNAPSHOT_MAX_ARCHIVE_MB",
                    limits.compressed_bytes / MB,
                    1,
                )? * MB,
                unpacked_bytes: number(
                    "CODEX_REVIEW_SNAPSHOT_MAX_UNPACKED_MB",
                    limits.unpacked_bytes / MB,
                    1,
                )? * MB,
                files: number("CODEX_REVIEW_SNAPSHOT_MAX_FILES", limits.files, 1)?,
                file_bytes: number(
                    "CODEX_REVIEW_SNAPSHOT_MAX_FILE_KB",
                    limits.file_bytes / 1024,
                    1,
                )? * 1024,
            },
            tools: crate::model::ToolLimits {
                turns: number("CODEX_REVIEW_TOOL_TURNS", tools.turns.into(), 0)? as u32,
                calls: number("CODEX_REVIEW_TOOL_CALLS", tools.calls.into(), 1)? as u32,
                input_tokens: number("CODEX_REVIEW_TOOL_INPUT_TOKENS", tools.input_tokens, 1_000)?,
                wall: Duration::from_secs(number(
                    "CODEX_REVIEW_TOOL_SECONDS",
                    tools.wall.as_secs(),
                    1,
                )?),
            },
        })
    }
}
