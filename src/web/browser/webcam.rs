//! The webcam: a live preview, a camera choice when there are several, and "hold to record"
//! (about 10 frames a second while the button or the space bar is held). Each frame's centre
//! square is scaled to the model's input on a small canvas. Failures (permission denied, no
//! camera, camera unplugged while recording) become messages; captured images are kept.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use gloo_events::EventListener;
use gloo_timers::future::TimeoutFuture;
use js_sys::{Array, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    CanvasRenderingContext2d, HtmlCanvasElement, HtmlVideoElement, MediaStream,
    MediaStreamConstraints,
};

use crate::engine::Sample;

/// A camera the browser offers.
#[derive(Clone, Debug, PartialEq)]
pub struct CameraInfo {
    pub id: String,
    pub label: String,
}

fn error_name(e: &JsValue) -> String {
    Reflect::get(e, &"name".into())
        .ok()
        .and_then(|n| n.as_string())
        .unwrap_or_default()
}

/// A message a teacher can act on, for a `getUserMedia` failure.
pub fn explain(e: &JsValue) -> String {
    match error_name(e).as_str() {
        "NotAllowedError" | "SecurityError" => {
            "The camera is blocked: allow it in the browser's address bar and try again, or upload images instead.".into()
        }
        "NotFoundError" | "OverconstrainedError" => "No camera was found. Plug one in, or upload images instead.".into(),
        "NotReadableError" | "AbortError" => {
            "The camera is busy or could not start (another app may be using it).".into()
        }
        _ => format!("The camera could not start: {}", crate::web::browser::images::js_error(e.clone())),
    }
}

/// Opens a camera (`device_id`, or the default) and returns its stream.
///
/// Not leptos-use's `use_user_media`: it is a hook whose constraints are fixed when the
/// component is made (the camera choice here changes at run time, and must be `exact`, where
/// it asks with a plain device list the browser may ignore), its error is a bare `JsValue`
/// signal rather than an awaited result that [`explain`] can turn into a message at the place
/// it happened, and it needs web-sys features (`MediaTrackConstraints`) that we do not build.
pub async fn open(device_id: Option<&str>) -> Result<MediaStream, String> {
    let navigator = web_sys::window().ok_or("no window")?.navigator();
    let devices = navigator
        .media_devices()
        .map_err(|_| "This browser gives no access to cameras (the page must be served over https or localhost).".to_string())?;
    let video = js_sys::Object::new();
    let ideal = |v: f64| {
        let o = js_sys::Object::new();
        let _ = Reflect::set(&o, &"ideal".into(), &v.into());
        o
    };
    let _ = Reflect::set(&video, &"width".into(), &ideal(320.0));
    let _ = Reflect::set(&video, &"height".into(), &ideal(240.0));
    if let Some(id) = device_id {
        let exact = js_sys::Object::new();
        let _ = Reflect::set(&exact, &"exact".into(), &id.into());
        let _ = Reflect::set(&video, &"deviceId".into(), &exact);
    }
    let constraints = MediaStreamConstraints::new();
    constraints.set_video(&video);
    let promise = devices
        .get_user_media_with_constraints(&constraints)
        .map_err(|e| explain(&e))?;
    let stream = JsFuture::from(promise).await.map_err(|e| explain(&e))?;
    Ok(stream.unchecked_into())
}

/// The cameras the browser reports (labels appear once permission was given).
pub async fn cameras() -> Vec<CameraInfo> {
    let Some(devices) = web_sys::window().and_then(|w| w.navigator().media_devices().ok()) else {
        return Vec::new();
    };
    let Ok(promise) = devices.enumerate_devices() else {
        return Vec::new();
    };
    let Ok(list) = JsFuture::from(promise).await else {
        return Vec::new();
    };
    Array::from(&list)
        .iter()
        .filter(|d| {
            Reflect::get(d, &"kind".into())
                .ok()
                .and_then(|k| k.as_string())
                .as_deref()
                == Some("videoinput")
        })
        .map(|d| d.unchecked_into::<web_sys::MediaDeviceInfo>())
        .enumerate()
        .map(|(i, d)| CameraInfo {
            id: d.device_id(),
            label: if d.label().is_empty() {
                format!("Camera {}", i + 1)
            } else {
                d.label()
            },
        })
        .collect()
}

thread_local! {
    /// The "ended" listeners of each open stream, by stream id. They are owned here (not
    /// `Closure::forget`-ed, which leaked one closure per camera start) and dropped, which
    /// removes them, when the camera stops ([`stop`]).
    static ENDED: RefCell<HashMap<String, Vec<EventListener>>> = RefCell::new(HashMap::new());
}

/// Stops every track of a stream (the camera light goes off) and drops its listeners.
pub fn stop(stream: &MediaStream) {
    // Taken out before dropping: `stop` may run inside one of these listeners (the camera
    // ended on its own), and wasm-bindgen frees a running closure only once it returns.
    let listeners = ENDED.with(|ended| ended.borrow_mut().remove(&stream.id()));
    for track in stream.get_tracks().iter() {
        track.unchecked_into::<web_sys::MediaStreamTrack>().stop();
    }
    drop(listeners);
}

/// Calls `on_end` when the stream's video stops on its own (camera unplugged or revoked).
/// The listeners live until [`stop`] is called on the stream.
pub fn on_ended(stream: &MediaStream, on_end: impl FnMut() + 'static) {
    let on_end = Rc::new(RefCell::new(on_end));
    let listeners: Vec<EventListener> = stream
        .get_tracks()
        .iter()
        .map(|track| {
            let on_end = on_end.clone();
            EventListener::once(
                track.unchecked_ref::<web_sys::EventTarget>(),
                "ended",
                move |_| {
                    // A second track ending while the first one's call is running finds it busy.
                    if let Ok(mut on_end) = on_end.try_borrow_mut() {
                        on_end();
                    }
                },
            )
        })
        .collect();
    ENDED.with(|ended| {
        ended
            .borrow_mut()
            .entry(stream.id())
            .or_default()
            .extend(listeners)
    });
}

/// Resolves when the video element has a frame to draw.
pub async fn playing(video: &HtmlVideoElement) {
    let _ = video.play().map(JsFuture::from);
    for _ in 0..100 {
        if video.video_width() > 0 {
            return;
        }
        TimeoutFuture::new(30).await;
    }
}

/// The video's centre square at `size × size`, as a sample.
pub fn grab(video: &HtmlVideoElement, size: usize, label: usize) -> Option<Sample> {
    let (w, h) = (video.video_width() as f64, video.video_height() as f64);
    if w == 0.0 || h == 0.0 {
        return None;
    }
    let document = web_sys::window()?.document()?;
    let canvas: HtmlCanvasElement = document.create_element("canvas").ok()?.unchecked_into();
    canvas.set_width(size as u32);
    canvas.set_height(size as u32);
    let context: CanvasRenderingContext2d = canvas.get_context("2d").ok()??.unchecked_into();
    let side = w.min(h);
    context
        .draw_image_with_html_video_element_and_sw_and_sh_and_dx_and_dy_and_dw_and_dh(
            video,
            (w - side) / 2.0,
            (h - side) / 2.0,
            side,
            side,
            0.0,
            0.0,
            size as f64,
            size as f64,
        )
        .ok()?;
    let rgba = context
        .get_image_data(0.0, 0.0, size as f64, size as f64)
        .ok()?
        .data();
    Some(Sample::from_rgba(&rgba, label))
}
