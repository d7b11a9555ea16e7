//! The markdown table and the lines around it.

use crate::harness::Stats;

/// The table's header and separator.
pub(crate) fn header() -> String {
    "| case | ours ns/op | peer ns/op | ours/peer | allocs/op (ours) | allocs/op (peer) |\n\
     |---|---:|---:|---:|---:|---:|"
        .to_string()
}

/// One row of the table.
pub(crate) fn row(name: &str, ours: Stats, peer: Stats) -> String {
    format!(
        "| {name} | {} | {} | {:.2} | {:.2} | {:.2} |",
        ns(ours.ns_per_op),
        ns(peer.ns_per_op),
        ours.ns_per_op / peer.ns_per_op,
        ours.allocs_per_op,
        peer.allocs_per_op,
    )
}

fn ns(value: f64) -> String {
    if value < 1000.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.0}")
    }
}

/// The machine: the CPU model and the number of logical cores, from
/// `/proc/cpuinfo` where it can be read, else "unknown".
pub(crate) fn machine() -> String {
    let Ok(info) = std::fs::read_to_string("/proc/cpuinfo") else {
        return "unknown".to_string();
    };
    let model = info
        .lines()
        .find(|line| line.starts_with("model name"))
        .and_then(|line| line.split_once(':'))
        .map_or("unknown", |(_, model)| model.trim());
    let cores = info
        .lines()
        .filter(|line| line.starts_with("processor"))
        .count();
    format!("{model}, {cores} logical cores")
}
