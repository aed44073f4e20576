//! Figures from load runs, and the tables printed and written to
//! BENCHMARKS.md.

use std::fmt::Write as _;
use std::time::Duration;

use super::load::Run;

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The summary of one run of one target.
#[derive(Debug, Clone)]
pub struct Figures {
    pub streams: usize,
    pub errors: usize,
    pub rate: f64,
    pub ttft_p50: Duration,
    pub ttft_p99: Duration,
    pub ttft_max: Duration,
    pub gap_p99: Duration,
    pub total_p99: Duration,
    pub total_max: Duration,
    /// CPU seconds per 1,000 streams, by process ("memorid", "postgres", …).
    pub cpu_per_1000: Vec<(&'static str, f64)>,
    pub first_error: Option<String>,
}

impl Figures {
    pub fn of(run: &Run, cpu: Vec<(&'static str, f64)>) -> Figures {
        let mut ttft: Vec<Duration> = run.samples.iter().map(|s| s.ttft).collect();
        let mut gaps: Vec<Duration> = run.samples.iter().flat_map(|s| s.gaps.clone()).collect();
        let mut total: Vec<Duration> = run.samples.iter().map(|s| s.total).collect();
        ttft.sort();
        gaps.sort();
        total.sort();
        let streams = run.samples.len().max(1) as f64;
        Figures {
            streams: run.samples.len(),
            errors: run.errors,
            rate: run.rate(),
            ttft_p50: percentile(&ttft, 0.5),
            ttft_p99: percentile(&ttft, 0.99),
            ttft_max: ttft.last().copied().unwrap_or_default(),
            gap_p99: percentile(&gaps, 0.99),
            total_p99: percentile(&total, 0.99),
            total_max: total.last().copied().unwrap_or_default(),
            cpu_per_1000: cpu
                .into_iter()
                .map(|(name, seconds)| (name, seconds * 1000.0 / streams))
                .collect(),
            first_error: run.first_error.clone(),
        }
    }
}

/// One row: a target at one concurrency, next to the direct baseline.
pub struct Row {
    pub target: String,
    pub callers: usize,
    pub figures: Figures,
    pub direct: Figures,
}

fn signed(d: f64) -> String {
    format!("{d:+.2}")
}

pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| target | callers | streams/s (streams) | TTFT p50 ms | TTFT p99 ms | added TTFT p50 ms | added TTFT p99 ms | added inter-chunk p99 ms | stream p99 / max ms | CPU s per 1,000 streams | errors |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|\n",
    );
    for row in rows {
        let f = &row.figures;
        let d = &row.direct;
        let cpu = if f.cpu_per_1000.is_empty() {
            "—".to_string()
        } else {
            f.cpu_per_1000
                .iter()
                .map(|(name, s)| format!("{name} {s:.2}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (added_p50, added_p99, added_gap) = if row.target == "direct" {
            ("—".into(), "—".into(), "—".into())
        } else {
            (
                signed(ms(f.ttft_p50) - ms(d.ttft_p50)),
                signed(ms(f.ttft_p99) - ms(d.ttft_p99)),
                signed(ms(f.gap_p99) - ms(d.gap_p99)),
            )
        };
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} ({}) | {:.2} | {:.2} | {} | {} | {} | {:.1} / {:.1} | {} | {} |",
            row.target,
            row.callers,
            f.rate,
            f.streams,
            ms(f.ttft_p50),
            ms(f.ttft_p99),
            added_p50,
            added_p99,
            added_gap,
            ms(f.total_p99),
            ms(f.total_max),
            cpu,
            f.errors,
        );
    }
    out
}

/// The figures that carry on a noisy machine: memorid against LiteLLM (one
/// worker) and the direct baseline, per number of callers.
pub fn headline(rows: &[Row]) -> String {
    let find = |target: &str, callers: usize| {
        rows.iter()
            .find(|r| r.target == target && r.callers == callers)
            .map(|r| &r.figures)
    };
    let cpu = |f: &Figures| f.cpu_per_1000.iter().map(|(_, s)| s).sum::<f64>();
    let mut callers: Vec<usize> = rows.iter().map(|r| r.callers).collect();
    callers.dedup();
    let mut out = String::from(
        "| callers | memorid (memory off) streams/s | × LiteLLM 1 worker | × direct | added TTFT p50 ms: memorid off / on / LiteLLM | CPU s per 1,000 streams: memorid + PostgreSQL / LiteLLM |\n\
         |---:|---:|---:|---:|---|---|\n",
    );
    for n in callers {
        let (Some(direct), Some(off)) = (find("direct", n), find("memorid, memory off", n)) else {
            continue;
        };
        let on = find("memorid, memory on", n);
        let litellm = find("LiteLLM, 1 worker", n);
        let added = |f: Option<&Figures>| {
            f.map_or("—".to_string(), |f| {
                format!("{:.2}", ms(f.ttft_p50) - ms(direct.ttft_p50))
            })
        };
        let _ = writeln!(
            out,
            "| {n} | {:.0} | {} | {:.3} | {} / {} / {} | {:.2} / {} |",
            off.rate,
            litellm.map_or("—".to_string(), |l| format!(
                "{:.1}",
                off.rate / l.rate.max(1e-9)
            )),
            off.rate / direct.rate.max(1e-9),
            added(Some(off)),
            added(on),
            added(litellm),
            cpu(off),
            litellm.map_or("—".to_string(), |l| format!("{:.2}", cpu(l))),
        );
    }
    out
}
