//! `KeyedRateLimiter`: one GCRA limiter per key, made on first use, in a
//! sharded map.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher, RandomState};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::{
    AcquireNOwned, AcquireOwned, BuildError, ExceedsBurst, RateLimited, RateLimiter,
    RateLimiterBuilder, Shared,
};

/// Shards of the key map: lookups of different keys rarely share a lock.
const SHARDS: usize = 16;

/// A rate limiter per key (a user, a client address, a tenant): each key
/// gets its own `rate` permits per `period`, up to `burst` at once, with
/// everything a [`RateLimiter`] promises (GCRA, waiters served in order,
/// one wake each, a dropped waiter giving its turn on, an exact long-run
/// rate).
///
/// A key's limiter is made, rested, the first time the key is used, and
/// kept until [`retain_recent`](KeyedRateLimiter::retain_recent) finds it
/// at rest: forgetting a rested limiter changes no decision, since a new
/// one for the key starts rested too. Call it now and then (from a
/// maintenance task) so that memory follows the keys in use, not every key
/// ever seen. Keys live in a map split into shards, each behind its own
/// mutex; a call locks one shard for a lookup (and an insert for a new
/// key), then works on the key's limiter as a `RateLimiter` does.
///
/// Every clone shares the same keys.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyrt::stream::KeyedRateLimiter;
///
/// # futures_lite::future::block_on(async {
/// // 2 requests per second per client, both at once if rested.
/// let limiter = KeyedRateLimiter::<String>::new(2, Duration::from_secs(1))?;
/// assert!(limiter.try_acquire("alice").is_ok());
/// assert!(limiter.try_acquire("alice").is_ok());
/// assert!(limiter.try_acquire("alice").is_err(), "alice used her burst");
/// assert!(limiter.try_acquire("bob").is_ok(), "bob has his own");
/// limiter.acquire("alice").await; // about half a second later
/// # Ok::<(), anyrt::stream::BuildError>(())
/// # }).unwrap();
/// ```
pub struct KeyedRateLimiter<K> {
    keyed: Arc<Keyed<K>>,
}

struct Keyed<K> {
    rate: u32,
    period: Duration,
    burst: u32,
    hasher: RandomState,
    shards: Box<[Mutex<Shard<K>>]>,
}

/// One shard of the keys. A key is hashed once per call: the hash picks
/// the shard, and the shard's map takes it as it is.
type Shard<K> = HashMap<Hashed<K>, RateLimiter, BuildHasherDefault<PassThrough>>;

/// A key and its hash.
struct Hashed<K> {
    hash: u64,
    key: K,
}

/// What a shard's map compares: a stored key, or a borrowed one looked
/// up, each with its hash.
trait Probe<Q: ?Sized> {
    fn hashed(&self) -> u64;
    fn key(&self) -> &Q;
}

impl<K: Borrow<Q>, Q: ?Sized> Probe<Q> for Hashed<K> {
    fn hashed(&self) -> u64 {
        self.hash
    }

    fn key(&self) -> &Q {
        self.key.borrow()
    }
}

/// A key looked up, borrowed, with its hash.
struct Lookup<'q, Q: ?Sized> {
    hash: u64,
    key: &'q Q,
}

impl<Q: ?Sized> Probe<Q> for Lookup<'_, Q> {
    fn hashed(&self) -> u64 {
        self.hash
    }

    fn key(&self) -> &Q {
        self.key
    }
}

impl<'a, K: Borrow<Q> + 'a, Q: ?Sized + 'a> Borrow<dyn Probe<Q> + 'a> for Hashed<K> {
    fn borrow(&self) -> &(dyn Probe<Q> + 'a) {
        self
    }
}

impl<Q: ?Sized + Eq> PartialEq for dyn Probe<Q> + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.hashed() == other.hashed() && self.key() == other.key()
    }
}

impl<Q: ?Sized + Eq> Eq for dyn Probe<Q> + '_ {}

impl<Q: ?Sized> Hash for dyn Probe<Q> + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hashed());
    }
}

impl<K: Eq> PartialEq for Hashed<K> {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.key == other.key
    }
}

impl<K: Eq> Eq for Hashed<K> {}

impl<K> Hash for Hashed<K> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// The hasher of a shard's map: the key's hash, already computed.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is called, by the `Hash` impls above.
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl<K: Hash + Eq> KeyedRateLimiter<K> {
    /// A keyed limiter of `rate` permits per `period` for each key, whose
    /// burst is `rate`. For another burst, use
    /// [`RateLimiter::builder`] and
    /// [`build_keyed`](RateLimiterBuilder::build_keyed).
    ///
    /// # Errors
    ///
    /// As [`RateLimiter::new`]: [`BuildError`] for a zero rate, a zero
    /// period, or a period too long for the clock.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::{BuildError, KeyedRateLimiter};
    ///
    /// let limiter = KeyedRateLimiter::<u64>::new(10, Duration::from_secs(1))?;
    /// assert_eq!(limiter.burst(), 10);
    /// let zero = KeyedRateLimiter::<u64>::new(0, Duration::from_secs(1));
    /// assert_eq!(zero.unwrap_err(), BuildError::ZeroRate);
    /// # Ok::<(), BuildError>(())
    /// ```
    pub fn new(rate: u32, period: Duration) -> Result<KeyedRateLimiter<K>, BuildError> {
        RateLimiter::builder(rate, period).build_keyed()
    }

    /// The limiter of `key` (made if the key is new), sharing its state
    /// with every other use of the key: for the stream operators
    /// ([`rate_limit`](crate::StreamOps::rate_limit)) or to hold on to.
    /// While a clone is held, the key is not forgotten.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::KeyedRateLimiter;
    ///
    /// let limiter = KeyedRateLimiter::<String>::new(1, Duration::from_secs(1))?;
    /// let alice = limiter.limiter("alice");
    /// alice.try_acquire()?;
    /// assert!(limiter.try_acquire("alice").is_err(), "the same state");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn limiter<Q>(&self, key: &Q) -> RateLimiter
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.with(key, RateLimiter::clone)
    }

    /// Takes one permit of `key` now if one is free and none of the key's
    /// waiters is queued, without waiting.
    ///
    /// # Errors
    ///
    /// [`RateLimited`] if the key's permit is not free now.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::KeyedRateLimiter;
    ///
    /// let limiter = KeyedRateLimiter::<u32>::new(1, Duration::from_secs(60))?;
    /// assert!(limiter.try_acquire(&7).is_ok());
    /// assert!(limiter.try_acquire(&7).is_err());
    /// assert!(limiter.try_acquire(&8).is_ok());
    /// # Ok::<(), anyrt::stream::BuildError>(())
    /// ```
    pub fn try_acquire<Q>(&self, key: &Q) -> Result<(), RateLimited>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.with(key, RateLimiter::try_acquire)
    }

    /// Takes `n` permits of `key` at once if they are free now, without
    /// waiting; `n = 0` always succeeds and takes nothing (the key is not
    /// made for it).
    ///
    /// # Errors
    ///
    /// The outer [`ExceedsBurst`] if `n` is more than the burst (the key
    /// is not even looked up); the inner [`RateLimited`] if the permits
    /// are not free now.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::RateLimiter;
    ///
    /// let limiter = RateLimiter::builder(4, Duration::from_secs(1)).burst(4).build_keyed::<u8>()?;
    /// assert!(limiter.try_acquire_n(&1, 4)?.is_ok());
    /// assert!(limiter.try_acquire_n(&1, 1)?.is_err());
    /// assert!(limiter.try_acquire_n(&2, 5).is_err(), "more than the burst");
    /// assert_eq!(limiter.len(), 1, "key 2 was not made");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_acquire_n<Q>(&self, key: &Q, n: u32) -> Result<Result<(), RateLimited>, ExceedsBurst>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        ExceedsBurst::check(n, self.keyed.burst)?;
        if n == 0 {
            // Takes nothing: the key is not looked up, nor made.
            return Ok(Ok(()));
        }
        self.with(key, |limiter| limiter.try_acquire_n(n))
    }

    /// Waits for one permit of `key`, in turn behind the key's waiters
    /// queued before (other keys never hold it up). The future holds the
    /// key's limiter, so it may move into a `'static` task, and the key is
    /// not forgotten while it waits.
    ///
    /// # Cancel safety
    ///
    /// As for [`RateLimiter::acquire`]: dropped before it completes, it
    /// takes no permit and hands its turn to the key's next waiter.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::KeyedRateLimiter;
    ///
    /// # futures_lite::future::block_on(async {
    /// let limiter = KeyedRateLimiter::<String>::new(1000, Duration::from_secs(1))?;
    /// limiter.acquire("tenant-a").await;
    /// # Ok::<(), anyrt::stream::BuildError>(())
    /// # }).unwrap();
    /// ```
    pub fn acquire<Q>(&self, key: &Q) -> AcquireOwned
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.with(key, RateLimiter::acquire_owned)
    }

    /// Waits for `n` permits of `key` at once, in turn; `n = 0` completes
    /// at once.
    ///
    /// # Errors
    ///
    /// [`ExceedsBurst`] at once if `n` is more than the burst. Neither
    /// that call nor one for `n = 0` makes the key.
    ///
    /// # Cancel safety
    ///
    /// As for [`acquire`](KeyedRateLimiter::acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::RateLimiter;
    ///
    /// # futures_lite::future::block_on(async {
    /// let limiter = RateLimiter::builder(100, Duration::from_secs(1)).burst(5).build_keyed::<u8>()?;
    /// limiter.acquire_n(&3, 5).await?;
    /// assert!(limiter.acquire_n(&3, 6).await.is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn acquire_n<Q>(&self, key: &Q, n: u32) -> AcquireNOwned
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if n == 0 || n > self.keyed.burst {
            // Done at its first poll, with nothing taken or the error: on
            // a limiter of its own, so that the key is not made for it.
            return self.keyed.make().acquire_n_owned(n);
        }
        self.with(key, |limiter| limiter.acquire_n_owned(n))
    }

    /// Forgets every key whose limiter is at rest (its full burst free, no
    /// waiter, nobody holding its [`limiter`](KeyedRateLimiter::limiter)
    /// or an acquire future): exact, since the key's next use makes a new
    /// limiter in the same state. Returns how many keys are left.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::KeyedRateLimiter;
    ///
    /// let limiter = KeyedRateLimiter::<u32>::new(1, Duration::from_secs(3600))?;
    /// limiter.try_acquire(&1)?;
    /// let rested = limiter.limiter(&2); // made, nothing taken
    /// drop(rested);
    /// assert_eq!(limiter.len(), 2);
    /// assert_eq!(limiter.retain_recent(), 1, "key 1 is not rested for an hour");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn retain_recent(&self) -> usize {
        let burst = self.keyed.burst;
        let mut left = 0;
        for shard in &self.keyed.shards {
            let mut keys = lock(shard);
            keys.retain(|_, limiter| {
                Arc::strong_count(&limiter.shared) > 1
                    || limiter.waiting() > 0
                    || limiter.available() < burst
            });
            left += keys.len();
        }
        left
    }

    /// How many keys have a limiter now.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let limiter = anyrt::stream::KeyedRateLimiter::<u8>::new(1, Duration::from_secs(1))?;
    /// limiter.try_acquire(&1)?;
    /// limiter.try_acquire(&2)?;
    /// assert_eq!(limiter.len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn len(&self) -> usize {
        self.keyed.len()
    }

    /// Whether no key has a limiter now.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let limiter = anyrt::stream::KeyedRateLimiter::<u8>::new(1, Duration::from_secs(1))?;
    /// assert!(limiter.is_empty());
    /// # Ok::<(), anyrt::stream::BuildError>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The permits per period of each key.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let limiter = anyrt::stream::KeyedRateLimiter::<u8>::new(7, Duration::from_secs(1))?;
    /// assert_eq!(limiter.rate(), 7);
    /// # Ok::<(), anyrt::stream::BuildError>(())
    /// ```
    pub fn rate(&self) -> u32 {
        self.keyed.rate
    }

    /// The period of the rate.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let limiter = anyrt::stream::KeyedRateLimiter::<u8>::new(7, Duration::from_secs(2))?;
    /// assert_eq!(limiter.period(), Duration::from_secs(2));
    /// # Ok::<(), anyrt::stream::BuildError>(())
    /// ```
    pub fn period(&self) -> Duration {
        self.keyed.period
    }

    /// The most permits of one key granted at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::RateLimiter;
    ///
    /// let limiter = RateLimiter::builder(7, Duration::from_secs(1)).burst(3).build_keyed::<u8>()?;
    /// assert_eq!(limiter.burst(), 3);
    /// # Ok::<(), anyrt::stream::BuildError>(())
    /// ```
    pub fn burst(&self) -> u32 {
        self.keyed.burst
    }

    /// Runs `f` on the limiter of `key`, made if the key is new, under its
    /// shard's lock.
    fn with<Q, R>(&self, key: &Q, f: impl FnOnce(&RateLimiter) -> R) -> R
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let keyed = &*self.keyed;
        let hash = keyed.hasher.hash_one(key);
        // Bits the shard's map does not use pick the shard: its table
        // indexes by the low bits and tags slots with the top seven.
        let shard = (hash >> 32) as usize % SHARDS;
        let mut keys = lock(&keyed.shards[shard]);
        let lookup = Lookup { hash, key };
        if let Some(limiter) = keys.get(&lookup as &dyn Probe<Q>) {
            return f(limiter);
        }
        let key = Hashed {
            hash,
            key: key.to_owned(),
        };
        f(keys.entry(key).or_insert_with(|| keyed.make()))
    }
}

impl<K> Keyed<K> {
    /// Keys with a limiter now, over every shard.
    fn len(&self) -> usize {
        self.shards.iter().map(|shard| lock(shard).len()).sum()
    }

    /// A rested limiter for a new key.
    fn make(&self) -> RateLimiter {
        let shared = Shared::new(self.rate, self.period, self.burst, anyrt_core::now());
        RateLimiter {
            // The same numbers passed the same check when the keyed
            // limiter was built.
            shared: Arc::new(shared.expect("the parameters were checked when built")),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // No code under a shard's lock leaves the map inconsistent if it panics.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl RateLimiterBuilder {
    /// Checks the configuration as [`build`](RateLimiterBuilder::build)
    /// does, and makes a [`KeyedRateLimiter`] with these numbers for each
    /// key.
    ///
    /// # Errors
    ///
    /// As [`build`](RateLimiterBuilder::build).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use anyrt::stream::{BuildError, RateLimiter};
    ///
    /// let limiter = RateLimiter::builder(100, Duration::from_secs(1)).burst(10).build_keyed::<String>()?;
    /// assert_eq!((limiter.rate(), limiter.burst()), (100, 10));
    /// let zero = RateLimiter::builder(100, Duration::from_secs(1)).burst(0).build_keyed::<String>();
    /// assert_eq!(zero.unwrap_err(), BuildError::ZeroBurst);
    /// # Ok::<(), BuildError>(())
    /// ```
    pub fn build_keyed<K: Hash + Eq>(self) -> Result<KeyedRateLimiter<K>, BuildError> {
        let probe = self.build()?;
        let keyed = Keyed {
            rate: probe.rate(),
            period: probe.period(),
            burst: probe.burst(),
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
        };
        Ok(KeyedRateLimiter {
            keyed: Arc::new(keyed),
        })
    }
}

impl<K> Clone for KeyedRateLimiter<K> {
    fn clone(&self) -> Self {
        KeyedRateLimiter {
            keyed: self.keyed.clone(),
        }
    }
}

impl<K> fmt::Debug for KeyedRateLimiter<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keyed = &*self.keyed;
        f.debug_struct("KeyedRateLimiter")
            .field("rate", &keyed.rate)
            .field("period", &keyed.period)
            .field("burst", &keyed.burst)
            .field("keys", &keyed.len())
            .finish()
    }
}
