//! Browser image plumbing: fetching the bundled samples (gloo-net), decoding uploads (read with
//! gloo-file, downscaled on arrival), and drawing samples on canvases.

use js_sys::Reflect;
use wasm_bindgen::prelude::*;
use wasm_bindgen::{Clamped, JsCast};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageBitmap, ImageData};

use crate::engine::data::{Sample, resize_square};

/// Uploads larger than this are refused before decoding.
pub const MAX_UPLOAD_BYTES: f64 = 25.0 * 1024.0 * 1024.0;

pub fn js_error(e: JsValue) -> String {
    e.as_string()
        .or_else(|| {
            Reflect::get(&e, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
        })
        .unwrap_or_else(|| format!("{e:?}"))
}

/// Fetches a same-origin file as bytes (relative URL, so sub-path hosting works), with
/// gloo-net's `fetch` wrapper.
pub async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    let response = gloo_net::http::Request::get(url)
        .send()
        .await
        .map_err(|e| format!("could not load {url}: {e}"))?;
    if !response.ok() {
        return Err(format!("could not load {url}"));
    }
    response
        .binary()
        .await
        .map_err(|e| format!("could not load {url}: {e}"))
}

/// A file's bytes, read with gloo-file (`FileReader` behind a future).
pub async fn file_bytes(file: &web_sys::File) -> Result<Vec<u8>, String> {
    gloo_file::futures::read_as_bytes(&gloo_file::Blob::from(file.clone()))
        .await
        .map_err(|e| e.to_string())
}

/// The built-in digits: `mnist-28.bin` holds 40 images of 28×28 per digit 0–9.
pub fn bundled_digit(bytes: &[u8], digit: usize, index: usize, size: usize) -> Option<Vec<u8>> {
    let start = (digit * 40 + index) * 28 * 28;
    let gray = bytes.get(start..start + 28 * 28)?;
    Some(resize_square(
        &Sample::from_gray(gray, 0).pixels,
        3,
        28,
        size,
    ))
}

fn canvas(size: u32) -> Result<(HtmlCanvasElement, CanvasRenderingContext2d), String> {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let canvas: HtmlCanvasElement = document
        .create_element("canvas")
        .map_err(js_error)?
        .unchecked_into();
    canvas.set_width(size);
    canvas.set_height(size);
    let context = canvas
        .get_context("2d")
        .map_err(js_error)?
        .ok_or("no 2d context")?
        .unchecked_into::<CanvasRenderingContext2d>();
    Ok((canvas, context))
}

/// Decodes an uploaded file with the browser and returns its centre square at `size × size`
/// (channel-major RGB). Non-images, corrupt files and oversized files give a message.
pub async fn decode_upload(file: &web_sys::File, size: usize) -> Result<Vec<u8>, String> {
    let name = file.name();
    if file.size() == 0.0 {
        return Err(format!("“{name}” is empty."));
    }
    if file.size() > MAX_UPLOAD_BYTES {
        return Err(format!("“{name}” is larger than 25 MB."));
    }
    let bytes = file_bytes(file)
        .await
        .map_err(|_| format!("“{name}” could not be read."))?;
    crate::classroom::upload::check_declared_size(&name, &bytes)?;
    drop(bytes);
    let window = web_sys::window().ok_or("no window")?;
    let promise = window
        .create_image_bitmap_with_blob(file)
        .map_err(js_error)?;
    let bitmap: ImageBitmap = JsFuture::from(promise)
        .await
        .map_err(|_| format!("“{name}” is not an image this browser can read."))?
        .unchecked_into();
    let (w, h) = (bitmap.width() as f64, bitmap.height() as f64);
    let side = w.min(h);
    let (_, context) = canvas(size as u32)?;
    context
        .draw_image_with_image_bitmap_and_sw_and_sh_and_dx_and_dy_and_dw_and_dh(
            &bitmap,
            (w - side) / 2.0,
            (h - side) / 2.0,
            side,
            side,
            0.0,
            0.0,
            size as f64,
            size as f64,
        )
        .map_err(js_error)?;
    bitmap.close();
    let rgba = context
        .get_image_data(0.0, 0.0, size as f64, size as f64)
        .map_err(js_error)?
        .data();
    Ok(Sample::from_rgba(&rgba, 0).pixels)
}

/// Draws a channel-major RGB sample onto a canvas of the same size.
pub fn draw_sample(target: &HtmlCanvasElement, pixels: &[u8], size: usize) {
    let n = size * size;
    if pixels.len() != 3 * n {
        return;
    }
    let mut rgba = vec![255u8; 4 * n];
    for i in 0..n {
        rgba[4 * i] = pixels[i];
        rgba[4 * i + 1] = pixels[n + i];
        rgba[4 * i + 2] = pixels[2 * n + i];
    }
    put_rgba(target, &rgba, size);
}

/// Draws `pixels` (RGB, `size × size`) in grey with red over it where `heat` (one value per
/// pixel) is high: the image stays readable under the map. Values at or below 0 add no red.
pub fn draw_heat_map(
    target: &HtmlCanvasElement,
    pixels: &[u8],
    heat: &[f32],
    size: usize,
    peak: f32,
) {
    let n = size * size;
    if pixels.len() != 3 * n || heat.len() != n {
        return;
    }
    let mut rgba = vec![255u8; 4 * n];
    for i in 0..n {
        let grey = (pixels[i] as f32 + pixels[n + i] as f32 + pixels[2 * n + i] as f32) / 3.0;
        let grey = 60.0 + grey * 0.6;
        let a = if peak > 0.0 {
            (heat[i] / peak).clamp(0.0, 1.0)
        } else {
            0.0
        };
        rgba[4 * i] = (grey * (1.0 - a) + 220.0 * a) as u8;
        rgba[4 * i + 1] = (grey * (1.0 - a) + 30.0 * a) as u8;
        rgba[4 * i + 2] = (grey * (1.0 - a) + 40.0 * a) as u8;
    }
    put_rgba(target, &rgba, size);
}

/// Sizes `target` to `size × size` and puts the RGBA bytes on it.
fn put_rgba(target: &HtmlCanvasElement, rgba: &[u8], size: usize) {
    target.set_width(size as u32);
    target.set_height(size as u32);
    let Ok(Some(context)) = target.get_context("2d") else {
        return;
    };
    let context: CanvasRenderingContext2d = context.unchecked_into();
    if let Ok(image) =
        ImageData::new_with_u8_clamped_array_and_sh(Clamped(rgba), size as u32, size as u32)
    {
        let _ = context.put_image_data(&image, 0.0, 0.0);
    }
}
