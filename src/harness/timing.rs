//! Repeated timing: several runs of one program, summarised the way a ranking should use them (the median, which
//! one slow run does not move) with their spread, so a noisy machine shows instead of deciding the order.

use serde::Serialize;

/// A spread (standard deviation over the median) above this says the machine was noisy.
pub const NOISY: f64 = 0.10;

/// The wall times of several runs of one program.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timing {
    /// Each run's wall seconds, in the order they ran.
    pub runs: Vec<f64>,
    pub min: f64,
    pub median: f64,
    pub mean: f64,
    /// Sample standard deviation (0 for one run).
    pub sd: f64,
}

impl Timing {
    /// The summary of `runs` (seconds); `None` when there are none.
    pub fn new(runs: Vec<f64>) -> Option<Timing> {
        if runs.is_empty() {
            return None;
        }
        let mut sorted = runs.clone();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        let mean = sorted.iter().sum::<f64>() / n as f64;
        let sd = if n > 1 {
            (sorted.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        Some(Timing {
            min: sorted[0],
            median,
            mean,
            sd,
            runs,
        })
    }

    /// The spread as a share of the median (standard deviation / median).
    pub fn spread(&self) -> f64 {
        if self.median > 0.0 {
            self.sd / self.median
        } else {
            0.0
        }
    }

    /// True when the runs spread more than [`NOISY`]: the ranking may not hold on a quieter machine.
    pub fn noisy(&self) -> bool {
        self.spread() > NOISY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries() {
        assert_eq!(Timing::new(vec![]), None);
        let one = Timing::new(vec![2.0]).unwrap();
        assert_eq!(
            (one.min, one.median, one.mean, one.sd),
            (2.0, 2.0, 2.0, 0.0)
        );
        // One slow run moves the mean, not the median.
        let t = Timing::new(vec![1.0, 1.1, 5.0, 0.9, 1.0]).unwrap();
        assert_eq!((t.min, t.median), (0.9, 1.0));
        assert!((t.mean - 1.8).abs() < 1e-9);
        assert!((t.sd - 1.7903).abs() < 1e-3, "{}", t.sd);
        assert!(t.noisy());
        assert_eq!(t.runs, vec![1.0, 1.1, 5.0, 0.9, 1.0]);
        let even = Timing::new(vec![3.0, 1.0, 2.0, 4.0]).unwrap();
        assert_eq!(even.median, 2.5);
        let steady = Timing::new(vec![1.0, 1.02, 0.99]).unwrap();
        assert!(!steady.noisy());
    }
}
