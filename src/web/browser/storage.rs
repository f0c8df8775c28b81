//! The session kept in this browser: one IndexedDB record (through `rexie`, a small async
//! wrapper over IndexedDB) holding the encoded [`crate::classroom::session::Session`], plus file export
//! and import. Nothing leaves the machine.

use js_sys::{Array, Uint8Array};
use rexie::{KeyRange, ObjectStore, Rexie, TransactionMode};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

const DATABASE: &str = "der-studio";
const STORE: &str = "sessions";
/// The session being worked on, kept in parts: everything but the images under `SESSION`, and
/// each class's images under `images/<class id>`, so a save writes only the classes that
/// changed (a session may hold thousands of images).
const SESSION: &str = "session";
const IMAGES: &str = "images/";
/// The whole session in one record, as versions before the split kept it (read, then replaced).
const LEGACY: &str = "current";
/// A saved session this version could not read, kept rather than overwritten.
pub const UNREADABLE: &str = "unreadable";

/// What this browser has saved.
pub enum Saved {
    Nothing,
    /// One whole session file (the layout before the split).
    Whole(Vec<u8>),
    /// Everything but the images, and each class's images.
    Split {
        meta: Vec<u8>,
        images: Vec<(usize, Vec<u8>)>,
    },
}
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

fn images_range() -> Result<KeyRange, String> {
    KeyRange::bound(
        &IMAGES.into(),
        &format!("{IMAGES}\u{ffff}").into(),
        None,
        None,
    )
    .map_err(|e| format!("{e}"))
}

fn bytes_of(value: Option<JsValue>) -> Option<Vec<u8>> {
    value
        .filter(|v| v.is_instance_of::<Uint8Array>())
        .map(|v| Uint8Array::new(&v).to_vec())
}

/// Writes one part of the session, in one transaction: the meta, the images of the classes in
/// `images`, and removes the images of the classes in `removed`. `whole`: the page holds a new
/// session (restored, imported, started over), so every image record not written now goes,
/// and so does the old one-record layout. Either everything is written or nothing is.
pub async fn save_session(
    meta: &[u8],
    images: &[(usize, Vec<u8>)],
    removed: &[usize],
    whole: bool,
) -> Result<(), String> {
    let db = open().await?;
    let tx = db
        .transaction(&[STORE], TransactionMode::ReadWrite)
        .map_err(describe)?;
    let store = tx.store(STORE).map_err(describe)?;
    let mut gone: Vec<JsValue> = removed
        .iter()
        .map(|id| JsValue::from_str(&format!("{IMAGES}{id}")))
        .collect();
    if whole {
        let kept: Vec<String> = images
            .iter()
            .map(|(id, _)| format!("{IMAGES}{id}"))
            .collect();
        let existing = store
            .get_all_keys(Some(images_range()?), None)
            .await
            .map_err(describe)?;
        gone.extend(
            existing
                .into_iter()
                .filter(|k| k.as_string().is_none_or(|k| !kept.contains(&k))),
        );
        gone.push(LEGACY.into());
    }
    for key in gone {
        store.delete(key).await.map_err(describe)?;
    }
    for (id, pixels) in images {
        store
            .put(
                &Uint8Array::from(pixels.as_slice()),
                Some(&JsValue::from_str(&format!("{IMAGES}{id}"))),
            )
            .await
            .map_err(describe)?;
    }
    store
        .put(&Uint8Array::from(meta), Some(&JsValue::from_str(SESSION)))
        .await
        .map_err(describe)?;
    tx.done().await.map_err(describe)?;
    db.close();
    Ok(())
}

/// Reads what this browser has saved (the split layout first, else the old one-record one).
pub async fn load_session() -> Result<Saved, String> {
    let db = open().await?;
    let tx = db
        .transaction(&[STORE], TransactionMode::ReadOnly)
        .map_err(describe)?;
    let store = tx.store(STORE).map_err(describe)?;
    let saved = match bytes_of(
        store
            .get(JsValue::from_str(SESSION))
            .await
            .map_err(describe)?,
    ) {
        Some(meta) => {
            let keys = store
                .get_all_keys(Some(images_range()?), None)
                .await
                .map_err(describe)?;
            let mut images = Vec::with_capacity(keys.len());
            for key in keys {
                let id = key
                    .as_string()
                    .and_then(|k| k.strip_prefix(IMAGES).and_then(|id| id.parse().ok()));
                if let (Some(id), Some(pixels)) =
                    (id, bytes_of(store.get(key).await.map_err(describe)?))
                {
                    images.push((id, pixels));
                }
            }
            Saved::Split { meta, images }
        }
        None => match bytes_of(
            store
                .get(JsValue::from_str(LEGACY))
                .await
                .map_err(describe)?,
        ) {
            Some(bytes) => Saved::Whole(bytes),
            None => Saved::Nothing,
        },
    };
    tx.done().await.map_err(describe)?;
    db.close();
    Ok(saved)
}

/// Keeps a saved session this version cannot read under `UNREADABLE` (meta and images), so the
/// next save does not overwrite it; a newer version of the app may read it.
pub async fn keep_aside(saved: &Saved) -> Result<(), String> {
    let db = open().await?;
    let tx = db
        .transaction(&[STORE], TransactionMode::ReadWrite)
        .map_err(describe)?;
    let store = tx.store(STORE).map_err(describe)?;
    let put = |bytes: &[u8], key: String| (Uint8Array::from(bytes), JsValue::from_str(&key));
    let records = match saved {
        Saved::Nothing => Vec::new(),
        Saved::Whole(bytes) => vec![put(bytes, UNREADABLE.into())],
        Saved::Split { meta, images } => std::iter::once(put(meta, UNREADABLE.into()))
            .chain(
                images
                    .iter()
                    .map(|(id, pixels)| put(pixels, format!("{UNREADABLE}/{IMAGES}{id}"))),
            )
            .collect(),
    };
    for (value, key) in records {
        store.put(&value, Some(&key)).await.map_err(describe)?;
    }
    tx.done().await.map_err(describe)?;
    db.close();
    Ok(())
}

/// Offers `bytes` as a download called `name`.
pub fn download(name: &str, bytes: &[u8]) -> Result<(), String> {
    let parts = Array::of1(&Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/octet-stream");
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .map_err(|e| format!("{e:?}"))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|e| format!("{e:?}"))?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let link: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(|e| format!("{e:?}"))?
        .unchecked_into();
    link.set_href(&url);
    link.set_download(name);
    link.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

/// Reads a chosen file's bytes, refusing absurdly large files before reading them.
pub async fn read_file(file: &web_sys::File) -> Result<Vec<u8>, String> {
    if file.size() > MAX_IMPORT_BYTES {
        return Err(format!(
            "“{}” is {:.0} MB, larger than any DER Studio session",
            file.name(),
            file.size() / 1e6
        ));
    }
    crate::web::browser::images::file_bytes(file)
        .await
        .map_err(|e| format!("“{}” could not be read: {e}", file.name()))
}

/// How much of this site's storage quota is used: (used bytes, quota bytes), where the browser
/// says.
pub async fn usage() -> Option<(f64, f64)> {
    let storage = web_sys::window()?.navigator().storage();
    let estimate: web_sys::StorageEstimate = JsFuture::from(storage.estimate().ok()?)
        .await
        .ok()?
        .unchecked_into();
    Some((estimate.get_usage()?, estimate.get_quota()?))
}

/// Whether the browser keeps this site's storage even when space runs low. `ask`: request it
/// (browsers grant it by their own rules, e.g. to an installed or often-used site).
pub async fn persistent(ask: bool) -> Option<bool> {
    let storage = web_sys::window()?.navigator().storage();
    let promise = if ask {
        storage.persist().ok()?
    } else {
        storage.persisted().ok()?
    };
    JsFuture::from(promise).await.ok()?.as_bool()
}

/// What to say when a save failed because the quota is reached: how much is used and what to do.
pub async fn full_message() -> String {
    let used = match usage().await {
        Some((used, quota)) => format!(" ({} of {} used)", megabytes(used), megabytes(quota)),
        None => String::new(),
    };
    format!(
        "the browser's storage for this site is full{used}. Your work is still here: Export the session to keep it, then delete classes you no longer need, or start over"
    )
}

pub fn megabytes(bytes: f64) -> String {
    if bytes < 1e6 {
        format!("{:.0} KB", (bytes / 1e3).ceil())
    } else {
        format!("{:.1} MB", bytes / 1e6)
    }
}
