//! Checks on an uploaded file before the browser decodes it. A tiny file can declare an image
//! of billions of pixels (a "decompression bomb"); its header says so, and `imagesize` reads
//! headers of every common format without decoding anything.

/// Largest image accepted: 50 megapixels is more than any phone camera produces.
pub const MAX_PIXELS: u64 = 50_000_000;

/// Refuses images whose header declares more than [`MAX_PIXELS`]. Files whose header is not
/// recognised pass: the browser's decoder then decides (and its refusal has its own message).
pub fn check_declared_size(name: &str, bytes: &[u8]) -> Result<(), String> {
    match imagesize::blob_size(bytes) {
        Ok(size) if (size.width as u64).saturating_mul(size.height as u64) > MAX_PIXELS => {
            Err(format!(
                "“{name}” declares {} × {} pixels, too large to open safely.",
                size.width, size.height
            ))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PNG header declaring `w × h` (signature + IHDR; the CRC is not checked by a header read).
    fn png_header(w: u32, h: u32) -> Vec<u8> {
        let mut bytes = vec![137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13];
        bytes.extend_from_slice(b"IHDR");
        bytes.extend_from_slice(&w.to_be_bytes());
        bytes.extend_from_slice(&h.to_be_bytes());
        bytes.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
        bytes
    }

    #[test]
    fn enormous_declared_images_are_refused_by_name() {
        let err = check_declared_size("bomb.png", &png_header(100_000, 100_000)).unwrap_err();
        assert!(
            err.contains("bomb.png") && err.contains("100000 × 100000"),
            "{err}"
        );
    }

    #[test]
    fn real_photos_and_unknown_files_pass_to_the_browser() {
        let digit = std::fs::read("tests/fixtures/mnist6/train/0/0.png").unwrap();
        assert_eq!(check_declared_size("0.png", &digit), Ok(()));
        assert_eq!(
            check_declared_size("phone.png", &png_header(4032, 3024)),
            Ok(())
        );
        assert_eq!(check_declared_size("notes.pdf", b"%PDF-1.4"), Ok(()));
        assert_eq!(check_declared_size("empty", b""), Ok(()));
    }
}
