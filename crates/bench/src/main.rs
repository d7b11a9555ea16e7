//! `cargo run --release -p anyrt-bench -- [--quick] [FILTER]`: see the
//! crate docs of `anyrt_bench`.

fn main() {
    anyrt_bench::main_with_args();
}
