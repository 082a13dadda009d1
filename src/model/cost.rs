//! What a review cost: a price table (USD per million tokens) and the estimate for a usage.

use super::Usage;

/// Prices of one model, USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    pub input: f64,
    /// Input tokens served from the prompt cache.
    pub cached: f64,
    /// Output tokens, reasoning included (OpenAI bills reasoning as output).
    pub output: f64,
}

/// Prices by model name.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceTable(Vec<(String, Price)>);

impl Default for PriceTable {
    /// OpenAI's list prices for the models this app is meant for (November 2025).
    fn default() -> Self {
        let p = |input, cached, output| Price {
            input,
            cached,
            output,
        };
        Self(vec![
            ("gpt-5.1-codex".into(), p(1.25, 0.125, 10.0)),
            ("gpt-5.1-codex-max".into(), p(1.25, 0.125, 10.0)),
            ("gpt-5.1-codex-mini".into(), p(0.25, 0.025, 2.0)),
            ("gpt-5.1".into(), p(1.25, 0.125, 10.0)),
            ("gpt-5-codex".into(), p(1.25, 0.125, 10.0)),
            ("gpt-5".into(), p(1.25, 0.125, 10.0)),
            ("gpt-5-mini".into(), p(0.25, 0.025, 2.0)),
        ])
    }
}

/// Why a price table's text cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    #[error("expected model=input/cached/output, got {0:?}")]
    NoModel(String),
    #[error("prices of {model:?} are not numbers")]
    NotNumbers {
        model: String,
        #[source]
        source: std::num::ParseFloatError,
    },
    #[error("{0:?} needs three prices: input/cached/output")]
    NotThree(String),
    #[error("prices of {0:?} must be positive")]
    Negative(String),
}

impl PriceTable {
    /// Adds or replaces entries from `model=input/cached/output;model=...`.
    pub fn parse(spec: &str) -> Result<Self, PriceError> {
        let mut table = Self::default();
        for entry in spec.split(';').map(str::trim).filter(|e| !e.is_empty()) {
            let (model, prices) = entry
                .split_once('=')
                .ok_or_else(|| PriceError::NoModel(entry.to_owned()))?;
            let model = model.trim().to_owned();
            let numbers: Vec<f64> = match prices.split('/').map(|n| n.trim().parse()).collect() {
                Ok(numbers) => numbers,
                Err(source) => return Err(PriceError::NotNumbers { model, source }),
            };
            let [input, cached, output] = numbers[..] else {
                return Err(PriceError::NotThree(model));
            };
            if [input, cached, output]
                .iter()
                .any(|p| !p.is_finite() || *p < 0.0)
            {
                return Err(PriceError::Negative(model));
            }
            table.0.retain(|(m, _)| *m != model);
            table.0.push((
                model,
                Price {
                    input,
                    cached,
                    output,
                },
            ));
        }
        Ok(table)
    }

    /// The price of `model`; gateway spellings such as `openai/gpt-5.1-codex` are found too.
    pub fn price(&self, model: &str) -> Option<Price> {
        let bare = model.rsplit('/').next().unwrap_or(model);
        self.0
            .iter()
            .find(|(m, _)| m == model)
            .or_else(|| self.0.iter().find(|(m, _)| m == bare))
            .map(|(_, p)| *p)
    }

    /// Estimated USD billionths for `usage` on `model`, when its price is known: exact for
    /// prices with up to three decimals per million tokens (a token then costs a whole
    /// number of billionths), so that sums of responses agree to the last digit.
    pub fn cost_nanos(&self, model: &str, usage: Usage) -> Option<i64> {
        let p = self.price(model)?;
        let uncached = usage.input_tokens.saturating_sub(usage.cached_tokens) as f64;
        let nanos = (uncached * p.input
            + usage.cached_tokens.min(usage.input_tokens) as f64 * p.cached
            + usage.output_tokens as f64 * p.output)
            * 1_000.0;
        Some(nanos.round() as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_counts_cached_input_at_its_own_price() {
        let usage = Usage {
            input_tokens: 1_000_000,
            cached_tokens: 400_000,
            output_tokens: 100_000,
            reasoning_tokens: 60_000,
        };
        let cost = PriceTable::default().cost_nanos("gpt-5.1-codex", usage);
        // 600k × 1.25 + 400k × 0.125 + 100k × 10 per million: $1.80.
        assert_eq!(cost, Some(1_800_000_000));
        assert_eq!(
            PriceTable::default().cost_nanos("openai/gpt-5.1-codex", usage),
            cost
        );
        assert_eq!(
            PriceTable::default().cost_nanos("someone/else", usage),
            None
        );
        // One response of the test fake: 810 fresh, 1,024 cached, 412 out.
        let fake = Usage {
            input_tokens: 1_834,
            cached_tokens: 1_024,
            output_tokens: 412,
            reasoning_tokens: 256,
        };
        let nanos = PriceTable::default().cost_nanos("gpt-5.1-codex", fake);
        assert_eq!(nanos, Some(5_260_500));
    }

    #[test]
    fn the_table_can_be_extended_and_overridden() {
        let t = PriceTable::parse("my-gateway-model=1/0.1/4; gpt-5.1-codex=2/0.2/8").unwrap();
        assert_eq!(t.price("my-gateway-model").unwrap().output, 4.0);
        assert_eq!(t.price("gpt-5.1-codex").unwrap().input, 2.0);
        assert!(PriceTable::parse("x=1/2").is_err());
        assert!(PriceTable::parse("x=a/b/c").is_err());
        assert!(PriceTable::parse("nonsense").is_err());
        let e = PriceTable::parse("x=1/b/2").unwrap_err();
        assert_eq!(e.to_string(), r#"prices of "x" are not numbers"#);
        assert!(
            std::error::Error::source(&e).is_some(),
            "the parser's error is kept"
        );
    }
}
