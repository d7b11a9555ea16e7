//! `cargo bench -p anyrt-bench -- [--quick] [FILTER]`: the same table as
//! `cargo run --release -p anyrt-bench`; cargo's `--bench` flag is ignored.

fn main() {
    anyrt_bench::main_with_args();
}
