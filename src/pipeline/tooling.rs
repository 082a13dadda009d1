//! The repository's tools for one review, and its tool budget shared out between its
//! conversations: a share for each part that has tools, one for the verification.

use std::sync::{Arc, Mutex};

use crate::codebase::Toolbox;
use crate::model::{Shares, ToolBudget};

/// Told of each model request as it ends, with what it billed: the review's meter.
pub type OnTry = Arc<crate::model::OnResponse>;

/// The repository's tools for a review, and its budget shared out between its
/// conversations: a share for each part, one for the verification.
#[derive(Clone)]
pub struct Tooling {
    pub toolbox: Toolbox,
    shares: Shares,
    /// What a cached input token counts for in a budget (its price over an uncached one's).
    cached_weight: f64,
    budgets: Arc<Mutex<Vec<Arc<ToolBudget>>>>,
}

impl Tooling {
    pub fn new(toolbox: Toolbox, shares: Shares, cached_weight: f64) -> Self {
        Self {
            toolbox,
            shares,
            cached_weight,
            budgets: Arc::default(),
        }
    }

    /// The verification's budget.
    pub fn verify_budget(&self) -> Arc<ToolBudget> {
        self.new_budget(self.shares.verify)
    }

    /// Part `i`'s budget; `None` when the review's totals left it no tools.
    pub fn part_budget(&self, i: usize) -> Option<Arc<ToolBudget>> {
        let limits = self.shares.parts.get(i).copied().flatten()?;
        Some(self.new_budget(limits))
    }

    /// The parts asked without tools because the totals could not give them a share.
    pub fn parts_without_tools(&self) -> Vec<usize> {
        self.shares.parts_without_tools()
    }

    fn new_budget(&self, limits: crate::model::ToolLimits) -> Arc<ToolBudget> {
        let budget = Arc::new(ToolBudget::new(limits).priced(self.cached_weight));
        self.budgets
            .lock()
            .expect("not poisoned")
            .push(Arc::clone(&budget));
        budget
    }

    /// Tool calls run so far, all conversations of the review.
    pub fn calls_used(&self) -> u32 {
        let budgets = self.budgets.lock().expect("not poisoned");
        budgets.iter().map(|b| b.calls_used()).sum()
    }
}
