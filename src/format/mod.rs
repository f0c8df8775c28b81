//! DER Studio's container format, below everything that writes files: the engine's model file
//! and the classroom's session both store their parts in an [`archive`], and the engine's ONNX
//! export writes [`onnx`]'s messages. It knows bytes, names and tensor shapes, never what a
//! model or a session is, so it depends on nothing in the crate.

pub mod archive;
pub mod onnx;
