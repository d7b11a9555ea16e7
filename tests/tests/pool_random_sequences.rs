//! The books of the pools under seeded random sequences of everything a
//! user may do to them from one task. The resource pool: gets cut at a
//! random poll, `try_get`, returns, `mark_broken`, `detach`, `add`,
//! `resize`, `retain` and `maintain_once` cut midway, ending with
//! `close`. The buffer pool: gets cut at a random poll, `try_get` of any
//! size, buffers grown, shrunk, emptied out and returned. After every
//! step the books must balance; a failure names its seed and step.

use std::time::Duration;

use anyrt_pool::{BufferError, BufferPool, Pool, PoolGuard, PooledBuffer};
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

/// The buffer pool's classes.
const CLASSES: [usize; 3] = [8, 16, 64];

#[anyrt_test::test]
async fn random_buffer_sequences_keep_the_budget() {
    for seed in 0..SEEDS {
        let mut rng = fastrand::Rng::with_seed(seed);
        let max_bytes = rng.usize(64..=163);
        let pool = BufferPool::builder()
            .classes(CLASSES)
            .max_bytes(max_bytes)
            .build()
            .unwrap();
        let mut held: Vec<(PooledBuffer, usize)> = Vec::new();
        for at in 0..STEPS {
            let in_use: usize = held.iter().map(|(_, class)| class).sum();
            let size = rng.usize(0..=80);
            let class = CLASSES.iter().copied().find(|&class| class >= size);
            let context = format!("seed {seed}, step {at}, size {size}");
            match rng.u8(0..6) {
                0 => match (pool.try_get(size), class) {
                    (Ok(buffer), Some(class)) => {
                        assert!(buffer.is_empty(), "a buffer with bytes: {context}");
                        held.push((buffer, class));
                    }
                    (Err(BufferError::TooLarge { .. }), None) => {}
                    (Err(BufferError::Exhausted), Some(class)) => {
                        assert!(in_use + class > max_bytes, "refused with room: {context}");
                    }
                    (got, _) => panic!("{got:?} for {context}"),
                },
                // A get that cannot be served at once would wait for good
                // here, with nobody to give bytes back.
                1 if class.is_some_and(|class| in_use + class <= max_bytes) => {
                    let polls = rng.usize(0..3);
                    if let Some(got) = cancel_after(polls, pool.get(size)).await {
                        let buffer = got.unwrap();
                        assert!(buffer.is_empty(), "a buffer with bytes: {context}");
                        held.push((buffer, class.unwrap()));
                    }
                }
                2 if !held.is_empty() => {
                    let (mut buffer, class) = held.swap_remove(rng.usize(..held.len()));
                    match rng.u8(0..3) {
                        0 => buffer.extend(std::iter::repeat_n(0xAB, class + 1)),
                        1 => buffer.shrink_to_fit(),
                        _ => drop(std::mem::take(&mut *buffer)),
                    }
                }
                3 | 4 if !held.is_empty() => drop(held.swap_remove(rng.usize(..held.len()))),
                _ => {}
            }
            if let Some((buffer, class)) = held.last_mut() {
                // Bytes that the buffer's next user must not see.
                buffer.clear();
                buffer.extend(std::iter::repeat_n(0xCD, *class));
            }
            let status = pool.status();
            let in_use: usize = held.iter().map(|(_, class)| class).sum();
            let idle: usize = status.idle.iter().zip(CLASSES).map(|(n, c)| n * c).sum();
            let context = format!("{context}: {status:?}");
            assert_eq!(status.in_use_bytes, in_use, "{context}");
            assert_eq!(status.idle_bytes, idle, "{context}");
            assert!(in_use + idle <= max_bytes, "{context}");
            assert_eq!(status.waiting, 0, "{context}");
        }
        drop(held);
        let status = pool.status();
        assert_eq!(status.in_use_bytes, 0, "seed {seed}: {status:?}");
        for class in CLASSES {
            let buffer = pool.try_get(class).expect("the whole budget is free");
            assert!(
                buffer.is_empty(),
                "seed {seed}: a buffer came back with bytes"
            );
        }
    }
}
