// Package benchstat turns timings into the statistics and tables that
// `lsms bench` prints: latency summaries (min, mean, p50/p90/p99, max,
// standard deviation), A/B ratios, per-operator profiles (run order, top K,
// by op type with % and cumulative %), per-stage timings for end-to-end runs,
// and text/CSV tables. It also reads the process's peak resident set size.
//
// Percentiles interpolate linearly between the two nearest order statistics
// (NumPy's default, Hyndman & Fan type 7): for n sorted samples x[0..n-1],
// the p-th percentile is at rank r = p/100·(n−1), x[⌊r⌋] + (r−⌊r⌋)·(x[⌊r⌋+1]−x[⌊r⌋]).
// The standard deviation is the sample one (divisor n−1; 0 for one sample).
//
// The package measures nothing itself except Stages' clock and PeakRSS; it
// knows no model and no backend.
package benchstat
