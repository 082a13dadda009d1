//! The OpenAI Responses API: one typed client, the review schema, and the prompt.

pub mod cassette;
mod client;
mod config;
mod cost;
mod error;
pub mod prompt;
mod response;
pub mod schema;
mod turns;
mod usage;

pub use client::{
    Billed, ModelClient, ModelError, ModelReply, OnResponse, OutputFormat, Reply, ReviewCall,
    Usage, ignore_responses,
};
pub use config::OpenAiSettings;
pub use error::{Invalid, Unreached};
pub use turns::{Shares, ToolBudget, ToolLimits, ToolRunner, ToolUse};

/// The call for one review.
pub fn client_call<'a>(instructions: &'a str, user_message: &'a str) -> ReviewCall<'a> {
    ReviewCall {
        instructions,
        user_message,
        model: None,
        reasoning_effort: None,
        cache_key: None,
        format: OutputFormat::review(),
    }
}
pub use cost::{Price, PriceError, PriceTable};
pub use schema::{
    AnswerOutput, CodeLocation, Finding, LineRange, ReviewOutput, Verdict, VerifyOutput,
    normalize_title,
};
