//! The archive decoder reads files from strangers: whatever it is given, it allocates no more
//! than a fixed multiple of the bytes it was given, and a file that *declares* huge sizes is
//! refused having allocated almost nothing. Measured with a counting allocator (per thread, so
//! the tests of this binary may run side by side).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use der_studio::format::archive::{
    Archive, ArchiveError, Entry, FORMAT_VERSION, MAGIC, MIN_ENTRY_BYTES,
};
use proptest::prelude::*;

struct Counting;

thread_local! {
    static ALLOCATED: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATED.try_with(|a| a.set(a.get() + layout.size()));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATED.try_with(|a| a.set(a.get() + new_size));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Decodes `bytes` and returns the result with the bytes allocated meanwhile.
fn decode_counting(bytes: &[u8]) -> (Result<Archive, ArchiveError>, usize) {
    let before = ALLOCATED.with(Cell::get);
    let result = Archive::decode(bytes);
    let after = ALLOCATED.with(Cell::get);
    (result, after - before)
}

/// The most the decoder may allocate for `input` bytes: each entry's record (at most one per
/// `MIN_ENTRY_BYTES` of input) with its shape, a copy of every payload and name, and an
/// error message.
fn bound(input: usize) -> usize {
    let per_entry = std::mem::size_of::<Entry>() + 4 * std::mem::size_of::<usize>();
    input + input.div_ceil(MIN_ENTRY_BYTES) * per_entry + 1024
}

fn header(count: u32) -> Vec<u8> {
    let mut bytes = MAGIC.to_vec();
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes.extend_from_slice(&count.to_le_bytes());
    bytes
}

fn valid() -> Vec<u8> {
    let mut a = Archive::default();
    a.push(Entry::json("meta.json", r#"{"v":1}"#.to_string()));
    a.push(Entry::bytes("raw", vec![1, 2, 3, 4, 5]));
    a.push(Entry::tensor("w", vec![2, 3], vec![0.5; 6]));
    a.encode()
}

#[test]
fn files_that_declare_huge_sizes_are_refused_having_allocated_almost_nothing() {
    // A tensor of 65536⁴ floats, carrying 8 bytes.
    let mut tensor = header(1);
    tensor.extend_from_slice(&1u16.to_le_bytes());
    tensor.push(b'w');
    tensor.push(2); // f32 tensor
    tensor.push(4);
    for _ in 0..4 {
        tensor.extend_from_slice(&65536u32.to_le_bytes());
    }
    tensor.extend_from_slice(&8u64.to_le_bytes());
    tensor.extend_from_slice(&[0; 8]);
    // A payload of 2⁶² bytes.
    let mut payload = tensor.clone();
    let n = payload.len();
    payload[n - 16..n - 8].copy_from_slice(&(1u64 << 62).to_le_bytes());
    // Four billion entries in a 15-byte file.
    let many = header(u32::MAX);

    for (what, bytes) in [
        ("a huge tensor shape", tensor),
        ("a huge payload", payload),
        ("four billion entries", many),
    ] {
        let (result, allocated) = decode_counting(&bytes);
        assert!(result.is_err(), "{what} is refused");
        assert!(
            allocated <= 1024,
            "{what}: {allocated} bytes allocated for a {}-byte file",
            bytes.len()
        );
    }
}

#[test]
fn a_valid_file_costs_at_most_the_bound() {
    let bytes = valid();
    let (result, allocated) = decode_counting(&bytes);
    assert_eq!(result.unwrap().encode(), bytes);
    assert!(
        allocated <= bound(bytes.len()),
        "{allocated} > {}",
        bound(bytes.len())
    );
    assert!(allocated > 0, "the counter counts");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_make_the_decoder_allocate_beyond_the_bound(
        data in proptest::collection::vec(any::<u8>(), 0..512)
    ) {
        let mut prefixed = header(0);
        prefixed.truncate(MAGIC.len() + 2);
        prefixed.extend_from_slice(&data);
        for bytes in [&data, &prefixed] {
            let (_, allocated) = decode_counting(bytes);
            prop_assert!(allocated <= bound(bytes.len()), "{} > {}", allocated, bound(bytes.len()));
        }
    }

    #[test]
    fn corrupted_files_never_make_the_decoder_allocate_beyond_the_bound(
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)
    ) {
        let mut bytes = valid();
        let n = bytes.len();
        for (at, value) in flips {
            bytes[at % n] = value;
        }
        let (_, allocated) = decode_counting(&bytes);
        prop_assert!(allocated <= bound(n), "{} > {}", allocated, bound(n));
    }
}
