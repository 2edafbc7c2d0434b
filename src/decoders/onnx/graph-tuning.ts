/**
 * Exact rewrites of the PP-OCR graphs that onnxruntime does not make itself. The models were
 * exported by paddle2onnx, which spells PP-LCNetV3's learnable affine blocks (y = s·x + b,
 * scalar s and b) and its hard-swish activations (x·clip(x + 3, 0, 6) / 6) as chains of
 * element-wise nodes. Those nodes cost about half the recognition model's run time and break
 * onnxruntime's blocked (NCHWc) convolution chains, so each is folded into a convolution,
 * turned into a fused activation, or written as a BatchNormalization, which runs blocked.
 * The arithmetic is unchanged: outputs agree with the shipped graph to float rounding.
 */
import { ONNX_PROTO } from './onnx-schema.js';

export interface GraphTuningReport {
  /** Constant nodes turned into initializers, so the folds below can read them. */
  readonly constants: number;
  /** Conv -> Mul(s) -> Add(b) chains folded into the convolution's weights and bias. */
  readonly affineIntoConv: number;
  /** Add(3) -> Clip(0, 6) -> Mul -> Div(6) chains written as HardSigmoid + Mul. */
  readonly hardSwish: number;
  /** Mul(s) -> Add(b) chains folded into the 1x1 convolution they feed. */
  readonly affineIntoPointwise: number;
  /** Remaining Mul(s) -> Add(b) chains written as a BatchNormalization. */
  readonly affineAsBatchNorm: number;
}

export interface TunedGraph {
  readonly bytes: Uint8Array;
  readonly report: GraphTuningReport;
}

/** protobufjs reads int64 fields as numbers or as Long objects. */
type Int64 = number | { toNumber(): number };

interface Tensor {
  dims?: Int64[];
  data_type?: number;
  name?: string;
  raw_data?: Uint8Array;
  float_data?: number[];
  [field: string]: unknown;
}

interface Attribute {
  name?: string;
  type?: number;
  f?: number;
  i?: Int64;
  t?: Tensor;
  ints?: Int64[];
  [field: string]: unknown;
}

interface Node {
  input: string[];
  output: string[];
  name?: string;
  op_type?: string;
  domain?: string;
  attribute: Attribute[];
  [field: string]: unknown;
}

interface Graph {
  node: Node[];
  initializer: Tensor[];
  output: { name?: string }[];
  [field: string]: unknown;
}

const FLOAT = 1;
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_TENSOR = 4;

type ModelCodec = {
  decode(bytes: Uint8Array): { graph?: Graph };
  encode(message: unknown): { finish(): Uint8Array };
};

let codec: Promise<ModelCodec> | undefined;

/** protobufjs and the parsed schema load on first use: most processes never tune a graph. */
function modelCodec(): Promise<ModelCodec> {
  codec ??= import('protobufjs').then((mod) => {
    const protobuf = (mod as unknown as { default?: typeof mod }).default ?? mod;
    return protobuf.parse(ONNX_PROTO, { keepCase: true }).root.lookupType('onnx.ModelProto') as unknown as ModelCodec;
  });
  return codec;
}

const toNumber = (v: Int64): number => (typeof v === 'number' ? v : v.toNumber());

/** Rewrite an ONNX model (bytes of a .onnx file). A graph with none of the patterns comes back re-encoded, unchanged in meaning. */
export async function tuneOnnxGraph(model: Uint8Array): Promise<TunedGraph> {
  const ModelProto = await modelCodec();
  const message = ModelProto.decode(model);
  const graph = message.graph;
  if (!graph) return { bytes: model, report: { constants: 0, affineIntoConv: 0, hardSwish: 0, affineIntoPointwise: 0, affineAsBatchNorm: 0 } };
  const g = new GraphEditor(graph);
  const report: GraphTuningReport = {
    constants: g.constantsToInitializers(),
    affineIntoConv: g.foldAffineIntoConv(),
    hardSwish: g.hardSwish(),
    affineIntoPointwise: g.foldAffineIntoPointwise(),
    affineAsBatchNorm: g.affineAsBatchNorm(),
  };
  g.dropUnusedInitializers();
  return { bytes: ModelProto.encode(message).finish(), report };
}

/** A scalar affine y = s·x + b found as Mul -> Add. */
interface Affine {
  readonly mul: Node;
  readonly add: Node;
  /** The Mul's variable input. */
  readonly x: string;
  readonly s: number;
  readonly b: number;
}

class GraphEditor {
  private readonly initializers = new Map<string, Tensor>();
  private readonly graphOutputs: Set<string>;
  private serial = 0;

  constructor(private readonly graph: Graph) {
    for (const t of graph.initializer) if (t.name) this.initializers.set(t.name, t);
    this.graphOutputs = new Set(graph.output.map((o) => o.name ?? ''));
  }

  constantsToInitializers(): number {
    let n = 0;
    this.graph.node = this.graph.node.filter((node) => {
      const value = node.attribute[0];
      if (node.op_type !== 'Constant' || node.attribute.length !== 1 || value?.name !== 'value' || value.type !== ATTR_TENSOR || !value.t) return true;
      const tensor = { ...value.t, name: node.output[0]! };
      this.graph.initializer.push(tensor);
      this.initializers.set(tensor.name, tensor);
      n++;
      return false;
    });
    return n;
  }

  /** Conv -> Mul(s) [-> Add(b)]: conv(x)·s + b is the conv with weights W·s and bias B·s + b. */
  foldAffineIntoConv(): number {
    let n = 0;
    for (const conv of [...this.graph.node]) {
      if (conv.op_type !== 'Conv' || conv.input.length < 2) continue;
      const mul = this.soleConsumer(conv.output[0]!);
      if (mul?.op_type !== 'Mul') continue;
      const s = this.scalarOperand(mul, conv.output[0]!);
      const weights = this.floats(conv.input[1]!);
      if (s === undefined || !weights) continue;
      const add = this.soleConsumer(mul.output[0]!);
      const b = add?.op_type === 'Add' ? this.scalarOperand(add, mul.output[0]!) : undefined;
      const cout = weights.dims[0]!;
      const bias = conv.input[2] ? this.floats(conv.input[2]) : { data: new Float32Array(cout), dims: [cout] };
      if (!bias) continue;
      const last = b !== undefined ? add! : mul;
      const w = weights.data.map((v) => v * s);
      const bb = bias.data.map((v) => v * s + (b ?? 0));
      conv.input = [conv.input[0]!, this.addFloats(w, weights.dims), this.addFloats(bb, [cout])];
      conv.output = [last.output[0]!];
      this.remove(b !== undefined ? [mul, add!] : [mul]);
      n++;
    }
    return n;
  }

  /** x·clip(x + 3, 0, 6) / 6 = x·HardSigmoid(x; 1/6, 1/2), which onnxruntime fuses into the preceding Conv. */
  hardSwish(): number {
    let n = 0;
    for (const add of [...this.graph.node]) {
      if (add.op_type !== 'Add') continue;
      const x = add.input.find((name) => !this.initializers.has(name));
      if (x === undefined || this.scalarOperand(add, x) !== 3) continue;
      const clip = this.soleConsumer(add.output[0]!);
      if (clip?.op_type !== 'Clip' || !this.clipsTo(clip, 0, 6)) continue;
      const mul = this.soleConsumer(clip.output[0]!);
      if (mul?.op_type !== 'Mul' || !mul.input.includes(x) || !mul.input.includes(clip.output[0]!)) continue;
      const div = this.soleConsumer(mul.output[0]!);
      if (div?.op_type !== 'Div' || div.input[0] !== mul.output[0] || this.scalarValue(div.input[1]!) !== 6) continue;
      const gate = this.fresh('hard_sigmoid');
      const sigmoid: Node = {
        input: [x],
        output: [gate],
        name: gate,
        op_type: 'HardSigmoid',
        attribute: [
          { name: 'alpha', type: ATTR_FLOAT, f: 1 / 6 },
          { name: 'beta', type: ATTR_FLOAT, f: 0.5 },
        ],
      };
      const product: Node = { input: [x, gate], output: [div.output[0]!], name: this.fresh('hard_swish'), op_type: 'Mul', attribute: [] };
      this.replace([add, clip, mul, div], [sigmoid, product]);
      n++;
    }
    return n;
  }

  /**
   * Mul(s) -> Add(b) -> 1x1 Conv without padding: conv(s·x + b) is the conv with weights W·s
   * and bias B + b·ΣW. Convolutions with padding are left alone: their zero border would
   * become b.
   */
  foldAffineIntoPointwise(): number {
    let n = 0;
    for (const affine of this.affines()) {
      const conv = this.soleConsumer(affine.add.output[0]!);
      if (conv?.op_type !== 'Conv' || conv.input[0] !== affine.add.output[0] || !this.isPointwise(conv)) continue;
      const weights = this.floats(conv.input[1]!);
      if (!weights) continue;
      const cout = weights.dims[0]!;
      const bias = conv.input[2] ? this.floats(conv.input[2]) : { data: new Float32Array(cout), dims: [cout] };
      if (!bias) continue;
      const perOut = weights.data.length / cout;
      const bb = new Float32Array(cout);
      for (let o = 0; o < cout; o++) {
        let sum = 0;
        for (let k = 0; k < perOut; k++) sum += weights.data[o * perOut + k]!;
        bb[o] = bias.data[o]! + affine.b * sum;
      }
      const w = weights.data.map((v) => v * affine.s);
      conv.input = [affine.x, this.addFloats(w, weights.dims), this.addFloats(bb, [cout])];
      this.remove([affine.mul, affine.add]);
      n++;
    }
    return n;
  }

  /** Mul(s) -> Add(b) feeding convolutions: a BatchNormalization with mean 0, variance 1 and epsilon 0 is s·x + b per channel. */
  affineAsBatchNorm(): number {
    let n = 0;
    for (const affine of this.affines()) {
      const consumers = this.consumers(affine.add.output[0]!);
      const channels = new Set(consumers.map((c) => (c.op_type === 'Conv' ? this.inputChannels(c) : undefined)));
      const [c] = [...channels];
      if (consumers.length === 0 || channels.size !== 1 || c === undefined) continue;
      const name = this.fresh('affine');
      const norm: Node = {
        input: [affine.x, this.addFloats(new Float32Array(c).fill(affine.s), [c]), this.addFloats(new Float32Array(c).fill(affine.b), [c]), this.addFloats(new Float32Array(c), [c]), this.addFloats(new Float32Array(c).fill(1), [c])],
        output: [affine.add.output[0]!],
        name,
        op_type: 'BatchNormalization',
        attribute: [{ name: 'epsilon', type: ATTR_FLOAT, f: 0 }],
      };
      this.replace([affine.mul, affine.add], [norm]);
      n++;
    }
    return n;
  }

  dropUnusedInitializers(): void {
    const used = new Set(this.graph.node.flatMap((node) => node.input));
    this.graph.initializer = this.graph.initializer.filter((t) => used.has(t.name ?? ''));
  }

  /** Every Mul(x, s) -> Add(·, b) with scalar constants and a single consumer between them. */
  private affines(): Affine[] {
    const out: Affine[] = [];
    for (const mul of this.graph.node) {
      if (mul.op_type !== 'Mul') continue;
      const x = mul.input.find((name) => !this.initializers.has(name));
      const s = x === undefined ? undefined : this.scalarOperand(mul, x);
      if (x === undefined || s === undefined) continue;
      const add = this.soleConsumer(mul.output[0]!);
      const b = add?.op_type === 'Add' ? this.scalarOperand(add, mul.output[0]!) : undefined;
      if (b !== undefined) out.push({ mul, add: add!, x, s, b });
    }
    return out;
  }

  private consumers(value: string): Node[] {
    return this.graph.node.filter((node) => node.input.includes(value));
  }

  /** The one node reading `value`, unless the value is also a graph output. */
  private soleConsumer(value: string): Node | undefined {
    if (this.graphOutputs.has(value)) return undefined;
    const readers = this.consumers(value);
    return readers.length === 1 ? readers[0] : undefined;
  }

  /** The value of `node`'s other input when it is a one-element float constant. */
  private scalarOperand(node: Node, variable: string): number | undefined {
    if (node.input.length !== 2 || node.input.filter((i) => i === variable).length !== 1) return undefined;
    return this.scalarValue(node.input[0] === variable ? node.input[1]! : node.input[0]!);
  }

  private scalarValue(name: string): number | undefined {
    const t = this.floats(name);
    return t && t.data.length === 1 ? t.data[0] : undefined;
  }

  private clipsTo(clip: Node, min: number, max: number): boolean {
    const attr = (name: string) => clip.attribute.find((a) => a.name === name)?.f;
    // Opset < 11 has min/max attributes, later opsets constant inputs.
    const lo = clip.input.length > 1 ? this.scalarValue(clip.input[1]!) : attr('min');
    const hi = clip.input.length > 2 ? this.scalarValue(clip.input[2]!) : attr('max');
    return lo === min && hi === max;
  }

  private isPointwise(conv: Node): boolean {
    const ints = (name: string) => conv.attribute.find((a) => a.name === name)?.ints?.map(toNumber);
    const autoPad = conv.attribute.find((a) => a.name === 'auto_pad')?.s as Uint8Array | undefined;
    const padMode = autoPad ? Buffer.from(autoPad).toString('latin1') : 'NOTSET';
    const kernel = ints('kernel_shape') ?? this.floats(conv.input[1]!)?.dims.slice(2);
    return !!kernel && kernel.every((k) => k === 1) && (ints('pads') ?? []).every((p) => p === 0) && (padMode === 'NOTSET' || padMode === 'VALID');
  }

  private inputChannels(conv: Node): number | undefined {
    const weights = this.floats(conv.input[1]!);
    const group = conv.attribute.find((a) => a.name === 'group' && a.type === ATTR_INT)?.i;
    return weights ? weights.dims[1]! * (group === undefined ? 1 : toNumber(group)) : undefined;
  }

  /** A float initializer's values and shape, or undefined for anything else. */
  private floats(name: string): { data: Float32Array; dims: number[] } | undefined {
    const t = this.initializers.get(name);
    if (!t || (t.data_type ?? FLOAT) !== FLOAT) return undefined;
    const dims = (t.dims ?? []).map(toNumber);
    if (t.raw_data && t.raw_data.length > 0) {
      // Copy: raw_data is a view into the model bytes, not necessarily 4-byte aligned.
      const bytes = Uint8Array.from(t.raw_data);
      return { data: new Float32Array(bytes.buffer, 0, bytes.length / 4), dims };
    }
    return { data: Float32Array.from(t.float_data ?? []), dims };
  }

  private addFloats(data: Float32Array, dims: number[]): string {
    const name = this.fresh('tuned');
    const tensor: Tensor = { name, dims, data_type: FLOAT, raw_data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
    this.graph.initializer.push(tensor);
    this.initializers.set(name, tensor);
    return name;
  }

  private fresh(kind: string): string {
    return `opticmem_${kind}_${this.serial++}`;
  }

  private remove(nodes: readonly Node[]): void {
    const gone = new Set(nodes);
    this.graph.node = this.graph.node.filter((node) => !gone.has(node));
  }

  /** Put `replacement` where the first of `nodes` stood (the graph stays topologically sorted). */
  private replace(nodes: readonly Node[], replacement: readonly Node[]): void {
    const at = this.graph.node.indexOf(nodes[0]!);
    this.remove(nodes);
    this.graph.node.splice(at, 0, ...replacement);
  }
}
