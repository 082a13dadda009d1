//! Reviews asked for through the review API: stored with their job in one transaction (so an
//! accepted request is never lost and never runs twice), found again by `Idempotency-Key`,
//! and completed with the structured result or the failure's explanation.

use anyhow::Context as _;
use sqlx::Row as _;

use super::db::{Store, now_ms};
use super::queue::{DeliveryRecord, Effect, Recorded, record_in};
use crate::event::ReviewRequest;
use crate::ids::{DeliveryId, JobId};

/// A request to store.
pub struct NewApiReview<'a> {
    /// `rev_...`: the API's id, also the trigger's.
    pub id: &'a str,
    /// The id of the token that asked: the review is its alone, and its key is scoped to it.
    pub token_id: &'a str,
    pub idempotency_key: Option<&'a str>,
    /// SHA-256 of the request's canonical form (the same key must come with the same body).
    pub body_hash: &'a str,
    pub pull_request_url: &'a str,
    pub post: bool,
    pub request: &'a ReviewRequest,
}

/// What storing a request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiCreated {
    /// Stored with its job.
    Created { job: JobId },
    /// The same `Idempotency-Key` with the same body came before: that review.
    Existing { id: String },
    /// The same `Idempotency-Key` came before with another body.
    Conflict,
}

/// A finished review's record.
pub struct ApiFinish<'a> {
    /// `done` or `skipped`.
    pub status: &'a str,
    pub detail: &'a str,
    pub head_sha: Option<&'a str>,
    pub review_id: Option<i64>,
    pub result: Option<&'a serde_json::Value>,
    pub model_calls: i64,
    pub input_tokens: i64,
    pub cached_tokens: i64,
    pub output_tokens: i64,
    pub cost_micros: Option<i64>,
}

/// A stored review, as `GET /v1/reviews/{id}` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiReview {
    pub id: String,
    pub pull_request_url: String,
    pub post: bool,
    /// `queued`, `running`, `done`, `failed` or `skipped`.
    pub status: String,
    pub detail: Option<String>,
    pub advice: Option<String>,
    pub head_sha: Option<String>,
    pub review_id: Option<i64>,
    pub result: Option<serde_json::Value>,
    pub model_calls: i64,
    pub input_tokens: i64,
    pub cached_tokens: i64,
    pub output_tokens: i64,
    pub cost_micros: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Store {
    /// Stores `new` and queues its job, unless its `Idempotency-Key` was seen before.
    pub async fn create_api_review(&self, new: &NewApiReview<'_>) -> anyhow::Result<ApiCreated> {
        if let Some(found) = self.find_idempotent(new).await? {
            return Ok(found);
        }
        let created = async {
            let mut tx = self.pool.begin().await?;
            let delivery = DeliveryId::parse(&format!("api-{}", new.id))
                .context("the review id is not a delivery id")?;
            let job = match record_in(
                &mut tx,
                &DeliveryRecord {
                    id: &delivery,
                    event: "api",
                    action: None,
                    outcome: "queued",
                    effect: Effect::enqueue(new.request),
                },
            )
            .await?
            {
                Recorded::Queued(job) | Recorded::Joined(job) => job,
                other => anyhow::bail!("the review's job was not queued: {other:?}"),
            };
            let now = now_ms();
            sqlx::query(
                "INSERT INTO api_reviews (id, idempotency_key, body_hash, job_id, pull_request_url,
                     repo, pr_number, post, status, created_at, updated_at, token_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'queued', $9, $9, $10)",
            )
            .bind(new.id)
            .bind(new.idempotency_key)
            .bind(new.body_hash)
            .bind(job.0 as i64)
            .bind(new.pull_request_url)
            .bind(new.request.repo.as_str())
            .bind(new.request.pr.0 as i64)
            .bind(i64::from(new.post))
            .bind(now)
            .bind(new.token_id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            anyhow::Ok(job)
        }
        .await;
        match created {
            Ok(job) => Ok(ApiCreated::Created { job }),
            // Two requests with one key at once: the other one's insert won.
            Err(e) => match self.find_idempotent(new).await? {
                Some(found) => Ok(found),
                None => Err(e.context("storing the API review")),
            },
        }
    }

    /// What an earlier request of the same token with `new`'s `Idempotency-Key` became, if
    /// there was one.
    pub async fn find_idempotent(
        &self,
        new: &NewApiReview<'_>,
    ) -> anyhow::Result<Option<ApiCreated>> {
        let Some(key) = new.idempotency_key else {
            return Ok(None);
        };
        let row = sqlx::query(
            "SELECT id, body_hash FROM api_reviews WHERE token_id = $1 AND idempotency_key = $2",
        )
        .bind(new.token_id)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            None => None,
            Some(row) => {
                let hash: String = row.try_get(1)?;
                Some(if hash == new.body_hash {
                    ApiCreated::Existing {
                        id: row.try_get(0)?,
                    }
                } else {
                    ApiCreated::Conflict
                })
            }
        })
    }

    /// The review `id` asked for by the token `token_id`, with `running` read from its job.
    pub async fn api_review(&self, id: &str, token_id: &str) -> anyhow::Result<Option<ApiReview>> {
        let row = sqlx::query(
            "SELECT a.id, a.pull_request_url, a.post, a.status, a.detail, a.advice, a.head_sha,
                    a.review_id, a.result, a.model_calls, a.input_tokens, a.cached_tokens,
                    a.output_tokens, a.cost_micros, a.created_at, a.updated_at, j.state
             FROM api_reviews a LEFT JOIN jobs j ON j.id = a.job_id
             WHERE a.id = $1 AND a.token_id = $2",
        )
        .bind(id)
        .bind(token_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else {
            return Ok(None);
        };
        let mut status: String = r.try_get(3)?;
        let job_state: Option<String> = r.try_get(16)?;
        if status == "queued" && job_state.as_deref() == Some("running") {
            status = "running".into();
        }
        let result: Option<String> = r.try_get(8)?;
        Ok(Some(ApiReview {
            id: r.try_get(0)?,
            pull_request_url: r.try_get(1)?,
            post: r.try_get::<i64, _>(2)? != 0,
            status,
            detail: r.try_get(4)?,
            advice: r.try_get(5)?,
            head_sha: r.try_get(6)?,
            review_id: r.try_get(7)?,
            result: result.and_then(|t| serde_json::from_str(&t).ok()),
            model_calls: r.try_get(9)?,
            input_tokens: r.try_get(10)?,
            cached_tokens: r.try_get(11)?,
            output_tokens: r.try_get(12)?,
            cost_micros: r.try_get(13)?,
            created_at: r.try_get(14)?,
            updated_at: r.try_get(15)?,
        }))
    }

    /// Records the review `id` as done (or skipped) with what it found.
    pub async fn finish_api_review(&self, id: &str, f: &ApiFinish<'_>) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE api_reviews SET status = $1, detail = $2, head_sha = $3, review_id = $4,
                 result = $5, model_calls = $6, input_tokens = $7, cached_tokens = $8,
                 output_tokens = $9, cost_micros = $10, updated_at = $11
             WHERE id = $12",
        )
        .bind(f.status)
        .bind(f.detail)
        .bind(f.head_sha)
        .bind(f.review_id)
        .bind(f.result.map(|r| r.to_string()))
        .bind(f.model_calls)
        .bind(f.input_tokens)
        .bind(f.cached_tokens)
        .bind(f.output_tokens)
        .bind(f.cost_micros)
        .bind(now_ms())
        .bind(id)
        .execute(&self.pool)
        .await
        .context("recording the API review's result")?;
        Ok(())
    }

    /// Deletes API reviews last changed before `cutoff_ms` (their ids then answer 404).
    pub(super) async fn prune_api_reviews(&self, cutoff_ms: i64) -> anyhow::Result<u64> {
        let done = sqlx::query(
            "DELETE FROM api_reviews WHERE updated_at < $1 AND status IN ('done', 'failed', 'skipped')",
        )
        .bind(cutoff_ms)
        .execute(&self.pool)
        .await
        .context("pruning API reviews")?;
        Ok(done.rows_affected())
    }

    /// Records the review `id` as failed, with the explanation the pull request would get.
    pub async fn fail_api_review(&self, id: &str, what: &str, advice: &str) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE api_reviews SET status = 'failed', detail = $1, advice = $2, updated_at = $3
             WHERE id = $4",
        )
        .bind(what)
        .bind(advice)
        .bind(now_ms())
        .bind(id)
        .execute(&self.pool)
        .await
        .context("recording the API review's failure")?;
        Ok(())
    }
}
