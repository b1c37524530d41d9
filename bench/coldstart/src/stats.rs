//! Order statistics of timing samples, shared by the benchmarks' reports.

use std::time::Duration;

/// The `p`th percentile (nearest rank, 0..=100) of the samples.
pub fn percentile(mut v: Vec<Duration>, p: usize) -> Duration {
    v.sort();
    v[(v.len() * p / 100).min(v.len() - 1)]
}

pub fn median(v: Vec<Duration>) -> Duration {
    percentile(v, 50)
}
