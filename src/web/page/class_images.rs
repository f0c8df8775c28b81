//! Images joining a class from files (an upload, a drop on a card, a dropped folder), and the
//! message that says what was added. Both the class list and a class's card add files, so this
//! is a room of its own below them.

use leptos::prelude::*;
use reactive_stores::Field;

use super::notice::Notice;
use crate::classroom::studio::Studio;
use crate::web::browser::images::decode_upload;

/// Decodes and adds `files` to class `id`: (images added, a message per file skipped).
/// Images join the class in batches, so a folder of thousands re-renders the page a few dozen
/// times rather than once per image; every decode awaits the browser, so the page keeps
/// answering meanwhile.
pub async fn add_files(
    studio: Field<Studio>,
    id: usize,
    files: Vec<web_sys::File>,
) -> (usize, Vec<String>) {
    const BATCH: usize = 100;
    let mut problems = Vec::new();
    let mut added = 0;
    let mut decoded = Vec::with_capacity(BATCH);
    let total = files.len();
    let flush = |decoded: &mut Vec<Vec<u8>>, problems: &mut Vec<String>| -> (usize, bool) {
        let batch = std::mem::take(decoded);
        match studio.try_update(|s| s.add_samples(id, batch)) {
            Some((n, None)) => (n, false),
            Some((n, Some(refused))) => {
                problems.push(refused);
                (n, true)
            }
            None => (0, true),
        }
    };
    for (index, file) in files.into_iter().enumerate() {
        match decode_upload(&file, studio.with_untracked(|s| s.input_size)).await {
            Ok(pixels) => decoded.push(pixels),
            Err(e) => problems.push(e),
        }
        if decoded.len() == BATCH {
            let (n, full) = flush(&mut decoded, &mut problems);
            added += n;
            if full {
                if let Some(last) = problems.last_mut() {
                    *last = format!("{last} {} more files were not read.", total - index - 1);
                }
                return (added, problems);
            }
        }
    }
    if !decoded.is_empty() {
        added += flush(&mut decoded, &mut problems).0;
    }
    (added, problems)
}

/// Says how many images were added and which files were skipped.
pub fn report_added(notice: Notice, added: usize, problems: &[String]) {
    if problems.is_empty() {
        notice.say(format!("Added {added} images."), false);
    } else {
        notice.say(
            format!("Added {added} images. Skipped: {}", problems.join(" ")),
            true,
        );
    }
}
