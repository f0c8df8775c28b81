//! The inference network as an ONNX model, for the tools that load ONNX (onnxruntime in any of
//! its languages, OpenCV's dnn module, Netron, …) rather than DER Studio's own file.
//!
//! Why written by hand: Burn 0.22 has no ONNX export (burn-onnx and burn-import only import),
//! and the folded network needs none of a converter's generality: it is only convolutions with
//! bias, ReLU, mean pooling, concatenation and a linear layer, each one ONNX operator (Conv,
//! Relu, Add, GlobalAveragePool, Flatten, Concat, Gemm). Writing the protobuf
//! ([`crate::format::onnx`]) from the folded weights is exact: the model computes what
//! [`FoldedNetwork::logits`] computes, up to float rounding.
//!
//! The model: opset [`OPSET`]; input [`INPUT`], float `[batch, 3, S, S]` normalised as the
//! engine normalises pixels (`tensor_io::batch_tensor`); output [`OUTPUT`], `[batch, classes]`,
//! in the learner's class order. The caller's metadata (class names, normalisation) goes into
//! `metadata_props`.

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use prost::Message;

use super::folded::{FoldedBranch, FoldedNetwork};
use super::head::Head;
use super::tensor_io::{ReadError, read_f32};
use crate::format::onnx::tensor_shape_proto::{Dimension, dimension};
use crate::format::onnx::{
    AttributeProto, AttributeType, DataType, GraphProto, ModelProto, NodeProto, OperatorSetIdProto,
    StringStringEntryProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto, type_proto,
};

/// The default domain's operator set the nodes bind to: every operator used here has had its
/// present meaning since 13 (later versions only add element types).
pub const OPSET: i64 = 13;
/// ONNX's IR version 8 (ONNX 1.10).
pub const IR_VERSION: i64 = 8;
/// The graph's input: images, float NCHW.
pub const INPUT: &str = "image";
/// The graph's output: the classifier's logits.
pub const OUTPUT: &str = "logits";
/// The symbolic batch dimension of the input and the output.
pub const BATCH: &str = "batch";

/// `network` as an ONNX model (the protobuf's bytes) for `input_size`² images, with `metadata`
/// as its `metadata_props`. Reads every weight back from the device.
pub async fn onnx_model(
    network: &FoldedNetwork,
    input_size: usize,
    metadata: &[(String, String)],
) -> Result<Vec<u8>, ReadError> {
    let branches = network.branches();
    let stem = branches.first().expect("a network has a branch").stem();
    let channels = stem.weight.val().dims()[1] * stem.groups;
    let mut graph = Graph::default();
    let mut features = Vec::with_capacity(branches.len());
    for (i, branch) in branches.iter().enumerate() {
        features.push(
            graph
                .branch(&format!("branch{i}"), branch, input_size)
                .await?,
        );
    }
    let u = match features.len() {
        1 => features.remove(0),
        _ => graph.node("Concat", "features", features, vec![int("axis", 1)]),
    };
    let classifier = network.classifier();
    graph.linear(OUTPUT, u, classifier).await?;

    let input = tensor_value(
        INPUT,
        [
            Dim::Named(BATCH),
            Dim::Fixed(channels),
            Dim::Fixed(input_size),
            Dim::Fixed(input_size),
        ],
    );
    let output = tensor_value(
        OUTPUT,
        [Dim::Named(BATCH), Dim::Fixed(classifier.outputs())],
    );
    let model = ModelProto {
        ir_version: IR_VERSION,
        producer_name: "DER Studio".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        graph: Some(GraphProto {
            node: graph.nodes,
            name: "der_studio".into(),
            initializer: graph.initializers,
            input: vec![input],
            output: vec![output],
            ..Default::default()
        }),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        metadata_props: metadata
            .iter()
            .map(|(key, value)| StringStringEntryProto {
                key: key.clone(),
                value: value.clone(),
            })
            .collect(),
        ..Default::default()
    };
    Ok(model.encode_to_vec())
}

/// The graph as it is written: nodes in order (each after what it reads) and the weights.
#[derive(Default)]
struct Graph {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
}

impl Graph {
    /// Adds a node named as its one output; returns that output's name.
    fn node(
        &mut self,
        op_type: &str,
        output: &str,
        inputs: Vec<String>,
        attribute: Vec<AttributeProto>,
    ) -> String {
        self.nodes.push(NodeProto {
            input: inputs,
            output: vec![output.into()],
            name: output.into(),
            op_type: op_type.into(),
            attribute,
            ..Default::default()
        });
        output.into()
    }

    /// Adds a float initializer (raw little-endian bytes); returns its name.
    fn constant(&mut self, name: String, dims: &[usize], values: &[f32]) -> String {
        self.initializers.push(TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: DataType::Float.into(),
            name: name.clone(),
            raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ..Default::default()
        });
        name
    }

    /// One branch: the stem, the residual blocks, then the mean over H and W flattened to
    /// `[batch, channels]`; returns the features' name.
    async fn branch(
        &mut self,
        name: &str,
        branch: &FoldedBranch,
        input_size: usize,
    ) -> Result<String, ReadError> {
        let (stem, mut size) = self
            .conv(
                &format!("{name}.stem"),
                INPUT.into(),
                branch.stem(),
                [input_size; 2],
            )
            .await?;
        let mut x = self.relu(stem);
        for (j, block) in branch.blocks().iter().enumerate() {
            let block_name = format!("{name}.block{j}");
            let (conv1, conv2, shortcut) = block.convolutions();
            let (h, inner) = self
                .conv(&format!("{block_name}.conv1"), x.clone(), conv1, size)
                .await?;
            let h = self.relu(h);
            let (h, out) = self
                .conv(&format!("{block_name}.conv2"), h, conv2, inner)
                .await?;
            let s = match shortcut {
                Some(projection) => {
                    let shortcut = format!("{block_name}.shortcut");
                    self.conv(&shortcut, x, projection, size).await?.0
                }
                None => x,
            };
            let sum = self.node("Add", &format!("{block_name}.add"), vec![h, s], vec![]);
            x = self.relu(sum);
            size = out;
        }
        let pooled = self.node(
            "GlobalAveragePool",
            &format!("{name}.pool"),
            vec![x],
            vec![],
        );
        Ok(self.node(
            "Flatten",
            &format!("{name}.features"),
            vec![pooled],
            vec![int("axis", 1)],
        ))
    }

    /// A convolution with its weights as initializers `{name}.weight` and `{name}.bias`;
    /// returns its output's name and spatial size.
    async fn conv(
        &mut self,
        name: &str,
        input: String,
        conv: &Conv2d,
        size: [usize; 2],
    ) -> Result<(String, [usize; 2]), ReadError> {
        let weight = conv.weight.val();
        let dims = weight.dims();
        let [_, _, kh, kw] = dims;
        let mut inputs = vec![input];
        inputs.push(self.constant(format!("{name}.weight"), &dims, &read_f32(weight).await?));
        if let Some(bias) = &conv.bias {
            let bias = bias.val();
            let bias_dims = bias.dims();
            inputs.push(self.constant(format!("{name}.bias"), &bias_dims, &read_f32(bias).await?));
        }
        let [top, left, bottom, right] = pads(conv, size);
        let out = [
            (size[0], kh, top + bottom, 0),
            (size[1], kw, left + right, 1),
        ]
        .map(|(n, k, pad, axis)| {
            (n + pad - conv.dilation[axis] * (k - 1) - 1) / conv.stride[axis] + 1
        });
        let attributes = vec![
            ints("kernel_shape", [kh, kw]),
            ints("strides", conv.stride),
            ints("pads", [top, left, bottom, right]),
            ints("dilations", conv.dilation),
            int("group", conv.groups),
        ];
        Ok((self.node("Conv", name, inputs, attributes), out))
    }

    fn relu(&mut self, input: String) -> String {
        let output = format!("{input}.relu");
        self.node("Relu", &output, vec![input], vec![])
    }

    /// The classifier `u · W + b` as one Gemm (`W` is `[inputs, outputs]`: not transposed).
    async fn linear(&mut self, name: &str, u: String, head: &Head) -> Result<String, ReadError> {
        let weight = head.weight.val();
        let dims = weight.dims();
        let weight = self.constant("classifier.weight".into(), &dims, &read_f32(weight).await?);
        let bias = head.bias.val();
        let bias_dims = bias.dims();
        let bias = self.constant("classifier.bias".into(), &bias_dims, &read_f32(bias).await?);
        let attributes = vec![int("transA", 0), int("transB", 0)];
        Ok(self.node("Gemm", name, vec![u, weight, bias], attributes))
    }
}

/// ONNX's `pads` for `conv` on `size` inputs: `[top, left, bottom, right]` (begins, then ends).
fn pads(conv: &Conv2d, size: [usize; 2]) -> [usize; 4] {
    match conv.padding {
        PaddingConfig2d::Valid => [0; 4],
        PaddingConfig2d::Explicit(top, left, bottom, right) => [top, left, bottom, right],
        // As Burn computes it (burn-nn's private `calculate_same_padding`): the output keeps
        // ⌈size/stride⌉, the odd pixel of padding at the end.
        PaddingConfig2d::Same => {
            let [(top, bottom), (left, right)] = [0, 1].map(|axis| {
                let (n, stride) = (size[axis], conv.stride[axis]);
                let total = match n.div_ceil(stride) {
                    0 => 0,
                    out => ((out - 1) * stride + conv.kernel_size[axis]).saturating_sub(n),
                };
                (total / 2, total - total / 2)
            });
            [top, left, bottom, right]
        }
    }
}

fn int(name: &str, value: usize) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        i: Some(value as i64),
        r#type: AttributeType::Int.into(),
        ..Default::default()
    }
}

fn ints<const N: usize>(name: &str, values: [usize; N]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        ints: values.iter().map(|&v| v as i64).collect(),
        r#type: AttributeType::Ints.into(),
        ..Default::default()
    }
}

/// A dimension of a graph input or output.
enum Dim {
    Fixed(usize),
    Named(&'static str),
}

fn tensor_value<const N: usize>(name: &str, dims: [Dim; N]) -> ValueInfoProto {
    let dim = dims
        .into_iter()
        .map(|d| Dimension {
            value: Some(match d {
                Dim::Fixed(n) => dimension::Value::DimValue(n as i64),
                Dim::Named(s) => dimension::Value::DimParam(s.into()),
            }),
            ..Default::default()
        })
        .collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(type_proto::Tensor {
                elem_type: DataType::Float.into(),
                shape: Some(TensorShapeProto { dim }),
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use burn::tensor::Device;

    use super::*;
    use crate::engine::branch::Branch;
    use crate::engine::config::BackboneConfig;
    use crate::engine::network::DerNetwork;
    use crate::engine::seeding::seeded_module;

    fn network(branches: usize) -> FoldedNetwork {
        let device = Device::flex();
        // Two blocks a stage: projection and identity shortcuts.
        let config = BackboneConfig {
            input_size: 16,
            width: 4,
            stages: 2,
            blocks_per_stage: 2,
        };
        let branches: Vec<Branch> = (0..branches)
            .map(|i| seeded_module(&device, 20 + i as u64, || Branch::new(&config, &device)))
            .collect();
        let dim: usize = branches.iter().map(Branch::feature_dim).sum();
        FoldedNetwork::fold(&DerNetwork {
            classifier: seeded_module(&device, 30, || Head::new(dim, 5, &device)),
            aux: None,
            branches,
        })
    }

    fn shape(value: &ValueInfoProto) -> Vec<dimension::Value> {
        let tensor = value.r#type.as_ref().unwrap().tensor_type.as_ref().unwrap();
        assert_eq!(tensor.elem_type, DataType::Float as i32);
        let shape = tensor.shape.as_ref().unwrap();
        shape.dim.iter().map(|d| d.value.clone().unwrap()).collect()
    }

    #[test]
    fn the_written_model_decodes_with_every_layer_weight_and_name() {
        for branches in [1, 2] {
            let network = network(branches);
            let metadata = [("classes".to_string(), r#"["cat","dog"]"#.to_string())];
            let bytes = pollster::block_on(onnx_model(&network, 16, &metadata)).unwrap();
            let model = ModelProto::decode(bytes.as_slice()).unwrap();
            assert_eq!(model.ir_version, IR_VERSION);
            assert_eq!(model.producer_name, "DER Studio");
            assert_eq!(model.opset_import.len(), 1);
            assert_eq!(model.opset_import[0].version, OPSET);
            assert_eq!(model.metadata_props.len(), 1);
            assert_eq!(model.metadata_props[0].key, "classes");
            assert_eq!(model.metadata_props[0].value, r#"["cat","dog"]"#);

            let graph = model.graph.unwrap();
            let convs: usize = network
                .branches()
                .iter()
                .map(|b| {
                    1 + b
                        .blocks()
                        .iter()
                        .map(|block| 2 + usize::from(block.convolutions().2.is_some()))
                        .sum::<usize>()
                })
                .sum();
            let blocks: usize = network.branches().iter().map(|b| b.blocks().len()).sum();
            let count = |op: &str| graph.node.iter().filter(|n| n.op_type == op).count();
            assert_eq!(count("Conv"), convs);
            // After the stem, after each block's conv1 and after each block's sum.
            assert_eq!(count("Relu"), branches + 2 * blocks);
            assert_eq!(count("Add"), blocks);
            assert_eq!(count("GlobalAveragePool"), branches);
            assert_eq!(count("Flatten"), branches);
            assert_eq!(count("Concat"), usize::from(branches > 1));
            assert_eq!(count("Gemm"), 1);
            assert_eq!(
                graph.node.len(),
                convs + branches + 2 * blocks + blocks + 2 * branches + (branches > 1) as usize + 1
            );
            // A weight and a bias a convolution, and the classifier's.
            assert_eq!(graph.initializer.len(), 2 * convs + 2);
            let classifier = network.classifier();
            let w = graph
                .initializer
                .iter()
                .find(|t| t.name == "classifier.weight")
                .unwrap();
            assert_eq!(
                w.dims,
                [classifier.inputs() as i64, classifier.outputs() as i64]
            );
            assert_eq!(
                w.raw_data.len(),
                4 * classifier.inputs() * classifier.outputs()
            );

            // Every node reads the input, a weight or an earlier node's output.
            let mut known: HashSet<&str> =
                graph.initializer.iter().map(|t| t.name.as_str()).collect();
            known.insert(INPUT);
            for node in &graph.node {
                for input in &node.input {
                    assert!(
                        known.contains(input.as_str()),
                        "{input} is read before written"
                    );
                }
                known.extend(node.output.iter().map(String::as_str));
            }
            assert_eq!(graph.node.last().unwrap().output, [OUTPUT]);

            use dimension::Value::{DimParam, DimValue};
            assert_eq!(graph.input.len(), 1);
            assert_eq!(graph.input[0].name, INPUT);
            assert_eq!(
                shape(&graph.input[0]),
                [
                    DimParam(BATCH.into()),
                    DimValue(3),
                    DimValue(16),
                    DimValue(16)
                ]
            );
            assert_eq!(graph.output.len(), 1);
            assert_eq!(graph.output[0].name, OUTPUT);
            assert_eq!(
                shape(&graph.output[0]),
                [DimParam(BATCH.into()), DimValue(5)]
            );
        }
    }

    /// `Same` written as the explicit pads Burn uses: the same outputs, odd paddings included.
    #[test]
    fn same_padding_is_written_as_burn_pads() {
        use burn::nn::conv::Conv2dConfig;
        use burn::tensor::{Distribution, Tensor};
        let device = Device::flex();
        for (kernel, stride, size) in [(3, 1, 9), (3, 2, 16), (4, 2, 15), (2, 1, 7), (5, 3, 8)] {
            let same = seeded_module(&device, 5, || {
                Conv2dConfig::new([2, 3], [kernel, kernel])
                    .with_stride([stride, stride])
                    .with_padding(PaddingConfig2d::Same)
                    .init(&device)
            });
            let [top, left, bottom, right] = pads(&same, [size, size]);
            let mut explicit = same.clone();
            explicit.padding = PaddingConfig2d::Explicit(top, left, bottom, right);
            let x = Tensor::<4>::random([1, 2, size, size], Distribution::Default, &device);
            let expected = pollster::block_on(read_f32(same.forward(x.clone()))).unwrap();
            let written = pollster::block_on(read_f32(explicit.forward(x))).unwrap();
            assert_eq!(
                written, expected,
                "kernel {kernel}, stride {stride}, size {size}"
            );
        }
    }
}
