//! The session kept in this browser: one IndexedDB record (through `rexie`, a small async
//! wrapper over IndexedDB) holding the encoded [`crate::session::Session`], plus file export
//! and import. Nothing leaves the machine.

use js_sys::{Array, Uint8Array};
use rexie::{ObjectStore, Rexie, TransactionMode};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

const DATABASE: &str = "der-studio";
const STORE: &str = "sessions";
/// The session being worked on.
pub const CURRENT: &str = "current";
/// A saved session this version could not read, kept rather than overwritten.
pub const UNREADABLE: &str = "unreadable";
/// Files larger than this are refused before they are read into memory.
pub const MAX_IMPORT_BYTES: f64 = 512.0 * 1024.0 * 1024.0;

/// The error with its causes (rexie's own message is only "idb error").
fn describe(e: rexie::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    if text.contains("Quota") || text.contains("quota") {
        "the browser's storage for this site is full".into()
    } else {
        text
    }
}

async fn open() -> Result<Rexie, String> {
    Rexie::builder(DATABASE)
        .version(1)
        .add_object_store(ObjectStore::new(STORE))
        .build()
        .await
        .map_err(describe)
}

pub async fn save(key: &str, bytes: &[u8]) -> Result<(), String> {
    let db = open().await?;
    let tx = db.transaction(&[STORE], TransactionMode::ReadWrite).map_err(describe)?;
    let store = tx.store(STORE).map_err(describe)?;
    let value = Uint8Array::from(bytes);
    store.put(&value, Some(&JsValue::from_str(key))).await.map_err(describe)?;
    tx.done().await.map_err(describe)?;
    db.close();
    Ok(())
}

pub async fn load(key: &str) -> Result<Option<Vec<u8>>, String> {
    let db = open().await?;
    let tx = db.transaction(&[STORE], TransactionMode::ReadOnly).map_err(describe)?;
    let store = tx.store(STORE).map_err(describe)?;
    let value = store.get(JsValue::from_str(key)).await.map_err(describe)?;
    tx.done().await.map_err(describe)?;
    db.close();
    Ok(value.filter(|v| v.is_instance_of::<Uint8Array>()).map(|v| Uint8Array::new(&v).to_vec()))
}

/// Offers `bytes` as a download called `name`.
pub fn download(name: &str, bytes: &[u8]) -> Result<(), String> {
    let parts = Array::of1(&Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/octet-stream");
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options).map_err(|e| format!("{e:?}"))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|e| format!("{e:?}"))?;
    let document = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let link: web_sys::HtmlAnchorElement = document.create_element("a").map_err(|e| format!("{e:?}"))?.unchecked_into();
    link.set_href(&url);
    link.set_download(name);
    link.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

/// Reads a chosen file's bytes, refusing absurdly large files before reading them.
pub async fn read_file(file: &web_sys::File) -> Result<Vec<u8>, String> {
    if file.size() > MAX_IMPORT_BYTES {
        return Err(format!("“{}” is {:.0} MB, larger than any DER Studio session", file.name(), file.size() / 1e6));
    }
    let buffer = JsFuture::from(file.array_buffer()).await.map_err(|e| format!("“{}” could not be read: {e:?}", file.name()))?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// How much of this site's storage quota is used: (used bytes, quota bytes), where the browser
/// says.
pub async fn usage() -> Option<(f64, f64)> {
    let storage = web_sys::window()?.navigator().storage();
    let estimate: web_sys::StorageEstimate = JsFuture::from(storage.estimate().ok()?).await.ok()?.unchecked_into();
    Some((estimate.get_usage()?, estimate.get_quota()?))
}

/// Whether the browser keeps this site's storage even when space runs low. `ask`: request it
/// (browsers grant it by their own rules, e.g. to an installed or often-used site).
pub async fn persistent(ask: bool) -> Option<bool> {
    let storage = web_sys::window()?.navigator().storage();
    let promise = if ask { storage.persist().ok()? } else { storage.persisted().ok()? };
    JsFuture::from(promise).await.ok()?.as_bool()
}

/// What to say when a save failed because the quota is reached: how much is used and what to do.
pub async fn full_message() -> String {
    let used = match usage().await {
        Some((used, quota)) => format!(" ({} of {} used)", crate::web::storage::megabytes(used), crate::web::storage::megabytes(quota)),
        None => String::new(),
    };
    format!(
        "the browser's storage for this site is full{used}. Your work is still here: Export the session to keep it, then delete classes you no longer need, or start over"
    )
}

pub fn megabytes(bytes: f64) -> String {
    if bytes < 1e6 { format!("{:.0} KB", (bytes / 1e3).ceil()) } else { format!("{:.1} MB", bytes / 1e6) }
}
