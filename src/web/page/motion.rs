//! Motion that respects the reader: whether the system asks for reduced motion (leptos-use's
//! reactive media query), and a number that counts from one value to another.

use leptos::prelude::*;
use std::time::Duration;

/// The system's "reduce motion" setting (`prefers-reduced-motion: reduce`), kept current.
pub use leptos_use_preferences::use_prefers_reduced_motion as prefers_reduced_motion;

/// The interval of a running count, so a new count stops the one before it.
pub type Ticker = StoredValue<Option<leptos::leptos_dom::helpers::IntervalHandle>>;

/// Counts `shown` from `from` to `to` over `length` in about 25 ticks (eased out), so a reader
/// sees the number fall rather than jump. `ticker` must outlive the count (it is the caller's,
/// not made here: reactive values made inside an effect are disposed when it runs again).
pub fn tick_count(
    shown: RwSignal<Option<usize>>,
    ticker: Ticker,
    from: usize,
    to: usize,
    length: Duration,
) {
    const TICKS: u32 = 25;
    stop_count(ticker);
    shown.set(Some(from));
    let tick = std::cell::Cell::new(0u32);
    let interval = leptos::leptos_dom::helpers::set_interval_with_handle(
        move || {
            let n = tick.get() + 1;
            tick.set(n);
            let t = f64::from(n) / f64::from(TICKS);
            let eased = 1.0 - (1.0 - t).powi(3);
            shown.set(Some(
                (from as f64 + (to as f64 - from as f64) * eased).round() as usize,
            ));
            if n >= TICKS {
                stop_count(ticker);
            }
        },
        length / TICKS,
    );
    ticker.set_value(interval.ok());
}

/// Stops the count `ticker` runs, if any (the number stays where it is).
pub fn stop_count(ticker: Ticker) {
    if let Some(running) = ticker.get_value() {
        running.clear();
    }
}
