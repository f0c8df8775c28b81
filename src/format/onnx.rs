//! The part of ONNX's protobuf schema (`onnx/onnx.proto`) that an exported model uses, written
//! out by hand for prost's derive: the field numbers are onnx.proto's, so the bytes are an ONNX
//! file, and no `protoc` or build script is needed.
//!
//! onnx.proto is proto2: its scalars are `optional`, and the ones whose zero means something
//! (an attribute's `f` and `i`) are `Option`s here so a zero is still written. Fields an
//! exporter of plain tensors never sets (sparse tensors, training information, functions, the
//! other members of `TypeProto`'s `oneof`) are left out: a reader sees them absent.

/// A whole model: the graph, the operator sets it uses and free-form metadata.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ModelProto {
    /// The IR version the model targets (ONNX 1.10 and later: 8).
    #[prost(int64, tag = "1")]
    pub ir_version: i64,
    #[prost(string, tag = "2")]
    pub producer_name: String,
    #[prost(string, tag = "3")]
    pub producer_version: String,
    #[prost(string, tag = "4")]
    pub domain: String,
    #[prost(int64, tag = "5")]
    pub model_version: i64,
    #[prost(string, tag = "6")]
    pub doc_string: String,
    #[prost(message, optional, tag = "7")]
    pub graph: Option<GraphProto>,
    /// The operator sets the graph's nodes bind to; one for the default domain at least.
    #[prost(message, repeated, tag = "8")]
    pub opset_import: Vec<OperatorSetIdProto>,
    /// Named metadata; keys should be distinct.
    #[prost(message, repeated, tag = "14")]
    pub metadata_props: Vec<StringStringEntryProto>,
}

/// A key and its value (onnx.proto's stand-in for a map).
#[derive(Clone, PartialEq, prost::Message)]
pub struct StringStringEntryProto {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

/// An operator set: a domain (empty: the default `ai.onnx`) and its version.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OperatorSetIdProto {
    #[prost(string, tag = "1")]
    pub domain: String,
    #[prost(int64, tag = "2")]
    pub version: i64,
}

/// A computation graph: nodes in topological order, constant tensors, inputs and outputs.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GraphProto {
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeProto>,
    #[prost(string, tag = "2")]
    pub name: String,
    /// Constant tensors (the weights), each named as the node inputs that read it.
    #[prost(message, repeated, tag = "5")]
    pub initializer: Vec<TensorProto>,
    #[prost(string, tag = "10")]
    pub doc_string: String,
    #[prost(message, repeated, tag = "11")]
    pub input: Vec<ValueInfoProto>,
    #[prost(message, repeated, tag = "12")]
    pub output: Vec<ValueInfoProto>,
    /// Types and shapes of intermediate values (optional for a reader).
    #[prost(message, repeated, tag = "13")]
    pub value_info: Vec<ValueInfoProto>,
}

/// One operator application: named inputs and outputs, and attributes.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NodeProto {
    #[prost(string, repeated, tag = "1")]
    pub input: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    pub output: Vec<String>,
    #[prost(string, tag = "3")]
    pub name: String,
    #[prost(string, tag = "4")]
    pub op_type: String,
    #[prost(message, repeated, tag = "5")]
    pub attribute: Vec<AttributeProto>,
    #[prost(string, tag = "6")]
    pub doc_string: String,
    /// The operator set's domain; empty: the default one.
    #[prost(string, tag = "7")]
    pub domain: String,
}

/// What an attribute holds; exactly the field it names is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum AttributeType {
    Undefined = 0,
    Float = 1,
    Int = 2,
    String = 3,
    Tensor = 4,
    Graph = 5,
    Floats = 6,
    Ints = 7,
    Strings = 8,
    Tensors = 9,
    Graphs = 10,
    SparseTensor = 11,
    SparseTensors = 12,
}

/// A node's named attribute (graphs and sparse tensors left out).
#[derive(Clone, PartialEq, prost::Message)]
pub struct AttributeProto {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(float, optional, tag = "2")]
    pub f: Option<f32>,
    #[prost(int64, optional, tag = "3")]
    pub i: Option<i64>,
    #[prost(bytes = "vec", tag = "4")]
    pub s: Vec<u8>,
    #[prost(message, optional, tag = "5")]
    pub t: Option<TensorProto>,
    #[prost(float, repeated, packed = "false", tag = "7")]
    pub floats: Vec<f32>,
    #[prost(int64, repeated, packed = "false", tag = "8")]
    pub ints: Vec<i64>,
    #[prost(bytes = "vec", repeated, tag = "9")]
    pub strings: Vec<Vec<u8>>,
    #[prost(message, repeated, tag = "10")]
    pub tensors: Vec<TensorProto>,
    #[prost(string, tag = "13")]
    pub doc_string: String,
    /// Which of the fields above holds the value.
    #[prost(enumeration = "AttributeType", tag = "20")]
    pub r#type: i32,
}

/// Element types of a tensor (`TensorProto.DataType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum DataType {
    Undefined = 0,
    Float = 1,
    Uint8 = 2,
    Int8 = 3,
    Uint16 = 4,
    Int16 = 5,
    Int32 = 6,
    Int64 = 7,
    String = 8,
    Bool = 9,
    Float16 = 10,
    Double = 11,
    Uint32 = 12,
    Uint64 = 13,
    Complex64 = 14,
    Complex128 = 15,
    Bfloat16 = 16,
}

/// A tensor's shape, element type and values, row-major: in the typed field of its element
/// type, or as little-endian bytes in `raw_data` (segments and external data left out).
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorProto {
    /// Unpacked, as proto2 writes it (onnx.proto asks packing for the `*_data` fields only).
    #[prost(int64, repeated, packed = "false", tag = "1")]
    pub dims: Vec<i64>,
    #[prost(enumeration = "DataType", tag = "2")]
    pub data_type: i32,
    #[prost(float, repeated, tag = "4")]
    pub float_data: Vec<f32>,
    #[prost(int32, repeated, tag = "5")]
    pub int32_data: Vec<i32>,
    #[prost(bytes = "vec", repeated, tag = "6")]
    pub string_data: Vec<Vec<u8>>,
    #[prost(int64, repeated, tag = "7")]
    pub int64_data: Vec<i64>,
    #[prost(string, tag = "8")]
    pub name: String,
    #[prost(bytes = "vec", tag = "9")]
    pub raw_data: Vec<u8>,
    #[prost(double, repeated, tag = "10")]
    pub double_data: Vec<f64>,
    #[prost(uint64, repeated, tag = "11")]
    pub uint64_data: Vec<u64>,
    #[prost(string, tag = "12")]
    pub doc_string: String,
}

/// A graph input's or output's name and type.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ValueInfoProto {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(message, optional, tag = "2")]
    pub r#type: Option<TypeProto>,
    #[prost(string, tag = "3")]
    pub doc_string: String,
}

/// A value's type. In onnx.proto `tensor_type` is one member of a `oneof` (with sequences and
/// maps); a `oneof` with one member set is the same on the wire as this optional field.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TypeProto {
    #[prost(message, optional, tag = "1")]
    pub tensor_type: Option<type_proto::Tensor>,
    #[prost(string, tag = "6")]
    pub denotation: String,
}

pub mod type_proto {
    /// A tensor type: the element type (a [`super::DataType`]) and, optionally, the shape.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Tensor {
        #[prost(enumeration = "super::DataType", tag = "1")]
        pub elem_type: i32,
        #[prost(message, optional, tag = "2")]
        pub shape: Option<super::TensorShapeProto>,
    }
}

/// A shape whose dimensions are numbers or names (a name: any size, e.g. the batch).
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorShapeProto {
    #[prost(message, repeated, tag = "1")]
    pub dim: Vec<tensor_shape_proto::Dimension>,
}

pub mod tensor_shape_proto {
    /// One dimension: a size, a symbolic name, or unknown (`None`).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Dimension {
        #[prost(oneof = "dimension::Value", tags = "1, 2")]
        pub value: Option<dimension::Value>,
        #[prost(string, tag = "3")]
        pub denotation: String,
    }

    pub mod dimension {
        #[derive(Clone, PartialEq, prost::Oneof)]
        pub enum Value {
            #[prost(int64, tag = "1")]
            DimValue(i64),
            #[prost(string, tag = "2")]
            DimParam(String),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    /// Bytes written by hand from onnx.proto's field numbers and wire types: the derive's tags
    /// are the schema's.
    #[test]
    fn fields_have_onnx_protos_numbers() {
        let model = ModelProto {
            ir_version: 8,
            producer_name: "P".into(),
            opset_import: vec![OperatorSetIdProto {
                domain: String::new(),
                version: 13,
            }],
            metadata_props: vec![StringStringEntryProto {
                key: "k".into(),
                value: "v".into(),
            }],
            ..Default::default()
        };
        assert_eq!(
            model.encode_to_vec(),
            [
                0x08, 8, // 1: ir_version, varint
                0x12, 1, b'P', // 2: producer_name
                0x42, 2, 0x10, 13, // 8: opset_import { 2: version }
                0x72, 6, 0x0a, 1, b'k', 0x12, 1, b'v', // 14: metadata_props
            ]
        );
        let attribute = AttributeProto {
            name: "a".into(),
            i: Some(0),
            r#type: AttributeType::Int.into(),
            ..Default::default()
        };
        // An explicit zero is written (proto2 `optional`), then 20: type (varint, two bytes).
        assert_eq!(
            attribute.encode_to_vec(),
            [0x0a, 1, b'a', 0x18, 0, 0xa0, 0x01, 2]
        );
        let dimension = tensor_shape_proto::Dimension {
            value: Some(tensor_shape_proto::dimension::Value::DimParam("n".into())),
            ..Default::default()
        };
        assert_eq!(dimension.encode_to_vec(), [0x12, 1, b'n']);
        let tensor = TensorProto {
            dims: vec![2],
            data_type: DataType::Float.into(),
            float_data: vec![1.0, 0.0],
            name: "w".into(),
            ..Default::default()
        };
        // 1: dims unpacked (a varint per element); 4: float_data packed (length, then bytes).
        let mut expected = vec![0x08, 2, 0x10, 1, 0x22, 8];
        expected.extend(1.0f32.to_le_bytes());
        expected.extend(0.0f32.to_le_bytes());
        expected.extend([0x42, 1, b'w']);
        assert_eq!(tensor.encode_to_vec(), expected);
    }
}
