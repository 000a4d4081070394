//! A small bounded map whose entries expire at a time of the [`crate::clock::Clock`]: the
//! hot paths keep what rarely changes (clients) or cannot change (a verified token's
//! signature) here instead of asking the database or OpenSSL again. Never a place for
//! anything whose change must take effect at once, such as revocation.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::RwLock;

/// Entries with an expiry time, at most `capacity` of them.
#[derive(Debug)]
pub struct ExpiringCache<K, V> {
    entries: RwLock<HashMap<K, (V, i64)>>,
    capacity: usize,
}

impl<K: Eq + Hash, V: Clone> ExpiringCache<K, V> {
    /// An empty cache holding at most `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        ExpiringCache {
            entries: RwLock::new(HashMap::new()),
            capacity,
        }
    }

    /// The value under `key`, unless it expired by `now`.
    pub fn get<Q>(&self, key: &Q, now: i64) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(_, expires_at)| now < *expires_at)
            .map(|(value, _)| value.clone())
    }

    /// Keeps `value` under `key` until `expires_at`. A full cache first drops what expired,
    /// and everything when nothing did: cheaper than tracking use, and a miss only costs the
    /// work the cache saves.
    pub fn insert(&self, key: K, value: V, expires_at: i64, now: i64) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, (_, at)| now < *at);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key, (value, expires_at));
    }

    /// Forgets every entry (after a change this node made).
    pub fn clear(&self) {
        self.entries
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_at_their_time() {
        let cache = ExpiringCache::new(4);
        cache.insert("a", 1, 100, 90);
        assert_eq!(cache.get(&"a", 99), Some(1));
        assert_eq!(cache.get(&"a", 100), None);
    }

    #[test]
    fn a_full_cache_drops_expired_entries_first_and_never_grows_past_its_capacity() {
        let cache = ExpiringCache::new(2);
        cache.insert("old", 1, 10, 0);
        cache.insert("live", 2, 100, 0);
        cache.insert("new", 3, 100, 50);
        assert_eq!(cache.get(&"live", 50), Some(2), "only the expired one went");
        assert_eq!(cache.get(&"new", 50), Some(3));
        cache.insert("more", 4, 100, 50);
        assert_eq!(cache.get(&"more", 50), Some(4));
        assert_eq!(cache.entries.read().unwrap().len(), 1, "bounded");
        cache.clear();
        assert_eq!(cache.get(&"more", 50), None);
    }
}
