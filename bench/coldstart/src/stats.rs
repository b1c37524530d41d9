//! Order statistics of samples (timings, counts), shared by the benchmarks' reports.

/// The `p`th percentile (nearest rank, 0..=100) of the samples.
pub fn percentile<T: Ord + Copy>(mut v: Vec<T>, p: usize) -> T {
    v.sort();
    v[(v.len() * p / 100).min(v.len() - 1)]
}

pub fn median<T: Ord + Copy>(v: Vec<T>) -> T {
    percentile(v, 50)
}
