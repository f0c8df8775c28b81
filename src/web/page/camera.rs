//! The camera room: a live preview, "hold to record" into an unlearned class, and the
//! [`CameraFrames`] handle through which other rooms (prediction) read its frames.

use leptos::prelude::*;
use leptos::task::spawn_local;
use reactive_stores::Field;

use super::notice::Notice;
use super::shortcuts::Commands;
use crate::classroom::studio::Studio;
use crate::web::browser::webcam;

/// The camera's frames, shared through context: the camera panel shows them, and any other
/// component may take the current one (nobody looks the video element up in the page).
#[derive(Clone, Copy)]
pub struct CameraFrames {
    /// The preview element the camera panel plays the stream in.
    video: NodeRef<leptos::html::Video>,
}

impl CameraFrames {
    pub fn new() -> Self {
        Self {
            video: NodeRef::new(),
        }
    }

    /// The camera frames of the page this component is part of.
    pub fn get() -> Self {
        expect_context::<Self>()
    }

    /// The current frame as `size` × `size` pixels (the centre square), if the camera plays.
    pub fn grab(self, size: usize) -> Option<Vec<u8>> {
        let video = self.video.get_untracked()?;
        webcam::grab(&video, size, 0).map(|s| s.pixels)
    }
}

/// Live camera with "hold to record" into an unlearned class.
#[component]
pub fn CameraPanel(
    /// The classes; recorded frames go into an unlearned one.
    studio: Field<Studio>,
) -> impl IntoView {
    let notice = Notice::get();
    let video = CameraFrames::get().video;
    let stream = StoredValue::new_local(None::<web_sys::MediaStream>);
    let timer = StoredValue::new_local(None::<leptos::leptos_dom::helpers::IntervalHandle>);
    let live = RwSignal::new(false);
    let starting = RwSignal::new(false);
    let recording = RwSignal::new(false);
    let captured = RwSignal::new(0usize);
    let cameras = RwSignal::new(Vec::<webcam::CameraInfo>::new());
    let target = RwSignal::new(None::<usize>);
    let open_classes = move || {
        studio.with(|s| {
            s.classes
                .iter()
                .filter(|c| c.learned_in_step.is_none())
                .map(|c| (c.id, c.name.clone()))
                .collect::<Vec<_>>()
        })
    };
    // Keep the target on a class that can still take images.
    Effect::new(move |_| {
        let open = open_classes();
        let current = target.get();
        if !current.is_some_and(|t| open.iter().any(|(id, _)| *id == t)) {
            let first = open.first().map(|(id, _)| *id);
            // Setting a signal re-runs this effect: only set a different value.
            if first != current {
                target.set(first);
            }
        }
    });
    let stop_recording = move || {
        if let Some(handle) = timer.get_value() {
            handle.clear();
        }
        timer.set_value(None);
        recording.set(false);
    };
    let shut = move || {
        stop_recording();
        if let Some(s) = stream.get_value() {
            webcam::stop(&s);
        }
        stream.set_value(None);
        live.set(false);
    };
    let start = move |device: Option<String>| {
        shut();
        starting.set(true);
        spawn_local(async move {
            match webcam::open(device.as_deref()).await {
                Ok(s) => {
                    webcam::on_ended(&s, move || {
                        let had = captured.get_untracked();
                        let was_recording = recording.get_untracked();
                        shut();
                        notice.say(
                            if was_recording {
                                format!("The camera stopped (was it unplugged?). The {had} images captured so far are kept.")
                            } else {
                                "The camera stopped (was it unplugged?). Start it again when it is back.".to_string()
                            },
                            true,
                        );
                    });
                    if let Some(v) = video.get_untracked() {
                        v.set_src_object(Some(&s));
                        webcam::playing(&v).await;
                    }
                    stream.set_value(Some(s));
                    live.set(true);
                    cameras.set(webcam::cameras().await);
                }
                Err(message) => notice.say(message, true),
            }
            starting.set(false);
        });
    };
    let begin = move || {
        if recording.get_untracked() || !live.get_untracked() {
            return;
        }
        let Some(id) = target.get_untracked() else {
            return notice.say(
                "Add a class first: the camera's images go into a class.",
                true,
            );
        };
        captured.set(0);
        recording.set(true);
        let handle = leptos::leptos_dom::helpers::set_interval_with_handle(
            move || {
                let Some(v) = video.get_untracked() else {
                    return;
                };
                let Some(sample) = webcam::grab(&v, studio.with_untracked(|s| s.input_size), id)
                else {
                    return;
                };
                match studio.try_update(|s| s.add_sample(id, sample.pixels)) {
                    Some(Ok(())) => captured.update(|n| *n += 1),
                    Some(Err(e)) => {
                        stop_recording();
                        notice.say(e, true);
                    }
                    None => {}
                }
            },
            std::time::Duration::from_millis(100),
        )
        .ok();
        timer.set_value(handle);
    };
    let end = move || {
        if recording.get_untracked() {
            stop_recording();
            notice.say(
                format!("Recorded {} images.", captured.get_untracked()),
                false,
            );
        }
    };
    // The button's own keys; they stop here so the page's Space shortcut does not see them too.
    let key_down = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == " " || ev.key() == "Enter" {
            ev.prevent_default();
            ev.stop_propagation();
            if !ev.repeat() {
                begin();
            }
        }
    };
    let key_up = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == " " || ev.key() == "Enter" {
            ev.prevent_default();
            ev.stop_propagation();
            end();
        }
    };
    // Space held anywhere on the page (the shortcuts) records too.
    let commands = Commands::get();
    Effect::new(move |previous: Option<bool>| {
        let held = commands.record.get();
        if previous.is_some() {
            if held && !live.get_untracked() {
                notice.say(
                    "Turn on the camera first (“Use the camera”), then hold Space to record.",
                    true,
                );
            } else if held {
                untrack(begin);
            } else {
                untrack(end);
            }
        }
        held
    });
    on_cleanup(shut);
    view! {
        <section class="card camera" aria-labelledby="camera-title">
            <div class="row spread">
                <h2 id="camera-title">"Camera"</h2>
                <Show when=move || !live.get() fallback=move || view! {
                    <button class="quiet small" on:click=move |_| shut() data-testid="camera-stop">"Turn off"</button>
                }>
                    <button data-testid="camera-start" on:click=move |_| start(None) disabled=move || starting.get()>
                        {move || if starting.get() { "Starting…" } else { "Use the camera" }}
                    </button>
                </Show>
            </div>
            <div class="camera-body" class:off=move || !live.get()>
                <video node_ref=video class="preview" autoplay=true muted=true playsinline=true data-testid="camera-preview"></video>
                <div class="camera-controls">
                    <Show when=move || live.get() fallback=|| view! {
                        <p class="empty">"Hold the record button (or Space) to add about 10 pictures a second to a class."</p>
                    }>
                        <Show when=move || { cameras.get().len() > 1 }>
                            <label>"Camera "
                                <select data-testid="camera-choice" on:change=move |ev| start(Some(event_target_value(&ev)))>
                                    {move || cameras.get().into_iter().map(|c| view! { <option value=c.id.clone()>{c.label.clone()}</option> }).collect_view()}
                                </select>
                            </label>
                        </Show>
                        <label>"Record into "
                            <select data-testid="camera-class" on:change=move |ev| target.set(event_target_value(&ev).parse().ok())
                                prop:value=move || target.get().map(|t| t.to_string()).unwrap_or_default()>
                                {move || open_classes().into_iter().map(|(id, name)| view! { <option value=id.to_string()>{name}</option> }).collect_view()}
                            </select>
                        </label>
                        <button class="primary record" class:recording=move || recording.get() data-testid="record" aria-keyshortcuts="Space"
                            disabled=move || target.get().is_none()
                            on:pointerdown=move |_| begin() on:pointerup=move |_| end() on:pointerleave=move |_| end()
                            on:pointercancel=move |_| end() on:keydown=key_down on:keyup=key_up>
                            {move || if recording.get() { format!("Recording… {}", captured.get()) } else { "Hold to record".to_string() }}
                        </button>
                    </Show>
                </div>
            </div>
        </section>
    }
}
