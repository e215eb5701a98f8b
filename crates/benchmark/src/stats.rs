//! Summaries of repeated measurements.

use serde::{Deserialize, Serialize};

/// Minimum, median, maximum and spread (max / min) of a series of measurements.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Smallest value.
    pub min: f64,
    /// Median (the mean of the two middle values for an even count).
    pub median: f64,
    /// Largest value.
    pub max: f64,
    /// `max / min`: 1.00 is perfectly stable (1 when min is 0).
    pub spread: f64,
}

impl Summary {
    /// The summary of `values`; `None` when there are none.
    pub fn of(values: &[f64]) -> Option<Summary> {
        if values.is_empty() {
            return None;
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if n % 2 == 1 { sorted[n / 2] } else { (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0 };
        let (min, max) = (sorted[0], sorted[n - 1]);
        Some(Summary { min, median, max, spread: if min > 0.0 { max / min } else { 1.0 } })
    }
}

/// Index of the value closest to the median (the run whose plan is kept).
pub fn median_index(values: &[f64]) -> usize {
    let Some(summary) = Summary::of(values) else { return 0 };
    values
        .iter()
        .enumerate()
        .min_by(|a, b| (a.1 - summary.median).abs().total_cmp(&(b.1 - summary.median).abs()))
        .map(|(i, _)| i)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_of_odd_and_even_counts() {
        let s = Summary::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.min, s.median, s.max, s.spread), (1.0, 2.0, 3.0, 3.0));
        let s = Summary::of(&[4.0, 1.0, 2.0, 3.0]).unwrap();
        assert_eq!((s.median, s.spread), (2.5, 4.0));
        assert_eq!(Summary::of(&[0.0, 0.0]).unwrap().spread, 1.0);
        assert!(Summary::of(&[]).is_none());
    }

    #[test]
    fn median_index_picks_the_middle_run() {
        assert_eq!(median_index(&[0.9, 0.5, 0.7]), 2);
        assert_eq!(median_index(&[5.0]), 0);
    }
}
