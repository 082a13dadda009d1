//! What the service's charts share: the status page's cost per day and the eval's recall
//! against cost: their colours, the round numbers their axes end at, the dollars their labels
//! show and their coordinates' precision. A leaf: it imports nothing of the pages, the eval or the commands.

/// Colours a colour-blind reader can tell apart (Okabe and Ito); the status page keeps the
/// last for "others".
pub const COLOURS: [&str; 6] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#999999",
];

/// `{v:.1}`: coordinates to a tenth of a pixel.
pub fn px(v: f64) -> String {
    format!("{v:.1}")
}

/// `$0.42`, `$12.30`, `$0.0031`: USD from millionths, with cents unless it is less.
pub fn usd(micros: i64) -> String {
    let dollars = micros as f64 / 1e6;
    if micros != 0 && micros.abs() < 10_000 {
        format!("${dollars:.4}")
    } else {
        format!("${dollars:.2}")
    }
}

/// The smallest of 1, 2, 2.5, 5 or 10 times a power of ten that is at least `n`.
pub fn nice_ceiling(n: i64) -> i64 {
    let mut power = 1i64;
    while power.saturating_mul(10) <= n {
        power = power.saturating_mul(10);
    }
    [power, power * 2, power * 5 / 2, power * 5]
        .into_iter()
        .find(|c| *c >= n)
        .unwrap_or(power.saturating_mul(10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_ceilings_are_round() {
        assert_eq!(nice_ceiling(10_000), 10_000);
        assert_eq!(nice_ceiling(12_000), 20_000);
        assert_eq!(nice_ceiling(2_100_000), 2_500_000);
        assert_eq!(nice_ceiling(3_000_000), 5_000_000);
        assert_eq!(usd(1_500_000), "$1.50");
        assert_eq!(usd(3_100), "$0.0031");
    }
}
