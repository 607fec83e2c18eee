//! Helpers shared by the integration tests (each test file includes this module).

use lambdasim::stats::summary::FunctionSummary;

/// SPEC section 5 for one function (or the account): nothing is lost, attempts add up,
/// throttle reasons add up, timeouts are failures.
pub fn assert_conserved(name: &str, f: &FunctionSummary) {
    assert_eq!(
        f.requests,
        f.succeeded + f.failed + f.dropped + f.dlq + f.in_flight,
        "{name}: requests = succeeded + failed + dropped + dlq + in flight"
    );
    assert_eq!(
        f.attempts,
        f.invocations + f.throttles.total,
        "{name}: attempts = invocations + throttles"
    );
    assert_eq!(
        f.throttles.total,
        f.throttles.burst + f.throttles.account + f.throttles.reserved + f.throttles.rate,
        "{name}: throttle reasons"
    );
    assert!(f.timed_out <= f.failed, "{name}: timed_out within failed");
}

/// [`assert_conserved`] for every function and the account of a run.
pub fn assert_run_conserved(s: &lambdasim::stats::Summary) {
    for (name, f) in &s.functions {
        assert_conserved(name, f);
    }
    assert_conserved("account", &s.account);
}
