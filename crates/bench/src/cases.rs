//! Every case, group by group: adding a module of cases is one line here.

use crate::harness::Case;

/// The groups of cases, in table order: one module per crate measured,
/// each with a `cases()` function.
const GROUPS: &[fn() -> Vec<Case>] = &[
    crate::core::cases,
    crate::deadline::cases,
    crate::retry::cases,
    crate::stream::cases,
    crate::scope::cases,
    crate::pool::cases,
];

/// All cases whose name contains `filter` (case-insensitive); without the
/// `all-runtimes` feature, only those that do not need the tokio adapter.
pub(crate) fn selected(filter: Option<&str>) -> Vec<Case> {
    let filter = filter.map(str::to_lowercase);
    GROUPS
        .iter()
        .flat_map(|group| group())
        .filter(|case| cfg!(feature = "all-runtimes") || !on_tokio(case.name))
        .filter(|case| {
            filter
                .as_ref()
                .is_none_or(|f| case.name.to_lowercase().contains(f))
        })
        .collect()
}

/// Whether a case runs on tokio (its name says so: `tokio...` or
/// `group/tokio...`), so that it measures anyrt-core's tokio adapter.
fn on_tokio(name: &str) -> bool {
    let runtime = name.split_once('/').map_or(name, |(_, rest)| rest);
    runtime.starts_with("tokio")
}

/// What anyrt-core was built with, for the table's heading.
pub(crate) fn features() -> &'static str {
    if cfg!(feature = "all-runtimes") {
        "anyrt-core features tokio, smol, async-std"
    } else {
        "anyrt-core feature smol only (tokio cases skipped)"
    }
}
