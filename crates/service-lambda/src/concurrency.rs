//! Concurrency accounting, as Lambda does it per account and region: a function with reserved
//! concurrency runs at most that many invocations at once and draws nothing from the shared
//! pool; every other function shares the unreserved rest of the account limit. An invoke that
//! finds no room is throttled (`429 TooManyRequestsException` with the matching `Reason`).
//!
//! Counters are in memory: they count invocations running in this process, which is exactly
//! what a restart resets.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::error::ThrottleReason;
use crate::lock;

/// Lambda keeps at least this much of the account limit unreserved.
pub const MIN_UNRESERVED: u32 = 100;

#[derive(Clone, Debug)]
pub struct Concurrency {
    limit: u32,
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    /// Running invocations per function key (`account/region/name`).
    running: HashMap<String, u32>,
    /// Running invocations of functions without a reservation, per scope (`account/region`).
    unreserved_running: HashMap<String, u32>,
    reserved: HashMap<String, u32>,
}

impl State {
    fn reserved_total(&self, scope: &str) -> u32 {
        self.reserved.iter().filter(|(k, _)| scope_of(k) == scope).map(|(_, n)| *n).sum()
    }
}

/// `account/region` of a function key.
fn scope_of(function_key: &str) -> &str {
    function_key.rsplit_once('/').map_or("", |(scope, _)| scope)
}

/// One running invocation; dropping it frees its slot.
#[derive(Debug)]
pub struct Permit {
    state: Arc<Mutex<State>>,
    function: String,
    reserved: bool,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut state = lock(&self.state);
        if let Some(n) = state.running.get_mut(&self.function) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                state.running.remove(&self.function);
            }
        }
        if !self.reserved {
            let scope = scope_of(&self.function).to_owned();
            if let Some(n) = state.unreserved_running.get_mut(&scope) {
                *n = n.saturating_sub(1);
            }
        }
    }
}

impl Concurrency {
    pub fn new(limit: u32) -> Concurrency {
        Concurrency { limit, state: Arc::new(Mutex::new(State::default())) }
    }

    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Sets (or with `None` clears) a function's reservation. Callers check
    /// [`Concurrency::can_reserve`] first.
    pub fn reserve(&self, function: &str, reserved: Option<u32>) {
        let mut state = lock(&self.state);
        match reserved {
            Some(n) => state.reserved.insert(function.to_owned(), n),
            None => state.reserved.remove(function),
        };
    }

    /// Whether reserving `n` for `function` leaves the account at least [`MIN_UNRESERVED`].
    pub fn can_reserve(&self, function: &str, n: u32) -> bool {
        let state = lock(&self.state);
        let others =
            state.reserved_total(scope_of(function)) - state.reserved.get(function).copied().unwrap_or(0);
        u64::from(others) + u64::from(n) + u64::from(MIN_UNRESERVED) <= u64::from(self.limit)
    }

    /// The account limit minus every reservation in `scope` (`account/region`).
    pub fn unreserved(&self, scope: &str) -> u32 {
        self.limit.saturating_sub(lock(&self.state).reserved_total(scope))
    }

    /// Invocations of `function` running now.
    pub fn running(&self, function: &str) -> u32 {
        lock(&self.state).running.get(function).copied().unwrap_or(0)
    }

    /// Takes a slot for one invocation of `function`, or says why there is none.
    pub fn acquire(&self, function: &str) -> Result<Permit, ThrottleReason> {
        let mut state = lock(&self.state);
        let running = state.running.get(function).copied().unwrap_or(0);
        let reserved = match state.reserved.get(function).copied() {
            Some(limit) => {
                if running >= limit {
                    return Err(ThrottleReason::ReservedFunctionConcurrentInvocationLimitExceeded);
                }
                true
            }
            None => {
                let scope = scope_of(function).to_owned();
                let pool = self.limit.saturating_sub(state.reserved_total(&scope));
                let used = state.unreserved_running.entry(scope).or_insert(0);
                if *used >= pool {
                    return Err(ThrottleReason::ConcurrentInvocationLimitExceeded);
                }
                *used += 1;
                false
            }
        };
        *state.running.entry(function.to_owned()).or_insert(0) += 1;
        Ok(Permit { state: self.state.clone(), function: function.to_owned(), reserved })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_functions_have_their_own_limit() {
        let c = Concurrency::new(1000);
        c.reserve("a/r/f", Some(1));
        let first = c.acquire("a/r/f").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            c.acquire("a/r/f").err(),
            Some(ThrottleReason::ReservedFunctionConcurrentInvocationLimitExceeded)
        );
        drop(first);
        assert!(c.acquire("a/r/f").is_ok());
        c.reserve("a/r/g", Some(0));
        assert!(c.acquire("a/r/g").is_err());
    }

    #[test]
    fn the_unreserved_pool_is_shared_per_scope() {
        let c = Concurrency::new(102);
        assert!(c.can_reserve("a/r/f", 2));
        assert!(!c.can_reserve("a/r/f", 3));
        c.reserve("a/r/f", Some(2));
        assert_eq!(c.unreserved("a/r"), 100);
        let held: Vec<Permit> =
            (0..100).map(|_| c.acquire("a/r/g").unwrap_or_else(|e| panic!("{e:?}"))).collect();
        assert_eq!(c.acquire("a/r/h").err(), Some(ThrottleReason::ConcurrentInvocationLimitExceeded));
        // Another region has its own pool; the reserved function its own slots.
        assert!(c.acquire("a/other/h").is_ok());
        assert!(c.acquire("a/r/f").is_ok());
        drop(held);
        assert!(c.acquire("a/r/h").is_ok());
    }
}
