//! The representation room: one column per branch (locked or new, channels kept or pruned),
//! the parameters after each step, and the new branch's gates while a step trains.

use leptos::prelude::*;
use reactive_stores::Field;

use crate::engine::report::Progress;
use crate::protocol::{BranchView, StepOutcome};

/// The branches the steps have grown so far.
#[component]
pub fn RepresentationView(
    /// The last step's outcome: its branches and parameter counts.
    outcome: Field<Option<StepOutcome>>,
    /// Branch parameters after each step, with and without pruning.
    params_history: Field<Vec<(usize, usize)>>,
) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="rep-title">
            <h2 id="rep-title">"The representation"</h2>
            {move || match outcome.get() {
                None => view! { <p class="empty">"After the first step, each learned step appears here as a branch of the network."</p> }.into_any(),
                Some(o) => {
                    let before: usize = o.summary.params_before_prune;
                    view! {
                        <p>
                            "One column per step. Older branches are locked (their weights never change again); the newest is highlighted. Each row is a layer; a filled square is a channel kept, an empty one a channel pruned away."
                        </p>
                        <div class="branches" data-testid="branches">
                            {o.branches.iter().enumerate().map(|(i, b)| view! { <BranchColumn index=i branch=b.clone() /> }).collect_view()}
                        </div>
                        <p class="summary" data-testid="params">
                            {format!("Last step: {} → {} parameters after pruning ({:.0}% removed).",
                                before, o.summary.params_after_prune,
                                100.0 * (1.0 - o.summary.params_after_prune as f64 / before.max(1) as f64))}
                        </p>
                        <ParamsChart history=params_history />
                    }.into_any()
                }
            }}
        </section>
    }
}

#[component]
fn BranchColumn(
    /// The branch's step, from 0.
    index: usize,
    /// The branch: its layers' kept channels, whether it is locked, its parameters.
    branch: BranchView,
) -> impl IntoView {
    let rows = branch
        .gate_names
        .iter()
        .zip(branch.kept.iter().zip(&branch.total))
        .map(|(name, (&kept, &total))| {
            view! {
                <div class="layer" title=format!("{name}: {kept} of {total} channels kept")>
                    {(0..total).map(|c| view! { <span class="ch" class:kept=c < kept></span> }).collect_view()}
                </div>
            }
        })
        .collect_view();
    view! {
        <div class="branch" class:frozen=branch.frozen class:newest=!branch.frozen data-testid="branch" data-frozen=branch.frozen.to_string()>
            <h3>"Step " {index + 1} " "
                {if branch.frozen { view! { <span class="pill locked">"locked"</span> } } else { view! { <span class="pill new">"new"</span> } }}
            </h3>
            {rows}
            <p class="params">{branch.params} " parameters"</p>
        </div>
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
        let max = h.iter().map(|&(_, without)| without).max().unwrap_or(1).max(1) as f32;
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

/// The new branch's channel gates, live: one strip per layer, one cell per channel.
#[component]
pub fn GateStrips(
    /// The running step's last progress report (its gate masks).
    progress: RwSignal<Option<Progress>>,
) -> impl IntoView {
    view! {
        <div class="gates" data-testid="gates">
            {move || progress.get().map(|p| p.gate_masks.iter().map(|mask| view! {
                <div class="strip">
                    {mask.iter().map(|&m| view! {
                        <span class="cell" style:opacity=format!("{:.2}", 0.1 + 0.9 * m)></span>
                    }).collect_view()}
                </div>
            }).collect_view())}
        </div>
    }
}

