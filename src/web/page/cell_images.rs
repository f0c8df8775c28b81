//! The images behind a number: a cell of the accuracy matrix or of the confusion view opens
//! the kept-aside images it counts, each with what the model answered. The accuracy matrix's
//! row k asks the model as it was after step k (rewound in the worker), so the images show
//! what that number measured, not what today's model says.

use leptos::prelude::*;
use reactive_stores::Field;

use super::class_card::Thumb;
use super::link::WorkerLink;
use super::state::{Asked, CellImages};
use crate::classroom::studio::Studio;
use crate::protocol::ToWorker;

/// Opens the images of the accuracy matrix's cell: the classes of step `column` (0-based), as
/// the model after step `row` (0-based) answered them; `steps`: steps learned.
pub fn open_accuracy_cell(asked: Asked, studio: &Studio, row: usize, column: usize, steps: usize) {
    let classes: Vec<usize> = studio
        .classes
        .iter()
        .filter(|c| c.learned_in_step == Some(column))
        .map(|c| c.id)
        .collect();
    let step = (row + 1 < steps).then_some(row + 1);
    open(
        asked,
        CellImages {
            key: format!("accuracy-{row}-{column}"),
            title: format!(
                "Kept-aside images of step {}’s classes, answered by the model after step {}",
                column + 1,
                row + 1
            ),
            step,
            samples: studio.test_set(&classes).samples,
            answered_as: None,
            answers: None,
        },
    );
}

/// Opens the images of the confusion view's cell: kept-aside images of `truth` that the
/// current model answered as `answered`.
pub fn open_confusion_cell(asked: Asked, studio: &Studio, truth: usize, answered: usize) {
    let name = |label: usize| {
        studio
            .class(label)
            .map(|c| c.name.clone())
            .unwrap_or_default()
    };
    open(
        asked,
        CellImages {
            key: format!("confusion-{truth}-{answered}"),
            title: format!(
                "“{}” images the model answered as “{}”",
                name(truth),
                name(answered)
            ),
            step: None,
            samples: studio.test_set(&[truth]).samples,
            answered_as: Some(answered),
            answers: None,
        },
    );
}

fn open(asked: Asked, cell: CellImages) {
    WorkerLink::get().send(ToWorker::Answer {
        samples: cell.samples.clone(),
        step: cell.step,
        cell: cell.key.clone(),
    });
    asked.cell.set(Some(cell));
}

/// The opened cell's images with the model's answers, or nothing.
#[component]
pub fn CellImagesPanel(studio: Field<Studio>, asked: Asked) -> impl IntoView {
    let heading = NodeRef::<leptos::html::H3>::new();
    // Keyboard users land on the images they asked for.
    Effect::new(move |_| {
        if asked
            .cell
            .with(|c| c.as_ref().map(|c| c.key.clone()))
            .is_some()
            && let Some(h) = heading.get()
        {
            let _ = h.focus();
        }
    });
    let name = move |label: usize| {
        studio.with(|s| {
            s.class(label)
                .map(|c| c.name.clone())
                .unwrap_or_else(|_| format!("#{label}"))
        })
    };
    view! {
        {move || asked.cell.get().map(|cell| {
            let body = match &cell.answers {
                None => view! { <p class="muted">"Asking the model…"</p> }.into_any(),
                Some(answers) if answers.len() != cell.samples.len() => view! { <p class="muted">"The model could not answer (see the message above)."</p> }.into_any(),
                Some(answers) => {
                    let shown: Vec<(Vec<u8>, usize, usize)> = cell.samples.iter().zip(answers)
                        .filter(|(_, a)| cell.answered_as.is_none_or(|want| **a == want))
                        .map(|(s, &a)| (s.pixels.clone(), s.label, a))
                        .collect();
                    let right = shown.iter().filter(|(_, truth, a)| truth == a).count();
                    let summary = if cell.answered_as.is_some() {
                        format!("{} of {} kept-aside images", shown.len(), cell.samples.len())
                    } else {
                        format!("{right} of {} answered right", shown.len())
                    };
                    view! {
                        <p data-testid="cell-summary">{summary}</p>
                        <ul class="cell-images">
                            {shown.into_iter().map(|(pixels, truth, answer)| view! {
                                <li class:wrong=truth != answer data-testid="cell-image" data-right=(truth == answer).to_string()>
                                    <Thumb pixels=Signal::derive(move || pixels.clone()) />
                                    <span>{if truth == answer { format!("✓ {}", name(answer)) } else { format!("✗ {} (is {})", name(answer), name(truth)) }}</span>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }
            };
            view! {
                <section class="cell-panel" data-testid="cell-images" data-key=cell.key.clone() aria-live="polite">
                    <div class="row spread">
                        <h3 node_ref=heading tabindex="-1">{cell.title.clone()}</h3>
                        <button class="quiet small" data-testid="cell-close" on:click=move |_| asked.cell.set(None)>"Close"</button>
                    </div>
                    {body}
                </section>
            }
        })}
    }
}
