//! DER Studio's file format: one file holds named entries (JSON text, raw bytes or `f32`
//! tensors). Models, exported sessions and the browser's saved session all use it.
//!
//! The decoder reads files from strangers, so it trusts nothing: every length is checked against
//! the bytes actually present *before* anything is allocated, so a file that declares a huge
//! tensor or a million entries is refused in microseconds instead of exhausting memory.
//!
//! Layout (little-endian):
//! ```text
//! magic "DERSTUDIO" · version u16 · entry count u32 · entries
//! entry: name length u16 · name (UTF-8) · kind u8 · [tensor: rank u8 · dims u32×rank] ·
//!        payload length u64 · payload
//! ```

pub const MAGIC: &[u8; 9] = b"DERSTUDIO";
/// Bumped when the layout or the meaning of entries changes incompatibly.
pub const FORMAT_VERSION: u16 = 1;
/// Longest entry name.
pub const MAX_NAME_BYTES: usize = 256;
/// Highest tensor rank the engine uses (convolution kernels).
pub const MAX_RANK: usize = 4;
/// Bytes every entry takes at least (name length, kind, payload length): bounds the entry count.
pub const MIN_ENTRY_BYTES: usize = 2 + 1 + 8;

const KIND_JSON: u8 = 0;
const KIND_BYTES: u8 = 1;
const KIND_F32: u8 = 2;

#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    Json(String),
    Bytes(Vec<u8>),
    F32 { dims: Vec<usize>, values: Vec<f32> },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub name: String,
    pub body: Body,
}

impl Entry {
    pub fn json(name: impl Into<String>, text: String) -> Self {
        Self {
            name: name.into(),
            body: Body::Json(text),
        }
    }
    pub fn bytes(name: impl Into<String>, bytes: Vec<u8>) -> Self {
        Self {
            name: name.into(),
            body: Body::Bytes(bytes),
        }
    }
    pub fn tensor(name: impl Into<String>, dims: Vec<usize>, values: Vec<f32>) -> Self {
        debug_assert_eq!(dims.iter().product::<usize>(), values.len());
        Self {
            name: name.into(),
            body: Body::F32 { dims, values },
        }
    }
}

/// Why a file could not be read. The messages are written for the person who chose the file.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ArchiveError {
    #[error("this is not a DER Studio file (it does not start with “DERSTUDIO”)")]
    NotOurs,
    #[error(
        "this file was saved by a newer DER Studio (format {0}; this one reads format {FORMAT_VERSION}): update the app to open it"
    )]
    NewerVersion(u16),
    #[error(
        "this file uses format {0}, which this DER Studio can no longer read (it reads format {FORMAT_VERSION})"
    )]
    OlderVersion(u16),
    #[error(
        "the file is cut short: {needed} more bytes were expected at byte {at} (was it only partly downloaded?)"
    )]
    Truncated { needed: usize, at: usize },
    #[error("part {} of the file is damaged: {reason}", index + 1)]
    BadEntry { index: usize, reason: String },
    #[error("the file has no “{0}” part")]
    Missing(String),
    #[error("the file's “{0}” part has the wrong type")]
    WrongKind(String),
    #[error("the file's contents are inconsistent: {0}")]
    Invalid(String),
}

/// A decoded file: its entries in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Archive {
    pub entries: Vec<Entry>,
}

impl Archive {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, entry: Entry) {
        self.entries.push(entry);
    }

    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.name == name)
    }

    pub fn json(&self, name: &str) -> Result<&str, ArchiveError> {
        match &self
            .get(name)
            .ok_or_else(|| ArchiveError::Missing(name.into()))?
            .body
        {
            Body::Json(text) => Ok(text),
            _ => Err(ArchiveError::WrongKind(name.into())),
        }
    }

    pub fn bytes(&self, name: &str) -> Result<&[u8], ArchiveError> {
        match &self
            .get(name)
            .ok_or_else(|| ArchiveError::Missing(name.into()))?
            .body
        {
            Body::Bytes(bytes) => Ok(bytes),
            _ => Err(ArchiveError::WrongKind(name.into())),
        }
    }

    pub fn tensor(&self, name: &str) -> Result<(&[usize], &[f32]), ArchiveError> {
        match &self
            .get(name)
            .ok_or_else(|| ArchiveError::Missing(name.into()))?
            .body
        {
            Body::F32 { dims, values } => Ok((dims, values)),
            _ => Err(ArchiveError::WrongKind(name.into())),
        }
    }

    /// Parses a JSON entry into `T`.
    pub fn parse<T: serde::de::DeserializeOwned>(&self, name: &str) -> Result<T, ArchiveError> {
        serde_json::from_str(self.json(name)?)
            .map_err(|e| ArchiveError::Invalid(format!("“{name}”: {e}")))
    }

    pub fn encode(&self) -> Vec<u8> {
        let payload: usize = self
            .entries
            .iter()
            .map(|e| e.name.len() + 16 + payload_len(&e.body))
            .sum();
        let mut out = Vec::with_capacity(MAGIC.len() + 6 + payload);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(self.entries.len() as u32).to_le_bytes());
        for entry in &self.entries {
            assert!(entry.name.len() <= MAX_NAME_BYTES, "entry names are short");
            out.extend_from_slice(&(entry.name.len() as u16).to_le_bytes());
            out.extend_from_slice(entry.name.as_bytes());
            match &entry.body {
                Body::Json(text) => {
                    out.push(KIND_JSON);
                    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
                    out.extend_from_slice(text.as_bytes());
                }
                Body::Bytes(bytes) => {
                    out.push(KIND_BYTES);
                    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
                    out.extend_from_slice(bytes);
                }
                Body::F32 { dims, values } => {
                    assert!(dims.len() <= MAX_RANK, "tensor rank at most {MAX_RANK}");
                    out.push(KIND_F32);
                    out.push(dims.len() as u8);
                    for &d in dims {
                        out.extend_from_slice(&(d as u32).to_le_bytes());
                    }
                    out.extend_from_slice(&((values.len() * 4) as u64).to_le_bytes());
                    for v in values {
                        out.extend_from_slice(&v.to_le_bytes());
                    }
                }
            }
        }
        out
    }

    pub fn decode(data: &[u8]) -> Result<Self, ArchiveError> {
        let mut r = Reader { data, at: 0 };
        if data.len() < MAGIC.len() || &data[..MAGIC.len()] != MAGIC {
            return Err(ArchiveError::NotOurs);
        }
        r.at = MAGIC.len();
        let version = u16::from_le_bytes(r.array()?);
        if version > FORMAT_VERSION {
            return Err(ArchiveError::NewerVersion(version));
        }
        if version < FORMAT_VERSION {
            return Err(ArchiveError::OlderVersion(version));
        }
        let count = u32::from_le_bytes(r.array()?) as usize;
        if count.saturating_mul(MIN_ENTRY_BYTES) > r.remaining() {
            return Err(ArchiveError::Invalid(format!(
                "it declares {count} parts but has room for at most {}",
                r.remaining() / MIN_ENTRY_BYTES
            )));
        }
        let mut entries = Vec::with_capacity(count);
        for index in 0..count {
            let bad = |reason: String| ArchiveError::BadEntry { index, reason };
            let name_len = u16::from_le_bytes(r.array()?) as usize;
            if name_len > MAX_NAME_BYTES {
                return Err(bad(format!(
                    "a name of {name_len} bytes (at most {MAX_NAME_BYTES})"
                )));
            }
            let name = std::str::from_utf8(r.take(name_len)?)
                .map_err(|_| bad("its name is not text".into()))?
                .to_string();
            if entries.iter().any(|e: &Entry| e.name == name) {
                return Err(bad(format!("“{name}” appears twice")));
            }
            let kind = r.array::<1>()?[0];
            let dims = if kind == KIND_F32 {
                let rank = r.array::<1>()?[0] as usize;
                if rank > MAX_RANK {
                    return Err(bad(format!(
                        "“{name}” has rank {rank} (at most {MAX_RANK})"
                    )));
                }
                let mut dims = Vec::with_capacity(rank);
                for _ in 0..rank {
                    dims.push(u32::from_le_bytes(r.array()?) as usize);
                }
                Some(dims)
            } else {
                None
            };
            let len = u64::from_le_bytes(r.array()?);
            // Checked against what is really there before any allocation.
            if len > r.remaining() as u64 {
                return Err(ArchiveError::Truncated {
                    needed: (len - r.remaining() as u64) as usize,
                    at: r.at,
                });
            }
            let payload = r.take(len as usize)?;
            let body = match (kind, dims) {
                (KIND_JSON, _) => Body::Json(
                    std::str::from_utf8(payload)
                        .map_err(|_| bad(format!("“{name}” is not valid text")))?
                        .to_string(),
                ),
                (KIND_BYTES, _) => Body::Bytes(payload.to_vec()),
                (KIND_F32, Some(dims)) => {
                    let elements = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
                    if elements.and_then(|e| e.checked_mul(4)) != Some(payload.len()) {
                        return Err(bad(format!(
                            "tensor “{name}” declares shape {dims:?} but holds {} bytes",
                            payload.len()
                        )));
                    }
                    let values = payload
                        .chunks_exact(4)
                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                        .collect();
                    Body::F32 { dims, values }
                }
                (other, _) => return Err(bad(format!("“{name}” has unknown kind {other}"))),
            };
            entries.push(Entry { name, body });
        }
        if r.remaining() != 0 {
            return Err(ArchiveError::Invalid(format!(
                "{} unexpected bytes after the last part",
                r.remaining()
            )));
        }
        Ok(Self { entries })
    }
}

fn payload_len(body: &Body) -> usize {
    match body {
        Body::Json(t) => t.len(),
        Body::Bytes(b) => b.len(),
        Body::F32 { values, .. } => values.len() * 4,
    }
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.data.len() - self.at
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ArchiveError> {
        if n > self.remaining() {
            return Err(ArchiveError::Truncated {
                needed: n - self.remaining(),
                at: self.at,
            });
        }
        let slice = &self.data[self.at..self.at + n];
        self.at += n;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ArchiveError> {
        Ok(self.take(N)?.try_into().expect("N bytes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Archive {
        let mut a = Archive::new();
        a.push(Entry::json(
            "meta.json",
            r#"{"classes":["cat","猫"]}"#.into(),
        ));
        a.push(Entry::bytes("samples/0", vec![0, 1, 2, 255]));
        a.push(Entry::tensor(
            "w",
            vec![2, 3],
            vec![1.0, -2.5, 0.0, f32::MIN_POSITIVE, 7.0, 1e30],
        ));
        a.push(Entry::tensor("scalar-like", vec![0], vec![]));
        a
    }

    #[test]
    fn round_trips_every_kind_of_entry() {
        let a = sample();
        assert_eq!(Archive::decode(&a.encode()).unwrap(), a);
        assert_eq!(
            Archive::decode(&Archive::new().encode()).unwrap(),
            Archive::new()
        );
    }

    #[test]
    fn refuses_files_that_are_not_ours_or_from_another_version() {
        assert_eq!(
            Archive::decode(b"%PDF-1.7 hello"),
            Err(ArchiveError::NotOurs)
        );
        assert_eq!(Archive::decode(b""), Err(ArchiveError::NotOurs));
        let mut bytes = sample().encode();
        bytes[9..11].copy_from_slice(&2u16.to_le_bytes());
        assert_eq!(Archive::decode(&bytes), Err(ArchiveError::NewerVersion(2)));
        bytes[9..11].copy_from_slice(&0u16.to_le_bytes());
        assert_eq!(Archive::decode(&bytes), Err(ArchiveError::OlderVersion(0)));
        assert!(ArchiveError::NewerVersion(2).to_string().contains("newer"));
    }

    #[test]
    fn every_truncation_is_refused() {
        let bytes = sample().encode();
        for cut in 0..bytes.len() {
            assert!(
                Archive::decode(&bytes[..cut]).is_err(),
                "cut at {cut} was accepted"
            );
        }
    }

    #[test]
    fn declared_sizes_that_do_not_match_the_data_are_refused_before_allocating() {
        // One tensor entry that claims 65536×65536×65536×65536 floats but carries 8 bytes.
        let mut bytes = Vec::new();
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        bytes.extend_from_slice(&1u32.to_le_bytes());
        bytes.extend_from_slice(&1u16.to_le_bytes());
        bytes.push(b'w');
        bytes.push(KIND_F32);
        bytes.push(4);
        for _ in 0..4 {
            bytes.extend_from_slice(&65536u32.to_le_bytes());
        }
        bytes.extend_from_slice(&8u64.to_le_bytes());
        bytes.extend_from_slice(&[0; 8]);
        let err = Archive::decode(&bytes).unwrap_err();
        assert!(matches!(err, ArchiveError::BadEntry { .. }), "{err}");
        assert!(err.to_string().contains("declares shape"));

        // A payload length of 2^62 bytes: refused as truncated, nothing allocated.
        let n = bytes.len();
        bytes[n - 16..n - 8].copy_from_slice(&(1u64 << 62).to_le_bytes());
        assert!(matches!(
            Archive::decode(&bytes),
            Err(ArchiveError::Truncated { .. })
        ));

        // Four billion entries declared in a 15-byte file.
        let mut many = Vec::new();
        many.extend_from_slice(MAGIC);
        many.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        many.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            Archive::decode(&many),
            Err(ArchiveError::Invalid(_))
        ));
    }

    #[test]
    fn typed_accessors_name_the_missing_or_mistyped_part() {
        let a = sample();
        assert_eq!(
            a.bytes("nope").unwrap_err(),
            ArchiveError::Missing("nope".into())
        );
        assert_eq!(
            a.tensor("meta.json").unwrap_err(),
            ArchiveError::WrongKind("meta.json".into())
        );
        assert_eq!(a.tensor("w").unwrap().0, &[2, 3]);
    }

    proptest! {
        // The bounded fuzz pass of `make test`: arbitrary bytes, and valid files with bytes
        // flipped, never panic the decoder (tests/archive_allocation.rs measures what it
        // allocates meanwhile).
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = Archive::decode(&data);
            let mut prefixed = MAGIC.to_vec();
            prefixed.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
            prefixed.extend_from_slice(&data);
            let _ = Archive::decode(&prefixed);
        }

        #[test]
        fn corrupted_valid_files_never_panic(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
            let mut bytes = sample().encode();
            let n = bytes.len();
            for (at, value) in flips {
                bytes[at % n] = value;
            }
            if let Ok(a) = Archive::decode(&bytes) {
                // Whatever decodes must encode back to the same bytes.
                prop_assert_eq!(a.encode(), bytes);
            }
        }
    }
}
