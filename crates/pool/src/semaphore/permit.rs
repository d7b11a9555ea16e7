//! RAII permits: dropping one gives its permits back.

use std::fmt;
use std::sync::Arc;

use super::Semaphore;

/// Permits borrowed from a [`Semaphore`]; given back when dropped.
///
/// # Examples
///
/// ```
/// let semaphore = anyrt::pool::Semaphore::new(1);
/// {
///     let _permit = semaphore.try_acquire().unwrap();
///     assert_eq!(semaphore.available_permits(), 0);
/// }
/// assert_eq!(semaphore.available_permits(), 1);
/// ```
#[must_use = "the permits are given back as soon as the permit is dropped"]
pub struct SemaphorePermit<'a> {
    semaphore: &'a Semaphore,
    permits: usize,
}

impl<'a> SemaphorePermit<'a> {
    pub(crate) fn new(semaphore: &'a Semaphore, permits: usize) -> Self {
        SemaphorePermit { semaphore, permits }
    }

    /// How many permits it holds.
    ///
    /// # Examples
    ///
    /// ```
    /// let semaphore = anyrt::pool::Semaphore::new(5);
    /// assert_eq!(semaphore.try_acquire_many(3).unwrap().num_permits(), 3);
    /// ```
    pub fn num_permits(&self) -> usize {
        self.permits
    }

    /// Keeps the permits out of the semaphore for good.
    ///
    /// # Examples
    ///
    /// ```
    /// let semaphore = anyrt::pool::Semaphore::new(2);
    /// semaphore.try_acquire().unwrap().forget();
    /// assert_eq!(semaphore.available_permits(), 1);
    /// ```
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// Splits `n` of its permits off into a permit of their own; `None`
    /// (and nothing changes) if it holds fewer than `n`.
    ///
    /// # Examples
    ///
    /// ```
    /// let semaphore = anyrt::pool::Semaphore::new(3);
    /// let mut three = semaphore.try_acquire_many(3).unwrap();
    /// let one = three.split(1).unwrap();
    /// assert_eq!((three.num_permits(), one.num_permits()), (2, 1));
    /// drop(one);
    /// assert_eq!(semaphore.available_permits(), 1);
    /// assert!(three.split(3).is_none());
    /// ```
    pub fn split(&mut self, n: usize) -> Option<Self> {
        self.permits = self.permits.checked_sub(n)?;
        Some(SemaphorePermit::new(self.semaphore, n))
    }

    /// Takes the permits of `other` into this one. `Err(other)`, with
    /// nothing changed, if `other` is of another semaphore.
    ///
    /// # Examples
    ///
    /// ```
    /// let (semaphore, other) = (anyrt::pool::Semaphore::new(3), anyrt::pool::Semaphore::new(1));
    /// let mut permit = semaphore.try_acquire().unwrap();
    /// permit.merge(semaphore.try_acquire_many(2).unwrap()).unwrap();
    /// assert_eq!(permit.num_permits(), 3);
    /// assert!(permit.merge(other.try_acquire().unwrap()).is_err());
    /// ```
    pub fn merge(&mut self, mut other: Self) -> Result<(), Self> {
        if !std::ptr::eq(self.semaphore, other.semaphore) {
            return Err(other);
        }
        self.permits += std::mem::take(&mut other.permits);
        Ok(())
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        self.semaphore.release(self.permits);
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("permits", &self.permits)
            .finish_non_exhaustive()
    }
}

/// Permits of a [`Semaphore`] in an [`Arc`], for `'static` tasks; given
/// back when dropped.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
///
/// let semaphore = Arc::new(anyrt::pool::Semaphore::new(1));
/// let permit = semaphore.clone().try_acquire_owned().unwrap();
/// assert!(Arc::ptr_eq(permit.semaphore(), &semaphore));
/// ```
#[must_use = "the permits are given back as soon as the permit is dropped"]
pub struct OwnedSemaphorePermit {
    semaphore: Arc<Semaphore>,
    permits: usize,
}

impl OwnedSemaphorePermit {
    pub(crate) fn new(semaphore: Arc<Semaphore>, permits: usize) -> Self {
        OwnedSemaphorePermit { semaphore, permits }
    }

    /// How many permits it holds.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// let semaphore = Arc::new(anyrt::pool::Semaphore::new(2));
    /// assert_eq!(semaphore.try_acquire_many_owned(2).unwrap().num_permits(), 2);
    /// ```
    pub fn num_permits(&self) -> usize {
        self.permits
    }

    /// The semaphore it came from.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// let semaphore = Arc::new(anyrt::pool::Semaphore::new(1));
    /// let permit = semaphore.clone().try_acquire_owned().unwrap();
    /// assert_eq!(permit.semaphore().available_permits(), 0);
    /// ```
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.semaphore
    }

    /// Keeps the permits out of the semaphore for good.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// let semaphore = Arc::new(anyrt::pool::Semaphore::new(1));
    /// semaphore.clone().try_acquire_owned().unwrap().forget();
    /// assert_eq!(semaphore.available_permits(), 0);
    /// ```
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// Splits `n` of its permits off into a permit of their own; `None`
    /// (and nothing changes) if it holds fewer than `n`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// let semaphore = Arc::new(anyrt::pool::Semaphore::new(2));
    /// let mut two = semaphore.clone().try_acquire_many_owned(2).unwrap();
    /// let one = two.split(1).unwrap();
    /// assert_eq!((two.num_permits(), one.num_permits()), (1, 1));
    /// ```
    pub fn split(&mut self, n: usize) -> Option<Self> {
        self.permits = self.permits.checked_sub(n)?;
        Some(OwnedSemaphorePermit::new(self.semaphore.clone(), n))
    }

    /// Takes the permits of `other` into this one. `Err(other)`, with
    /// nothing changed, if `other` is of another semaphore.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// let semaphore = Arc::new(anyrt::pool::Semaphore::new(2));
    /// let mut permit = semaphore.clone().try_acquire_owned().unwrap();
    /// permit.merge(semaphore.clone().try_acquire_owned().unwrap()).unwrap();
    /// assert_eq!(permit.num_permits(), 2);
    /// ```
    pub fn merge(&mut self, mut other: Self) -> Result<(), Self> {
        if !Arc::ptr_eq(&self.semaphore, &other.semaphore) {
            return Err(other);
        }
        self.permits += std::mem::take(&mut other.permits);
        Ok(())
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        self.semaphore.release(self.permits);
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .field("permits", &self.permits)
            .finish_non_exhaustive()
    }
}
