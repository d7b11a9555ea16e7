//! The pool's books under seeded random sequences of everything a user
//! may do to it from one task: gets cut at a random poll, `try_get`,
//! returns, `mark_broken`, `detach`, `add`, `resize`, `retain` and
//! `maintain_once` cut midway, ending with `close`. After every step the
//! books must balance; a failure names its seed and step.

use std::time::Duration;

use anyrt_pool::{Pool, PoolGuard};
use anyrt_tests::cancel::cancel_after;
use anyrt_tests::pool::{Resource, TestManager};

/// Seeds run on each runtime, and steps per seed.
const SEEDS: u64 = 40;
const STEPS: usize = 60;

/// What a step may do.
#[derive(Debug, Clone, Copy)]
enum Step {
    Get(usize),
    TryGet,
    Return,
    Broken,
    Detach,
    Add,
    Resize(usize),
    Retain,
    Maintain(usize),
}

fn step(rng: &mut fastrand::Rng) -> Step {
    match rng.u8(0..10) {
        0 | 1 => Step::Get(rng.usize(0..4)),
        2 => Step::TryGet,
        3 | 4 => Step::Return,
        5 => Step::Broken,
        6 => Step::Detach,
        7 => Step::Add,
        8 => match rng.bool() {
            true => Step::Resize(rng.usize(1..=5)),
            false => Step::Retain,
        },
        _ => Step::Maintain(rng.usize(0..3)),
    }
}

#[anyrt_test::test(virtual_time)]
async fn random_sequences_keep_the_books_balanced(_clock: anyrt_core::VirtualClock) {
    for seed in 0..SEEDS {
        let mut rng = fastrand::Rng::with_seed(seed);
        let (manager, control) = TestManager::new();
        let min_idle = rng.usize(0..=1);
        let pool = Pool::builder(manager)
            .max_size(rng.usize(1..=4).max(min_idle))
            .min_idle(min_idle)
            .build()
            .unwrap();
        control.set_create_delay(Duration::from_millis(rng.u64(0..3)));
        let mut held: Vec<PoolGuard<TestManager>> = Vec::new();
        let mut detached: Vec<Resource> = Vec::new();
        for at in 0..STEPS {
            let step = step(&mut rng);
            match step {
                Step::Get(polls) => {
                    if let Some(Ok(guard)) = cancel_after(polls, pool.get()).await {
                        held.push(guard);
                    }
                }
                Step::TryGet => held.extend(pool.try_get().ok()),
                Step::Return if !held.is_empty() => drop(held.swap_remove(rng.usize(..held.len()))),
                Step::Broken if !held.is_empty() => {
                    let mut guard = held.swap_remove(rng.usize(..held.len()));
                    guard.mark_broken();
                }
                Step::Detach if !held.is_empty() => {
                    detached.push(held.swap_remove(rng.usize(..held.len())).detach());
                }
                Step::Add => {
                    // Refused (full, closed) or kept: either way accounted.
                    let _ = pool.add(Resource::new(&control));
                }
                Step::Resize(max_size) => {
                    let _ = pool.resize(max_size.max(min_idle));
                }
                Step::Retain => {
                    let mut keep = rng.clone();
                    rng.u64(..);
                    pool.retain(|_, _| keep.bool());
                }
                Step::Maintain(polls) => {
                    let _ = cancel_after(polls, pool.maintain_once()).await;
                }
                Step::Return | Step::Broken | Step::Detach => {}
            }
            // Creations cut loose from their `get` or pass go on in tasks:
            // the test sleeps (a yield would keep the clock still) until
            // they ended.
            while pool.status().creating > 0 {
                anyrt_core::sleep(Duration::from_millis(1)).await;
            }
            let status = pool.status();
            let context = format!("seed {seed}, step {at} ({step:?}): {status:?}");
            assert_eq!(status.in_use, held.len(), "{context}");
            assert_eq!(status.waiting, 0, "{context}");
            assert_eq!(
                status.created + status.added - status.discarded.total(),
                status.size as u64,
                "{context}"
            );
            assert_eq!(status.size, status.idle + held.len(), "{context}");
            assert!(status.size <= status.max_size.max(held.len()), "{context}");
            let alive = status.idle + held.len() + detached.len();
            assert_eq!(control.alive_once(alive), alive, "{context}");
        }
        drop(held);
        pool.close();
        pool.wait_closed().await;
        let status = pool.status();
        assert_eq!(
            (status.size, status.idle),
            (0, 0),
            "seed {seed}: {status:?}"
        );
        assert_eq!(
            control.alive_once(detached.len()),
            detached.len(),
            "seed {seed}"
        );
    }
}
