//! The representation as a live diagram, the heart of the classroom screen: one column per
//! step's branch, one row of channel cells per layer.
//!
//! - While a step trains, a new column grows in and its cells follow the channel masks of the
//!   progress reports (they arrive with each report: no extra read from the device).
//! - When the step ends, the channels pruning removed fade out, the column narrows, and the
//!   parameter count ticks down from before to after.
//! - Older columns are locked: a lock, and they never move.
//! - Hovering or focusing a cell (the arrow keys move between cells) says its layer, channel
//!   and mask value.
//! - The classifier under the columns reads all of them.

use leptos::prelude::*;
use reactive_stores::Field;
use std::time::Duration;

use super::captions::{Captions, ClassifierCaption};
use super::explain::step_colour;
use super::icons::LockIcon;
use super::motion::{Ticker, prefers_reduced_motion, stop_count, tick_count};
use super::state::{Asked, Training};
use crate::classroom::studio::Studio;
use crate::engine::LearnerConfig;
use crate::protocol::{BranchView, StepOutcome};

/// How long removed channels take to fade before the column narrows (the CSS animation's
/// length, in `style.css`).
const PRUNE_FADE: Duration = Duration::from_millis(1400);

/// Cells per line of a layer: each channel is a narrow bar, and a layer is one line of them
/// up to 32 channels (more wrap into more lines, so a column is never wider than 32 bars). A
/// layer's lines are the same in every column, so its rows line up across columns; a pruned
/// layer's line is shorter, and the column is as wide as its longest line.
fn per_line(totals: &[usize]) -> usize {
    totals.iter().copied().max().unwrap_or(32).clamp(16, 32)
}

/// What one column shows.
#[derive(Clone, Debug, PartialEq)]
struct Column {
    /// 0-based step.
    step: usize,
    locked: bool,
    /// The step now training: its cells follow the live masks.
    live: bool,
    /// Per layer, per channel shown: (channel index before pruning, mask value, fading out).
    layers: Vec<Vec<(usize, f32, bool)>>,
    params: usize,
    /// The column's width as a fraction of a full branch's: its parameters over a new branch's.
    /// Its bars are that much thinner, so a pruned branch's column is narrower by what pruning
    /// removed while every layer keeps its height.
    shrink: f32,
}

impl Column {
    /// Changes whenever the column's cells change (not when only live mask values do).
    fn key(&self) -> String {
        let cells: Vec<String> = self
            .layers
            .iter()
            .map(|l| format!("{}/{}", l.len(), l.iter().filter(|c| c.2).count()))
            .collect();
        format!(
            "{}-{}-{}-{:.3}-{}",
            self.step,
            self.locked,
            self.live,
            self.shrink,
            cells.join(",")
        )
    }
}

/// A learned branch as drawn: its kept channels (all fully on: pruning removed the others), as
/// wide as its share of a full branch's parameters (`full_params`).
fn learned_column(step: usize, branch: &BranchView, locked: bool, full_params: usize) -> Column {
    let layers = branch
        .kept
        .iter()
        .map(|&k| (0..k).map(|c| (c, 1.0, false)).collect())
        .collect();
    let shrink = (branch.params as f32 / full_params.max(1) as f32).clamp(0.2, 1.0);
    Column {
        step,
        locked,
        live: false,
        layers,
        params: branch.params,
        shrink,
    }
}

/// The newest branch just after pruning: every channel it had, the ones pruning removed marked
/// to fade (the `kept` channels with the highest final masks stay: pruning keeps the channels
/// whose masks are on).
fn pruned_column(step: usize, branch: &BranchView, masks: &[Vec<f32>]) -> Column {
    let layers = branch
        .kept
        .iter()
        .zip(masks)
        .map(|(&kept, mask)| {
            let mut order: Vec<usize> = (0..mask.len()).collect();
            order.sort_by(|&a, &b| mask[b].total_cmp(&mask[a]));
            let stays: Vec<bool> = {
                let mut s = vec![false; mask.len()];
                order.iter().take(kept).for_each(|&c| s[c] = true);
                s
            };
            mask.iter()
                .enumerate()
                .map(|(c, &m)| (c, if stays[c] { 1.0 } else { m }, !stays[c]))
                .collect()
        })
        .collect();
    Column {
        step,
        locked: false,
        live: false,
        layers,
        params: branch.params,
        shrink: 1.0,
    }
}

/// The diagram of the representation.
#[component]
pub fn Diagram(
    /// The classes (the classifier lists them).
    studio: Field<Studio>,
    /// The last step's outcome: the learned branches.
    outcome: Field<Option<StepOutcome>>,
    /// The settings: a new branch's layers and channels before its first report.
    config: Field<LearnerConfig>,
    /// The running step: the live masks.
    training: Training,
) -> impl IntoView {
    let reduced_motion = prefers_reduced_motion();
    // The newest branch's removed channels, fading (the step just ended): its masks at the end.
    let fading = RwSignal::new(None::<Vec<Vec<f32>>>);
    let shown_params = RwSignal::new(None::<usize>);
    let ticker: Ticker = StoredValue::new(None);
    let branch_count =
        StoredValue::new(outcome.with_untracked(|o| o.as_ref().map_or(0, |o| o.branches.len())));
    // A step just ended (one more branch, and its masks are here): fade, then narrow; tick the
    // parameters down. A restored session has no masks: it is drawn at once.
    Effect::new(move |_| {
        let count = outcome.with(|o| o.as_ref().map_or(0, |o| o.branches.len()));
        let grew = count == branch_count.get_value() + 1;
        branch_count.set_value(count);
        let Some(o) = outcome.get_untracked() else {
            return shown_params.set(None);
        };
        let masks = training.masks.get_untracked();
        let fits = masks.as_ref().is_some_and(|m| {
            o.branches
                .last()
                .is_some_and(|b| b.total.iter().copied().eq(m.iter().map(Vec::len)))
        });
        let (before, after) = (o.summary.params_before_prune, o.summary.params_after_prune);
        if grew && fits && !reduced_motion.get_untracked() {
            fading.set(masks);
            tick_count(shown_params, ticker, before, after, PRUNE_FADE);
            set_timeout(move || fading.set(None), PRUNE_FADE);
        } else {
            stop_count(ticker);
            fading.set(None);
            shown_params.set(Some(after));
        }
    });
    let running = move || training.learning.with(Option::is_some);
    let columns = Memo::new(move |_| {
        let running = running();
        let mut columns: Vec<Column> = outcome.with(|o| {
            let Some(o) = o else { return Vec::new() };
            let newest = o.branches.len().saturating_sub(1);
            // Every branch has the same shape before pruning: the newest's size then.
            let full = o.summary.branch_params_before;
            o.branches
                .iter()
                .enumerate()
                .map(|(i, b)| match fading.get() {
                    Some(masks) if i == newest && !running => pruned_column(i, b, &masks),
                    _ => learned_column(i, b, i < newest || running, full),
                })
                .collect()
        });
        if running {
            let step = columns.len();
            let layers = config
                .with(|c| c.backbone.gate_channels())
                .into_iter()
                .map(|(_, n)| (0..n).map(|c| (c, 0.5, false)).collect())
                .collect();
            columns.push(Column {
                step,
                locked: false,
                live: true,
                layers,
                params: 0,
                shrink: 1.0,
            });
        }
        columns
    });
    let layer_names = Memo::new(move |_| config.with(|c| c.backbone.gate_channels()));
    let per = Memo::new(move |_| {
        layer_names.with(|g| per_line(&g.iter().map(|(_, n)| *n).collect::<Vec<_>>()))
    });
    let lines = Memo::new(move |_| {
        layer_names.with(|g| {
            g.iter()
                .map(|(_, n)| n.div_ceil(per.get()).max(1))
                .collect::<Vec<usize>>()
        })
    });
    let numbered_columns = move || columns.get().into_iter().enumerate().collect::<Vec<_>>();
    let inspected = RwSignal::new(None::<(usize, usize, usize)>);
    let readout = move || {
        let Some((col, layer, cell)) = inspected.get() else {
            return "Point at a channel to read it (or focus the diagram and use the arrow keys)."
                .to_string();
        };
        let columns = columns.get();
        let Some(column) = columns.get(col) else {
            return String::new();
        };
        let Some(&(channel, _, _)) = column.layers.get(layer).and_then(|l| l.get(cell)) else {
            return String::new();
        };
        let value = if column.live {
            live_mask(training, layer, channel)
        } else {
            column.layers[layer][cell].1
        };
        let name = layer_names.with(|n| n.get(layer).map(|(n, _)| n.clone()).unwrap_or_default());
        let state = if column.locked {
            "locked"
        } else if column.live {
            "training"
        } else {
            "new"
        };
        format!(
            "Step {} ({state}) · {name} · channel {} · mask {value:.2}",
            column.step + 1,
            channel + 1
        )
    };
    // Arrow keys move the inspected cell: left/right along the layer (and across columns at
    // its ends), up/down between layers.
    let key = move |ev: leptos::ev::KeyboardEvent| {
        let columns = columns.get_untracked();
        if columns.is_empty() {
            return;
        }
        let (mut col, mut layer, mut cell) =
            inspected
                .get_untracked()
                .unwrap_or((columns.len() - 1, 0, 0));
        let width = |col: usize, layer: usize| columns[col].layers.get(layer).map_or(0, Vec::len);
        match ev.key().as_str() {
            "ArrowRight" if cell + 1 < width(col, layer) => cell += 1,
            "ArrowRight" if col + 1 < columns.len() => (col, cell) = (col + 1, 0),
            "ArrowLeft" if cell > 0 => cell -= 1,
            "ArrowLeft" if col > 0 => {
                (col, cell) = (col - 1, width(col - 1, layer).saturating_sub(1))
            }
            "ArrowDown" if layer + 1 < columns[col].layers.len() => layer += 1,
            "ArrowUp" if layer > 0 => layer -= 1,
            "ArrowLeft" | "ArrowRight" | "ArrowUp" | "ArrowDown" => {}
            _ => return,
        }
        ev.prevent_default();
        cell = cell.min(width(col, layer).saturating_sub(1));
        inspected.set(Some((col, layer, cell)));
    };
    // One listener for every cell: the cell says where it is in its data attributes.
    let hover = move |ev: leptos::ev::MouseEvent| {
        use wasm_bindgen::JsCast;
        let Some(el) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        else {
            return;
        };
        let at = |name: &str| el.get_attribute(name).and_then(|v| v.parse::<usize>().ok());
        if let (Some(col), Some(layer), Some(cell)) =
            (at("data-col"), at("data-layer"), at("data-cell"))
        {
            inspected.set(Some((col, layer, cell)));
        }
    };
    let classes = move || {
        let learning = training.learning.get().unwrap_or_default();
        studio.with(|s| {
            s.classes
                .iter()
                .filter(|c| c.learned_in_step.is_some() || learning.contains(&c.id))
                .map(|c| (c.name.clone(), c.learned_in_step.is_none()))
                .collect::<Vec<_>>()
        })
    };
    view! {
        <section class="card diagram-card" aria-labelledby="rep-title">
            <div class="row spread">
                <h2 id="rep-title">"The representation"</h2>
                <p class="params-line" data-testid="params">
                    {move || outcome.with(|o| o.as_ref().map(|o| {
                        let s = &o.summary;
                        let shown = shown_params.get().unwrap_or(s.params_after_prune);
                        format!("Step {}: {} → {} parameters ({:.0}% pruned)", s.step + 1, s.params_before_prune, shown,
                            100.0 * (1.0 - s.params_after_prune as f64 / s.params_before_prune.max(1) as f64))
                    }))}
                </p>
            </div>
            <div class="diagram-area">
            <div class="diagram" data-testid="diagram" tabindex="0" role="group"
                aria-label="The representation: one column per step, one row of channel cells per layer"
                aria-describedby="diagram-readout" on:keydown=key on:mouseover=hover
                style:--full-across=move || per.get().to_string()>
                <div class="layer-names" aria-hidden="true">
                    <span class="column-head"></span>
                    {move || layer_names.get().into_iter().zip(lines.get()).map(|((name, _), lines)| view! {
                        <span class="layer-name" style:--lines=lines.to_string()>{short_layer_name(&name)}</span>
                    }).collect_view()}
                </div>
                <div class="columns">
                    <Show when=move || columns.with(Vec::is_empty)>
                        <div class="column placeholder" data-testid="branch-placeholder">
                            <span class="column-head">"Step 1"</span>
                            <p>"Each step adds a branch here: a column of channels."</p>
                        </div>
                    </Show>
                    <For each=numbered_columns
                        key=|(i, c)| format!("{i}:{}", c.key()) let:((col, column))>
                        <ColumnView col=col column=column lines=lines training=training inspected=inspected/>
                    </For>
                </div>
            </div>
            <Captions />
            </div>
            <p class="readout" id="diagram-readout" data-testid="diagram-readout">{readout}</p>
            <div class="classifier-area">
            <ClassifierCaption />
            <div class="classifier" data-testid="classifier">
                <span class="classifier-name">"Classifier"</span>
                {move || {
                    let classes = classes();
                    if classes.is_empty() {
                        view! { <span class="muted">"reads every column; re-balanced after each step"</span> }.into_any()
                    } else {
                        classes.into_iter().map(|(name, new)| view! { <span class="chip" class:new=new>{name}</span> }).collect_view().into_any()
                    }
                }}
            </div>
            </div>
            <p class="legend diagram-legend">
                <span class="cell-key"></span>" a channel, brighter when on · "
                <span class="column-key"></span>" a column: one step’s branch · "
                <LockIcon />" locked"
            </p>
        </section>
    }
}

/// "stage 2 block 1 inner" is "stage 2 inner" when stages have one block (the default).
fn short_layer_name(name: &str) -> String {
    name.replace(" block 1 inner", " inner")
}

/// The live column's mask of `channel` in `layer`, from the last progress report.
fn live_mask(training: Training, layer: usize, channel: usize) -> f32 {
    training.masks.with(|m| {
        m.as_ref()
            .and_then(|m| m.get(layer))
            .and_then(|l| l.get(channel))
            .copied()
            .unwrap_or(0.5)
    })
}

/// One branch's column.
#[component]
fn ColumnView(
    /// Its place among the columns.
    col: usize,
    /// What it shows.
    column: Column,
    /// Lines per layer (every column shares them).
    lines: Memo<Vec<usize>>,
    /// The live masks, for the training column.
    training: Training,
    /// The cell being read.
    inspected: RwSignal<Option<(usize, usize, usize)>>,
) -> impl IntoView {
    let Column {
        step,
        locked,
        live,
        layers,
        params,
        shrink,
    } = column;
    let testid = if live { "branch-live" } else { "branch" };
    let newest_pruned = !live && !locked;
    // The longest line of this column: its bars share the column's width.
    let counts: Vec<usize> = layers.iter().map(Vec::len).collect();
    let max_across = move || {
        lines.with(|l| {
            counts
                .iter()
                .enumerate()
                .map(|(i, n)| n.div_ceil(l.get(i).copied().unwrap_or(1).max(1)))
                .max()
                .unwrap_or(1)
                .max(1)
        })
    };
    let rows = layers
        .into_iter()
        .enumerate()
        .map(|(layer, cells)| {
            let shown = cells.len();
            let cells = cells
                .into_iter()
                .enumerate()
                .map(|(i, (channel, value, removed))| {
                    let value = move || if live { live_mask(training, layer, channel) } else { value };
                    let here = move || inspected.get() == Some((col, layer, i));
                    view! {
                        <span class="cell" class:removed=removed class:inspected=here
                            data-col=col data-layer=layer data-cell=i
                            style:--m=move || format!("{:.2}", value())></span>
                    }
                })
                .collect_view();
            let lines_here = move || lines.with(|l| l.get(layer).copied().unwrap_or(1));
            view! {
                <span class="layer" style:--lines=move || lines_here().to_string()
                    style:--across=move || shown.div_ceil(lines_here()).max(1).to_string()>{cells}</span>
            }
        })
        .collect_view();
    let params_text = if live {
        "training…".to_string()
    } else {
        format!("{params} parameters")
    };
    // The last prediction's evidence from this column's branch (its share of all branches'),
    // while the prediction panel shows it.
    let asked = Asked::get();
    let share = move || {
        asked.explanation.with(|e| {
            e.as_ref()
                .filter(|e| e.contributions.len() > 1 && !live)
                .and_then(|e| e.shares().get(step).copied())
        })
    };
    let strongest = move || {
        asked.explanation.with(|e| {
            e.as_ref()
                .filter(|e| e.contributions.len() > 1)
                .and_then(|e| e.strongest())
        }) == Some(step)
            && !live
    };
    view! {
        <div class="column" class:locked=locked class:live=live class:newest=newest_pruned
            class:pruned=shrink < 1.0 style:--shrink=format!("{shrink:.3}")
            style:--max-across=move || max_across().to_string()
            style:--step-colour=step_colour(step)
            class:explained=move || share().is_some() class:strongest=strongest
            style:--evidence=move || share().map(|s| format!("{s:.2}")).unwrap_or_default()
            data-evidence=move || share().map(|s| format!("{s:.2}")).unwrap_or_default()
            data-testid=testid data-frozen=locked.to_string() data-step=step + 1>
            <span class="column-head">
                <span class="step-swatch" aria-hidden="true"></span>
                {format!("Step {}", step + 1)}
                {move || share().map(|s| view! { <span class="evidence" data-testid="column-evidence">{format!("{:.0}%", s * 100.0)}</span> })}
                {if locked { view! { <span class="lock" title="locked: never trained again"><LockIcon label="locked" /></span> }.into_any() }
                 else if live { view! { <span class="pill new">"training"</span> }.into_any() }
                 else { view! { <Show when=move || share().is_none()><span class="pill new">"new"</span></Show> }.into_any() }}
            </span>
            {rows}
            <span class="column-foot">{params_text}</span>
        </div>
    }
}
