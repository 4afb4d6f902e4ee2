/**
 * Broadcast bias add: `out[i, j] = x[i, j] + b[j]` for `x` [B, n], `b` [n].
 *
 * Bindings: `x` (left out when `out` is `x`), `b`, `out`, uniforms `{ units, cols }` in
 * `vec4` units when `n` is a multiple of 4 (and the buffers allow), else in f32s.
 * Workgroup size 256, one unit per invocation.
 *
 * @module
 */
import type { Gpu, Program, Tensor } from "@saelab/gpu";
import { canVec4, type MapVariant } from "./_map.ts";
import { checkTensor, dispatchLinear, fmtShape, GRID_ARGS, LINEAR_ID, outTensor, Uniforms } from "./_util.ts";

const WG = 256;

function program(variant: MapVariant, inPlace: boolean): Program {
  const bindings = inPlace ? ["b", "y"] : ["x", "b", "y"];
  return {
    name: "add_bias",
    key: `${variant}|${inPlace ? "in_place" : "out"}|wg${WG}`,
    code: () => `
alias T = ${variant === "vec4" ? "vec4<f32>" : "f32"};
${
      bindings.map((n, i) =>
        `@group(0) @binding(${i}) var<storage, ${n === "y" ? "read_write" : "read"}> ${n}: array<T>;`
      ).join("\n")
    }
struct U { units: u32, cols: u32 }
@group(0) @binding(${bindings.length}) var<uniform> u: U;
@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let i = ${LINEAR_ID(WG)};
  if (i >= u.units) { return; }
  y[i] = ${inPlace ? "y" : "x"}[i] + b[i % u.cols];
}`,
  };
}

/**
 * Add a bias row to every row of a matrix.
 *
 * @param gpu The GPU context.
 * @param x Matrix [B, n].
 * @param b Bias [n].
 * @param options `out` [B, n] (may be `x` for an in-place add).
 * @returns `x + b` broadcast over rows, [B, n].
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { addBias } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const x = gpu.upload(new Float32Array([1, 2, 3, 4]), [2, 2]);
 * const b = gpu.upload(new Float32Array([10, 20]), [2]);
 * console.log(await addBias(gpu, x, b).read()); // [11, 22, 13, 24]
 * ```
 */
export function addBias(
  gpu: Gpu,
  x: Tensor<"f32">,
  b: Tensor<"f32">,
  options: { out?: Tensor<"f32"> } = {},
): Tensor<"f32"> {
  checkTensor(gpu, "addBias", "x", x, { rank: 2 });
  checkTensor(gpu, "addBias", "b", b, { rank: 1 });
  const [rows, cols] = x.shape;
  if (b.shape[0] !== cols) {
    throw new RangeError(
      `Cannot run addBias: bias ${fmtShape(b.shape)} does not match the ${cols} columns of x ${fmtShape(x.shape)}`,
    );
  }
  const y = outTensor(gpu, "addBias", options.out, x.shape);
  if (y.buffer === b.buffer) throw new RangeError("Cannot run addBias: out must not be the bias");
  if (x.size === 0) return y;
  const inPlace = y.buffer === x.buffer;
  const variant = cols % 4 === 0 && canVec4([x, b, y], x.size) ? "vec4" : "scalar";
  const width = variant === "vec4" ? 4 : 1;
  const units = (rows * cols) / width;
  dispatchLinear(gpu, program(variant, inPlace), {
    bindings: inPlace ? [b, y] : [x, b, y],
    uniforms: new Uniforms().u32(units).u32(cols / width),
    count: units,
    wg: WG,
  });
  return y;
}
