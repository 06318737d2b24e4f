import { it } from 'vitest';
import { dawnDevice } from '../../src/gpu/dawn.ts';
import gemvSrc from '../../wgsl/matmul_gemv.wgsl?raw';
import gemvWgSrc from '../../wgsl/matmul_gemv_wg.wgsl?raw';
import { withFormat } from '../../src/gpu/formatKernels.ts';
import { gemvGrid, gemvParamsBuffer, planGemv } from '../../src/gpu/gemv.ts';
import { matmulPipeline } from '../../src/gpu/kernels.ts';
import { bindBuffers } from '../../src/gpu/bindGroups.ts';
import { empty, rowsUniform, upload } from './harness.ts';
import { prng, randomArray } from './randomModel.ts';

async function time(device: GPUDevice, p: GPUComputePipeline, g: GPUBindGroup, grid: number[], reps = 5): Promise<number> {
  let best = Infinity;
  for (let r = 0; r < 6; r++) {
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(p); pass.setBindGroup(0, g);
    for (let i = 0; i < reps; i++) pass.dispatchWorkgroups(grid[0], grid[1] ?? 1, grid[2] ?? 1);
    pass.end();
    const c0 = process.cpuUsage();
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
    const c = process.cpuUsage(c0);
    best = Math.min(best, (c.user + c.system) / 1000 / reps);
  }
  return best;
}

const V: Record<string, (s: string) => string> = {
  base: (s) => s,
  vec4w: (s) => s.replace(/weights\[([^\]]+)\]/g, 'wword($1)')
    .replace('@binding(2) var<storage, read> weights: array<u32>;', '@binding(2) var<storage, read> weights: array<vec4<u32>>;\nfn wword(i: u32) -> u32 { return weights[i >> 2u][i & 3u]; }')
    .replace(/fn dequant_unit\(row_byte: u32, u: u32\) -> array<vec4<f32>, UNIT_VEC4> \{[^}]*\}/, 'fn dequant_unit(row_byte: u32, u: u32) -> array<vec4<f32>, UNIT_VEC4> { return array<vec4<f32>, UNIT_VEC4>(bitcast<vec4<f32>>(weights[(row_byte >> 4u) + u])); }')
    .replace(/let a(\d) = x_cpu\(([a-z0-9]+), kx, k4, &ss\d\);/g, 'let a$1 = x[$2 * k4 + kx];'),
  noWg: (s) => {
    const a = s.indexOf('@compute @workgroup_size(64)');
    const b = s.indexOf('// x row m at vec4 kx');
    const main = `@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let wgi = wg.y * nwg.x + wg.x;
  if (!gemv_active(wgi)) { return; }
  let ps = wg.z;
  let mc = min(MAX_M, dims.rows - ps * MAX_M);
  gemv_cpu(wgi, lid, ps, mc);
}
`;
    return (s.slice(0, a) + main + s.slice(b)).replace('var<workgroup> partials: array<f32, PARTIAL_SLOTS>;', '');
  },
  noArr: (s) => s.replace(/let w(\d) = dequant_unit\(([^;]+), u\);/g, 'let w$1 = dq($2, u);').replace(/let b(\d) = w\d\[j\];/g, 'let b$1 = w$1;')
    + '\nfn dq(row_byte: u32, u: u32) -> vec4<f32> { let w = (row_byte >> 2u) + 4u * u; return bitcast<vec4<f32>>(vec4<u32>(weights[w], weights[w + 1u], weights[w + 2u], weights[w + 3u])); }\n',
  directX: (s) => s.replace(/let a(\d) = x_cpu\(([a-z0-9]+), kx, k4, &ss\d\);/g, 'let a$1 = x[$2 * k4 + kx];'),
};

const MM = (kConst: boolean, vecW: boolean, dq = 0) => (s: string) => {
  const a = s.indexOf('@compute @workgroup_size(64)');
  const K4 = kConst ? '144u' : '(params.k / 4u)';
  const wd = vecW ? 'var<storage, read> wv: array<vec4<f32>>;' : '';
  const load = (i: number) => dq === 1 ? `dequant_unit(w${i} * 16u, k)[0]` : dq === 2 ? `x_at(0u, 0u, 0u) * 0.0 + bitcast<vec4<f32>>(vec4<u32>(weights[4u * (w${i} + k)], weights[4u * (w${i} + k) + 1u], weights[4u * (w${i} + k) + 2u], weights[4u * (w${i} + k) + 3u]))` : vecW ? `norm_w[w${i} + k]` : `bitcast<vec4<f32>>(vec4<u32>(weights[4u * (w${i} + k)], weights[4u * (w${i} + k) + 1u], weights[4u * (w${i} + k) + 2u], weights[4u * (w${i} + k) + 3u]))`;
  const main = `
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let N = params.n;
  let K4 = ${K4};
  let n0 = (wg.x * 64u + lid) * 4u;
  if (n0 >= N) { return; }
  let last = dims.rows - 1u;
  let m0 = wg.z * 4u;
  let x0 = min(m0, last) * K4;
  let x1 = min(m0 + 1u, last) * K4;
  let x2 = min(m0 + 2u, last) * K4;
  let x3 = min(m0 + 3u, last) * K4;
  let w0 = n0 * K4;
  let w1 = min(n0 + 1u, N - 1u) * K4;
  let w2 = min(n0 + 2u, N - 1u) * K4;
  let w3 = min(n0 + 3u, N - 1u) * K4;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k = 0u; k < K4; k++) {
    let b0 = ${load(0)};
    let b1 = ${load(1)};
    let b2 = ${load(2)};
    let b3 = ${load(3)};
    let a0 = x[x0 + k];
    let a1 = x[x1 + k];
    let a2 = x[x2 + k];
    let a3 = x[x3 + k];
    acc0 += vec4<f32>(dot(a0, b0), dot(a0, b1), dot(a0, b2), dot(a0, b3));
    acc1 += vec4<f32>(dot(a1, b0), dot(a1, b1), dot(a1, b2), dot(a1, b3));
    acc2 += vec4<f32>(dot(a2, b0), dot(a2, b1), dot(a2, b2), dot(a2, b3));
    acc3 += vec4<f32>(dot(a3, b0), dot(a3, b1), dot(a3, b2), dot(a3, b3));
  }
  for (var c = 0u; c < 4u; c++) {
    if (n0 + c < N) {
      out[m0 * N + n0 + c] = acc0[c];
      if (m0 + 1u <= last) { out[(m0 + 1u) * N + n0 + c] = acc1[c]; }
      if (m0 + 2u <= last) { out[(m0 + 2u) * N + n0 + c] = acc2[c]; }
      if (m0 + 3u <= last) { out[(m0 + 3u) * N + n0 + c] = acc3[c]; }
    }
  }
}
`;
  const head = s.slice(0, a).replace('var<workgroup> partials: array<f32, PARTIAL_SLOTS>;', '') ;
  return head + main + wd.slice(0, 0);
};
const noStore = (s: string) => s.replace(/gemv_store\(t, ([^,]+), (acc\d\[r\]), ss\d\);/g, 'out[t.n0 * 4u + $1] = $2;');
const noJ = (s: string) => s.replace(/for \(var j = 0u; j < UNIT_VEC4; j\+\+\) \{\n      let kx = u \* UNIT_VEC4 \+ j;/, '{ let j = 0u; let kx = u;');
const noPtr = (s: string) => s.replace(/let a(\d) = x_cpu\(([a-z0-9]+), kx, k4, &ss\d\);/g, 'let a$1 = x[$2 * k4 + kx];');
const minMain = (s: string) => {
  const a = s.indexOf('@compute @workgroup_size(64)');
  const b = s.indexOf('// Rows of x per pass');
  const main = `@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let wgi = wg.y * nwg.x + wg.x;
  gemv_cpu(wgi, lid, wg.z);
}
`;
  return (s.slice(0, a) + main + s.slice(b)).replace('var<workgroup> partials: array<f32, PARTIAL_SLOTS>;', '');
};
const noDq = (s: string) => s.replace(/let w(\d) = dequant_unit\((r\d), u\);/g, 'let w$1 = array<vec4<f32>, 1>(bitcast<vec4<f32>>(vec4<u32>(weights[($2 >> 2u) + 4u * u], weights[($2 >> 2u) + 4u * u + 1u], weights[($2 >> 2u) + 4u * u + 2u], weights[($2 >> 2u) + 4u * u + 3u])));');
const unrollR = (s: string) => s.replace('for (var r = 0u; r < ROWS; r++) {\n    gemv_store', 'for (var r = 0u; r < 4u; r++) {\n    if (r >= ROWS) { break; }\n    gemv_store');
const explicitR = (s: string) => s.replace(/  for \(var r = 0u; r < ROWS; r\+\+\) \{\n    gemv_store[\s\S]*?\n  \}\n\}/, `  let v = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  let q = array<f32, 4>(ss0, ss1, ss2, ss3);
  for (var i = 0u; i < ROWS * mc; i++) { gemv_store(t, i, v[i % mc][i / mc], q[i % mc]); }
}`);
const noStore2 = (s: string) => s.replace(/gemv_store\(t, ([^,]+), (acc\d\[r\]), ss\d\);/g, 'out[t.n0 * 4u + $1] = $2;');
const noJ2 = (s: string) => s.replace(/for \(var j = 0u; j < UNIT_VEC4; j\+\+\) \{\n      let kx = u \* UNIT_VEC4 \+ j;/, '{ let j = 0u; let kx = u;');
const noPtr2 = (s: string) => s.replace(/let a(\d) = x_cpu\(([a-z0-9]+), kx, k4, &ss\d\);/g, 'let a$1 = x[$2 * k4 + kx];');
const inl = (s: string) => {
  const f = s.indexOf('fn gemv_cpu(wgi: u32, lid: u32, ps: u32) {');
  const body = s.slice(f + 'fn gemv_cpu(wgi: u32, lid: u32, ps: u32) {'.length, s.lastIndexOf('}'));
  const a = s.indexOf('@compute @workgroup_size(64)');
  const b = s.indexOf('// Rows of x per pass');
  const main = `@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let wgi = wg.y * nwg.x + wg.x;
  let ps = wg.z;
  ${body}
}
`;
  return (s.slice(0, a) + s.slice(b, f) + main).replace('var<workgroup> partials: array<f32, PARTIAL_SLOTS>;', '');
};
const stA = (s: string) => s.replace(/  var t: Tile;\n  t.n0 = n0;[\s\S]*?if \(mc > 3u\) \{ gemv_store\(t, r \* mc \+ 3u, acc3\[r\], 0.0\); \}\n  \}/, `  for (var c = 0u; c < 4u; c++) {
    if (n0 + c < n) {
      out[m0 * n + n0 + c] = acc0[c];
      if (mc > 1u) { out[(m0 + 1u) * n + n0 + c] = acc1[c]; }
      if (mc > 2u) { out[(m0 + 2u) * n + n0 + c] = acc2[c]; }
      if (mc > 3u) { out[(m0 + 3u) * n + n0 + c] = acc3[c]; }
    }
  }`);
const stB = (s: string) => s.replace(/\(dims\.first \+ ([^)]*\)?)\)/g, '($1)');
const stC = (s: string) => s.replace(/for \(var j = 0u; j < UNIT_VEC4; j\+\+\) \{\n      let k = u \* UNIT_VEC4 \+ j;/, '{ let j = 0u; let k = u;');
const stD = (s: string) => s.replace('let k = u * UNIT_VEC4 + j;\n      let b0 = d0[j];\n      let b1 = d1[j];\n      let b2 = d2[j];\n      let b3 = d3[j];', 'let jj = select(j, 0u, UNIT_VEC4 == 1u);\n      let k = u * UNIT_VEC4 + jj;\n      let b0 = d0[jj];\n      let b1 = d1[jj];\n      let b2 = d2[jj];\n      let b3 = d3[jj];');
const variants: Record<string, (s: string) => string> = { base: V.base, mmU32: MM(false, false) };
const unused = { every: (s) => minMain(noStore2(noJ2(noPtr2(s)))), noSS: (s) => noPtr2(s).replace(/var ss\d = 0.0;/g, '').replace(/ss\d\);/g, '0.0);'), mmU32: MM(false, false) };
it('gemv vs matmul', async () => {
  const device = await dawnDevice();
  const K = 576, N = 3072;
  const rand = prng(1);
  const w = upload(device, randomArray(rand, K * N));
  const x = upload(device, randomArray(rand, 16 * K));
  const y = empty(device, 16 * N);
  const noBias = empty(device, N);
  const plan = planGemv('F32', K, N, true);
  const params = gemvParamsBuffer(device, { k: K, n: N, yStride: N, yOffset: 0, split: 1, accumulate: false });
  const mm = matmulPipeline(device, { k: K, n: N, accumulate: false, bias: false });
  const pipes = Object.entries(variants).map(([name, f]) => {
    const code = f(withFormat('F32', `${gemvSrc}\n${gemvWgSrc}`));
    const module = device.createShaderModule({ code });
    const types: GPUBufferBindingType[] = ['uniform', 'uniform', 'read-only-storage', 'read-only-storage', 'storage', 'read-only-storage'];
    const bgl = device.createBindGroupLayout({ entries: types.map((type, binding) => ({ binding, visibility: GPUShaderStage.COMPUTE, buffer: { type } })) });
    return [name, device.createComputePipeline({ layout: device.createPipelineLayout({ bindGroupLayouts: [bgl] }), compute: { module, entryPoint: 'main', constants: { ROWS: 4, LANES: 1, PARTIAL_SLOTS: 1 } } })] as const;
  });
  for (let rep = 0; rep < 2; rep++) for (const M of [1, 16]) {
    const dims = rowsUniform(device, M);
    const out = [`M ${M} matmul ${(await time(device, mm, bindBuffers(device, mm, [dims, x, w, noBias, y]), [Math.ceil(N / 256), Math.ceil(M / 4)])).toFixed(2)}`];
    for (const [name, p] of pipes) {
      const g = device.createBindGroup({ layout: p.getBindGroupLayout(0), entries: [dims, params, w, x, y, noBias].map((buffer, binding) => ({ binding, resource: { buffer } })) });
      const gg = name.startsWith('mm') ? device.createBindGroup({ layout: p.getBindGroupLayout(0), entries: [dims, params, w, x, y, w].map((buffer, binding) => ({ binding, resource: { buffer } })) }) : g;
      const grid = [Math.ceil(N / 256), 1, Math.ceil(M / 4)];
      out.push(`${name} ${(await time(device, p, gg, grid)).toFixed(2)}`);
    }
    console.log(out.join(' '));
  }
});
