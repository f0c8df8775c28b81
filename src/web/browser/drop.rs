//! Drag and drop: dropped files, and dropped folders walked through the browser's entry API
//! (`webkitGetAsEntry`). A folder becomes one class; a folder of sub-folders becomes one class
//! per sub-folder (the ImageFolder layout).

//!
//! Hand-written rather than leptos-use's `use_drop_zone`: that hook keeps only
//! `dataTransfer.files`, where a dropped folder is one entry without its files; walking a
//! folder needs `DataTransferItem.webkitGetAsEntry()` inside the drop event and the callback-
//! style entry readers below, which no gloo or leptos-use crate wraps.

use js_sys::{Array, Function, Promise};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{DataTransfer, File, FileSystemDirectoryEntry, FileSystemEntry, FileSystemFileEntry};

/// What a drop holds: loose files, and folders as (class name, files).
#[derive(Default)]
pub struct Dropped {
    pub files: Vec<File>,
    pub folders: Vec<(String, Vec<File>)>,
}

/// The entries of a drop. Must be called inside the drop event: the browser empties the
/// `DataTransfer` afterwards.
pub fn entries(data: &DataTransfer) -> Vec<FileSystemEntry> {
    let items = data.items();
    (0..items.length())
        .filter_map(|i| items.get(i))
        .filter_map(|item| item.webkit_get_as_entry().ok().flatten())
        .collect()
}

/// Resolves a callback-style browser API as a promise.
async fn callback<T: JsCast>(start: impl FnOnce(&Function, &Function)) -> Result<T, String> {
    let mut start = Some(start);
    let promise = Promise::new(&mut |resolve, reject| {
        if let Some(start) = start.take() {
            start(&resolve, &reject)
        }
    });
    JsFuture::from(promise)
        .await
        .map(|v| v.unchecked_into())
        .map_err(crate::web::browser::images::js_error)
}

async fn file_of(entry: &FileSystemFileEntry) -> Result<File, String> {
    callback(|ok, err| entry.file_with_callback_and_callback(ok, err)).await
}

/// Every entry of a directory (the reader returns them in batches until an empty one).
async fn children(directory: &FileSystemDirectoryEntry) -> Result<Vec<FileSystemEntry>, String> {
    let reader = directory.create_reader();
    let mut all = Vec::new();
    loop {
        let batch: Array = callback(|ok, err| {
            let _ = reader.read_entries_with_callback_and_callback(ok, err);
        })
        .await?;
        if batch.length() == 0 {
            return Ok(all);
        }
        all.extend(batch.iter().map(|e| e.unchecked_into::<FileSystemEntry>()));
    }
}

/// Files anywhere under `directory` (depth-limited against link cycles).
async fn files_under(directory: &FileSystemDirectoryEntry, depth: usize) -> Vec<File> {
    let mut files = Vec::new();
    let mut stack = vec![(directory.clone(), depth)];
    while let Some((dir, depth)) = stack.pop() {
        for entry in children(&dir).await.unwrap_or_default() {
            if entry.is_directory() {
                if depth > 0 {
                    stack.push((entry.unchecked_into(), depth - 1));
                }
            } else if let Ok(file) = file_of(entry.unchecked_ref()).await {
                files.push(file);
            }
        }
    }
    files
}

/// Walks the dropped entries.
pub async fn collect(entries: Vec<FileSystemEntry>) -> Dropped {
    let mut dropped = Dropped::default();
    for entry in entries {
        if !entry.is_directory() {
            if let Ok(file) = file_of(entry.unchecked_ref()).await {
                dropped.files.push(file);
            }
            continue;
        }
        let directory: FileSystemDirectoryEntry = entry.unchecked_into();
        let inside = children(&directory).await.unwrap_or_default();
        let sub_folders: Vec<FileSystemEntry> = inside
            .iter()
            .filter(|e| e.is_directory())
            .cloned()
            .collect();
        if sub_folders.is_empty() {
            dropped
                .folders
                .push((directory.name(), files_under(&directory, 0).await));
        } else {
            for sub in sub_folders {
                let name = sub.name();
                dropped
                    .folders
                    .push((name, files_under(sub.unchecked_ref(), 4).await));
            }
        }
    }
    dropped
}
