/** WGSL kernels are imported as text through Vite's `?raw` suffix (vitest resolves it too). */
declare module '*.wgsl?raw' {
  const source: string;
  export default source;
}
