//! Every case, group by group: adding a module of cases is one line here.

use crate::harness::Case;

/// The groups of cases, in table order: one module per crate measured,
/// each with a `cases()` function.
const GROUPS: &[fn() -> Vec<Case>] = &[
    crate::core::cases,
    crate::deadline::cases,
    crate::retry::cases,
];

/// All cases whose name contains `filter` (case-insensitive).
pub(crate) fn selected(filter: Option<&str>) -> Vec<Case> {
    let filter = filter.map(str::to_lowercase);
    GROUPS
        .iter()
        .flat_map(|group| group())
        .filter(|case| {
            filter
                .as_ref()
                .is_none_or(|f| case.name.to_lowercase().contains(f))
        })
        .collect()
}
