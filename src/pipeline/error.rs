//! Why the pipeline produced no review, and what hid a review's files from the model.

use crate::model::ModelError;

/// Why the pipeline produced no review.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A part's model call could not be run to its end (its task panicked or was cancelled).
    #[error(transparent)]
    Internal(anyhow::Error),
}

/// What hid every file of a review from the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hidden {
    /// The repository's path filters (its `paths` settings and the built-in globs).
    ByRepository,
    /// The change itself: a generated-file marker, minified or binary content, a patch too
    /// large for GitHub or for a call.
    ByTheChange,
}
