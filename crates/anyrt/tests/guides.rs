//! The module pages `anyrt::retry` and `anyrt::deadline` carry the guides
//! of their crates: each copy here is the crate's guide, then link
//! definitions that point its links into the crate (`.ci/sync-guides`
//! writes them).

fn check(copy: &str, guide: &str, krate: &str) {
    let rest = copy
        .strip_prefix(guide)
        .unwrap_or_else(|| panic!("the {krate} guide changed: run .ci/sync-guides"));
    for line in rest.lines().filter(|line| !line.is_empty()) {
        let target = line.split_once("]: ").map(|(_, target)| target);
        assert!(
            target.is_some_and(|t| t.starts_with(krate)),
            "not a link definition into {krate}: {line}"
        );
    }
}

#[test]
fn the_retry_module_page_is_the_retry_crate_guide() {
    check(
        include_str!("../src/retry.md"),
        include_str!("../../retry/src/guide.md"),
        "anyrt_retry",
    );
}

#[test]
fn the_deadline_module_page_is_the_deadline_crate_guide() {
    check(
        include_str!("../src/deadline.md"),
        include_str!("../../deadline/src/guide.md"),
        "anyrt_deadline",
    );
}
