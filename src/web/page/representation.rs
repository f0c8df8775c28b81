//! How the representation grew: the parameters of all branches after each step, with pruning
//! and without (the results view; the live diagram is `diagram.rs`).

use leptos::prelude::*;
use reactive_stores::Field;

/// How the network grew: its parameters after each step, with and without pruning.
#[component]
pub fn ParamsHistory(
    /// Branch parameters after each step, with and without pruning.
    params_history: Field<Vec<(usize, usize)>>,
) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="growth-title">
            <h2 id="growth-title">"How the network grew"</h2>
            <Show when=move || !params_history.with(Vec::is_empty)
                fallback=|| view! { <p class="empty">"After the first step: the parameters of all branches after each step, with and without pruning."</p> }>
                <ParamsChart history=params_history />
            </Show>
        </section>
    }
}

/// Total parameters after each step, with and without pruning: bars, and the numbers.
#[component]
fn ParamsChart(
    /// (with pruning, without) after each step.
    history: Field<Vec<(usize, usize)>>,
) -> impl IntoView {
    let bars = move || {
        let h = history.get();
        let max = h
            .iter()
            .map(|&(_, without)| without)
            .max()
            .unwrap_or(1)
            .max(1) as f32;
        let width = 360.0 / h.len().max(1) as f32;
        h.iter()
            .enumerate()
            .map(|(i, &(with, without))| {
                let x = 30.0 + i as f32 * width;
                let tall = |v: usize| 100.0 * v as f32 / max;
                view! {
                    <rect class="bar-without" x=format!("{:.1}", x) y=format!("{:.1}", 110.0 - tall(without))
                        width=format!("{:.1}", width * 0.4) height=format!("{:.1}", tall(without)) />
                    <rect class="bar-with" x=format!("{:.1}", x + width * 0.42) y=format!("{:.1}", 110.0 - tall(with))
                        width=format!("{:.1}", width * 0.4) height=format!("{:.1}", tall(with)) />
                    <text x=format!("{:.1}", x + width * 0.4) y="124" class="tick">{i + 1}</text>
                }
            })
            .collect_view()
    };
    view! {
        <svg class="chart params-chart" viewBox="0 0 400 130" role="img" aria-label="total branch parameters after each step, with and without pruning" data-testid="params-chart">
            <line x1="25" y1="110" x2="395" y2="110" class="axis" />
            {bars}
        </svg>
        <p class="legend"><span class="key without"></span>"without pruning "<span class="key with"></span>"with pruning (what DER Studio keeps), after each step"</p>
        <table class="params-table" data-testid="params-history">
            <thead><tr><th>"After step"</th><th>"branch parameters with pruning"</th><th>"without pruning"</th></tr></thead>
            <tbody>
                {move || history.get().iter().enumerate().map(|(i, (with, without))| view! {
                    <tr><td>{i + 1}</td><td>{*with}</td><td>{*without}</td></tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}
