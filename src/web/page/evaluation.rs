//! The evaluation room: accuracy on kept-aside images after every step (the matrix), DER
//! against the baselines (fine-tuning, replay), the confusion matrix and the exemplars kept in memory.

use leptos::prelude::*;
use reactive_stores::Field;

use super::cell_images::{CellImagesPanel, open_accuracy_cell, open_confusion_cell};
use super::class_card::Thumb;
use super::state::Asked;
use crate::classroom::outcome::{Baseline, BaselineOutcome};
use crate::classroom::studio::Studio;
use crate::protocol::StepOutcome;

/// DER beside the baselines that learned the same steps: accuracy on every class seen after
/// each step, and each one's forgetting, with what each baseline is.
#[component]
fn Comparison(
    /// The last step's outcome, with the baselines' results.
    outcome: StepOutcome,
) -> impl IntoView {
    let baselines: Vec<(Baseline, BaselineOutcome)> = Baseline::ALL
        .into_iter()
        .filter_map(|b| outcome.baseline(b).map(|r| (b, r.clone())))
        .collect();
    if baselines.is_empty() {
        return None;
    }
    let names = baselines
        .iter()
        .map(|(b, _)| b.name().to_lowercase())
        .collect::<Vec<_>>()
        .join(" and ");
    let forgetting = baselines
        .iter()
        .map(|(b, r)| format!("{} {:.1}", b.name().to_lowercase(), r.forgetting * 100.0))
        .collect::<Vec<_>>()
        .join(" · ");
    Some(view! {
        <h3>{format!("DER against {names} (same steps, same images)")}</h3>
        <table class="matrix" data-testid="comparison">
            <thead><tr><th>"after step"</th><th>"DER: all classes seen"</th>
                {baselines.iter().map(|(b, _)| view! { <th data-baseline=b.method_key()>{format!("{}: all classes seen", b.name().to_lowercase())}</th> }).collect_view()}
            </tr></thead>
            <tbody>{outcome.accuracy_seen.iter().enumerate().map(|(i, &d)| view! {
                <tr><th>{i + 1}</th><td>{format!("{:.0}%", d * 100.0)}</td>
                    {baselines.iter().map(|(_, r)| {
                        let f = r.accuracy_seen.get(i).copied().unwrap_or(f32::NAN);
                        view! { <td class:bad=f < d - 0.1>{format!("{:.0}%", f * 100.0)}</td> }
                    }).collect_view()}
                </tr>
            }).collect_view()}</tbody>
        </table>
        <p class="summary" data-testid="comparison-summary">{format!("Forgetting, in points: DER {:.1} · {forgetting}", outcome.forgetting * 100.0)}</p>
        <ul class="methods" data-testid="comparison-methods">
            <li><strong>"DER"</strong>": adds a locked branch each step, trained with the kept old images."</li>
            {baselines.iter().map(|(b, _)| view! { <li><strong>{b.name()}</strong>{format!(": {}.", b.explanation())}</li> }).collect_view()}
        </ul>
    })
}

/// Whether the model still knows the old classes.
#[component]
pub fn EvaluationView(
    /// The classes (their names label the tables).
    studio: Field<Studio>,
    /// The last step's outcome: accuracy, comparison, confusion and memory.
    outcome: Field<Option<StepOutcome>>,
) -> impl IntoView {
    let name = move |label: usize| {
        studio.with(|s| {
            s.class(label)
                .map(|c| c.name.clone())
                .unwrap_or_else(|_| format!("#{label}"))
        })
    };
    let asked = Asked::get();
    view! {
        <section class="card" aria-labelledby="eval-title">
            <h2 id="eval-title">"Does it still know the old classes?"</h2>
            {move || match outcome.get() {
                None => view! { <p class="empty">"Accuracy on images kept aside from training (about 15% of each class) appears here after each step."</p> }.into_any(),
                Some(o) => view! {
                    <table class="matrix" data-testid="accuracy-matrix">
                        <thead><tr><th>"after step"</th>
                            {(0..o.accuracy_rows.len()).map(|j| view! { <th>"classes of step " {j + 1}</th> }).collect_view()}
                            <th>"all seen"</th></tr></thead>
                        <tbody>
                            {o.accuracy_rows.iter().zip(&o.accuracy_seen).enumerate().map(|(i, (row, seen))| view! {
                                <tr><th>{i + 1}</th>
                                    {(0..o.accuracy_rows.len()).map(|j| match row.get(j) {
                                        Some(a) => {
                                            let steps = o.accuracy_rows.len();
                                            let open = move |_| studio.with_untracked(|s| open_accuracy_cell(asked, s, i, j, steps));
                                            view! { <td style:background=format!("rgba(47,111,237,{:.2})", a * 0.35)>
                                                <button class="cell-button" data-testid="accuracy-cell" data-row=i + 1 data-column=j + 1 on:click=open
                                                    aria-label=format!("{:.0}% on step {}’s classes after step {}: show the images", a * 100.0, j + 1, i + 1)>{format!("{:.0}%", a * 100.0)}</button>
                                            </td> }.into_any()
                                        }
                                        None => view! { <td class="na"></td> }.into_any(),
                                    }).collect_view()}
                                    <td><strong>{format!("{:.0}%", seen * 100.0)}</strong></td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    <p class="summary">{format!("Average incremental accuracy {:.1}% · forgetting {:.1} points",
                        o.average_incremental_accuracy * 100.0, o.forgetting * 100.0)}</p>
                    <Comparison outcome=o.clone() />
                    <p class="muted">"Choose a number to see the images behind it."</p>
                    <h3>"Confusion (rows: true class, columns: predicted)"</h3>
                    <table class="matrix confusion" data-testid="confusion">
                        <thead><tr><th><span class="visually-hidden">"true class"</span></th>{o.class_order.iter().map(|&l| view! { <th>{name(l)}</th> }).collect_view()}</tr></thead>
                        <tbody>{o.confusion.iter().enumerate().map(|(t, row)| view! {
                            <tr><th>{name(o.class_order[t])}</th>{row.iter().enumerate().map(|(p, &n)| {
                                let (truth, answered) = (o.class_order[t], o.class_order[p]);
                                let open = move |_| studio.with_untracked(|s| open_confusion_cell(asked, s, truth, answered));
                                view! { <td class:diag=t == p>
                                    <button class="cell-button" data-testid="confusion-cell" data-truth=truth data-answered=answered on:click=open disabled=n == 0
                                        aria-label=format!("{n} {} images answered as {}: show them", name(truth), name(answered))>{n}</button>
                                </td> }
                            }).collect_view()}</tr>
                        }).collect_view()}</tbody>
                    </table>
                    <CellImagesPanel studio=studio asked=asked />
                    <h3>"Memory: the exemplars kept by herding"</h3>
                    <div class="memory" data-testid="memory">
                        {o.memory.iter().map(|(label, samples)| view! {
                            <div class="memory-class"><span>{name(*label)}</span>
                                <div class="thumbs">{samples.iter().take(10).map(|s| {
                                    let pixels = s.pixels.clone();
                                    view! { <Thumb pixels=Signal::derive(move || pixels.clone()) /> }
                                }).collect_view()}</div>
                            </div>
                        }).collect_view()}
                    </div>
                }.into_any(),
            }}
        </section>
    }
}

/// The classroom screen's short answer: accuracy on every class so far, the forgetting, and
/// DER against the baselines when comparing; the details are in the results view.
#[component]
pub fn ResultsSummary(
    /// The last step's outcome.
    outcome: Field<Option<StepOutcome>>,
    /// Opens the results view.
    on_details: impl Fn() + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <section class="card summary-card" aria-labelledby="summary-title" data-testid="results-summary">
            <h2 id="summary-title">"Does it still know the old classes?"</h2>
            {move || match outcome.get() {
                None => view! { <p class="empty">"After each step: accuracy on images kept aside from training."</p> }.into_any(),
                Some(o) => {
                    let seen = o.accuracy_seen.last().copied().unwrap_or(0.0);
                    let oldest = o.accuracy_rows.last().and_then(|r| r.first()).copied().unwrap_or(0.0);
                    view! {
                        <p class="big-number"><span>{format!("{:.0}%", seen * 100.0)}</span>" on every class so far"</p>
                        <p>{format!("Classes of step 1 now: {:.0}% · forgetting {:.1} points", oldest * 100.0, o.forgetting * 100.0)}</p>
                        {Baseline::ALL.into_iter().filter_map(|b| o.baseline(b).map(|r| (b, r.clone()))).map(|(b, r)| view! {
                            <p class="versus" data-testid=format!("versus-{}", b.method_key())>{format!("{}: {:.0}% on every class, forgetting {:.1} points",
                                b.name(), r.accuracy_seen.last().copied().unwrap_or(0.0) * 100.0, r.forgetting * 100.0)}</p>
                        }).collect_view()}
                    }.into_any()
                }
            }}
            <button class="quiet small" data-testid="open-results" on:click=move |_| on_details()>"All results →"</button>
        </section>
    }
}
