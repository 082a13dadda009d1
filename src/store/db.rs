//! The database: one facade over SQLite or Postgres through sqlx's `Any` driver. The SQL is
//! shared (both accept `$n` parameters and `RETURNING`) except where noted.

use std::borrow::Cow;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Executor};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Backend {
    Sqlite,
    Postgres,
}

/// The database handle; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pub(super) pool: AnyPool,
    pub(super) backend: Backend,
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The time from `then` (ms since the epoch) to now; zero for a time to come.
pub fn since_ms(then: i64) -> std::time::Duration {
    std::time::Duration::from_millis((now_ms() - then).max(0) as u64)
}

fn migration(version: i64, name: &'static str, sql: &'static str) -> Migration {
    Migration::new(
        version,
        Cow::Borrowed(name),
        MigrationType::Simple,
        sqlx::SqlSafeStr::into_sql_str(sql),
        false,
    )
}

/// The migrations of `backend` in order, their SQL compiled in. Both backends have the same
/// list, each in its own dialect.
fn migrations(backend: Backend) -> Vec<Migration> {
    macro_rules! listed {
        ($($version:literal, $description:literal, $file:literal;)*) => {
            match backend {
                Backend::Sqlite => vec![$(migration(
                    $version,
                    $description,
                    include_str!(concat!("../../migrations/sqlite/", $file)),
                )),*],
                Backend::Postgres => vec![$(migration(
                    $version,
                    $description,
                    include_str!(concat!("../../migrations/postgres/", $file)),
                )),*],
            }
        };
    }
    listed! {
        1, "deliveries and jobs", "0001_deliveries_and_jobs.sql";
        2, "dedupe and findings", "0002_dedupe_and_findings.sql";
        3, "pr settings and notices", "0003_pr_settings_and_notices.sql";
        4, "recovery, check runs and acknowledgements", "0004_recovery_checks_acks.sql";
        5, "finding threads", "0005_finding_threads.sql";
        6, "learnings", "0006_learnings.sql";
        7, "review runs", "0007_review_runs.sql";
        8, "api reviews", "0008_api_reviews.sql";
        9, "safety", "0009_safety.sql";
        10, "model usage", "0010_model_usage.sql";
        11, "delivery log", "0011_delivery_log.sql";
    }
}

impl Store {
    /// Connects, creates the SQLite file if needed, and applies the migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let (backend, url) = if url.starts_with("sqlite:") {
            let mut url = url.to_owned();
            if !url.contains("mode=") {
                url.push(if url.contains('?') { '&' } else { '?' });
                url.push_str("mode=rwc");
            }
            (Backend::Sqlite, url)
        } else {
            (Backend::Postgres, url.to_owned())
        };
        let options = AnyConnectOptions::from_str(&url).context("DATABASE_URL is not valid")?;
        let mut pool = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        if backend == Backend::Sqlite {
            pool = pool.max_connections(8).after_connect(|conn, _| {
                Box::pin(async move {
                    // WAL lets readers run beside the one writer; FULL keeps an answered
                    // delivery on disk even through a power cut.
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = FULL").await?;
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    Ok(())
                })
            });
        } else {
            pool = pool.max_connections(16);
        }
        let pool = pool
            .connect_with(options)
            .await
            .context("cannot open the database")?;
        let migrations = migrations(backend);
        Migrator::with_migrations(migrations)
            .run(&pool)
            .await
            .context("applying database migrations")?;
        Ok(Self { pool, backend })
    }

    /// Whether the delivery with this id (`X-GitHub-Delivery`) is stored.
    pub async fn has_delivery(&self, id: &str) -> anyhow::Result<bool> {
        let row = sqlx::query("SELECT 1 FROM deliveries WHERE delivery_id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// Writes and removes a row in a temporary table: the database takes writes.
    pub async fn check_writable(&self) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("CREATE TEMPORARY TABLE doctor_check (x BIGINT)")
            .execute(&mut *tx)
            .await
            .context("creating a table")?;
        sqlx::query("INSERT INTO doctor_check (x) VALUES (1)")
            .execute(&mut *tx)
            .await
            .context("writing a row")?;
        tx.rollback().await?;
        Ok(())
    }

    /// True when the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}
