//! Failed password sign-ins, counted per account and per client address in a sliding
//! window (in memory, per instance). Beyond the limit a sign-in is refused before the
//! password is even checked, with the seconds until the oldest failure leaves the window.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Bound on tracked accounts and addresses; stale entries are dropped when it is reached.
const MAX_TRACKED: usize = 100_000;

pub struct SignInThrottle {
    window: Duration,
    per_account: usize,
    per_address: usize,
    accounts: Mutex<HashMap<String, VecDeque<Instant>>>,
    addresses: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

fn prune(times: &mut VecDeque<Instant>, window: Duration, now: Instant) {
    while times
        .front()
        .is_some_and(|t| now.duration_since(*t) >= window)
    {
        times.pop_front();
    }
}

/// Seconds until one more attempt is allowed, when `limit` failures are in the window.
fn wait<K: std::hash::Hash + Eq>(
    map: &Mutex<HashMap<K, VecDeque<Instant>>>,
    key: &K,
    limit: usize,
    window: Duration,
    now: Instant,
) -> Option<u64> {
    let mut map = map.lock().ok()?;
    let times = map.get_mut(key)?;
    prune(times, window, now);
    if times.len() < limit {
        return None;
    }
    let oldest = times.front()?;
    let left = window.saturating_sub(now.duration_since(*oldest));
    Some(left.as_secs().max(1))
}

fn record<K: std::hash::Hash + Eq>(
    map: &Mutex<HashMap<K, VecDeque<Instant>>>,
    key: K,
    window: Duration,
    now: Instant,
) {
    if let Ok(mut map) = map.lock() {
        if map.len() >= MAX_TRACKED {
            map.retain(|_, times| {
                prune(times, window, now);
                !times.is_empty()
            });
        }
        map.entry(key).or_default().push_back(now);
    }
}

impl SignInThrottle {
    pub fn new(per_account: u32, per_address: u32, window: Duration) -> Self {
        Self {
            window,
            per_account: per_account.max(1) as usize,
            per_address: per_address.max(1) as usize,
            accounts: Mutex::default(),
            addresses: Mutex::default(),
        }
    }

    /// `Err(seconds)` when the account or the address has used up its failures.
    /// `account` is the email as typed, normalised by the caller.
    pub fn check(&self, account: &str, address: Option<IpAddr>) -> Result<(), u64> {
        let now = Instant::now();
        let by_account = wait(
            &self.accounts,
            &account.to_owned(),
            self.per_account,
            self.window,
            now,
        );
        let by_address =
            address.and_then(|a| wait(&self.addresses, &a, self.per_address, self.window, now));
        match (by_account, by_address) {
            (None, None) => Ok(()),
            (a, b) => Err(a.unwrap_or(0).max(b.unwrap_or(0))),
        }
    }

    /// Counts a failed attempt against the account and the address.
    pub fn fail(&self, account: &str, address: Option<IpAddr>) {
        let now = Instant::now();
        record(&self.accounts, account.to_owned(), self.window, now);
        if let Some(a) = address {
            record(&self.addresses, a, self.window, now);
        }
    }

    /// A successful sign-in clears the account's failures (not the address's).
    pub fn succeed(&self, account: &str) {
        if let Ok(mut map) = self.accounts.lock() {
            map.remove(account);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_account_and_per_address() {
        let t = SignInThrottle::new(2, 3, Duration::from_secs(900));
        let a: IpAddr = [10, 0, 0, 1].into();
        assert!(t.check("x@e.com", Some(a)).is_ok());
        t.fail("x@e.com", Some(a));
        t.fail("x@e.com", Some(a));
        let wait = t.check("x@e.com", Some(a)).unwrap_err();
        assert!((1..=900).contains(&wait));
        // Another account from the same address: one failure left there.
        assert!(t.check("y@e.com", Some(a)).is_ok());
        t.fail("y@e.com", Some(a));
        assert!(t.check("z@e.com", Some(a)).is_err());
        assert!(t.check("z@e.com", Some([10, 0, 0, 2].into())).is_ok());
        t.succeed("x@e.com");
        assert!(t.check("x@e.com", Some([10, 0, 0, 2].into())).is_ok());
    }
}
