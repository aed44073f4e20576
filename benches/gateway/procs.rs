//! CPU time and resident memory of the processes under test, from
//! `/proc`: a process and all its descendants (PostgreSQL's backends,
//! LiteLLM's workers), sampled before and after a run.

use std::collections::HashMap;

/// Clock ticks a second of `/proc/<pid>/stat` times (USER_HZ, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// `pid` and every process below it.
pub fn tree(pid: u32) -> Vec<u32> {
    let mut parents: HashMap<u32, Vec<u32>> = HashMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some(parent) = stat_fields(child).and_then(|f| f.get(1)?.parse().ok()) {
            parents.entry(parent).or_default().push(child);
        }
    }
    let mut all = vec![pid];
    let mut i = 0;
    while i < all.len() {
        if let Some(children) = parents.get(&all[i]) {
            all.extend(children);
        }
        i += 1;
    }
    all
}

/// The fields of `/proc/<pid>/stat` after the command name, from `state`
/// (index 0) on.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces.
    let after = &stat[stat.rfind(')')? + 2..];
    Some(after.split(' ').map(str::to_owned).collect())
}

/// User + system CPU seconds of `pid` and its descendants (those alive
/// now; a process that exits during a run takes its time with it).
pub fn cpu_seconds(pid: u32) -> f64 {
    tree(pid)
        .into_iter()
        .filter_map(|p| {
            let fields = stat_fields(p)?;
            // utime and stime are fields 14 and 15 of stat, 11 and 12 here.
            let user: f64 = fields.get(11)?.parse().ok()?;
            let system: f64 = fields.get(12)?.parse().ok()?;
            Some((user + system) / TICKS_PER_SECOND)
        })
        .sum()
}

/// Resident memory of `pid` and its descendants, in MiB. Shared pages
/// (PostgreSQL's shared buffers) count once per process, so for a tree
/// this is an upper bound.
pub fn rss_mib(pid: u32) -> f64 {
    tree(pid)
        .into_iter()
        .filter_map(|p| {
            let status = std::fs::read_to_string(format!("/proc/{p}/status")).ok()?;
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
            let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib / 1024.0)
        })
        .sum()
}
