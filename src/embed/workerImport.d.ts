// The engine worker's bundled source, as one string (a plugin in vite.embed.config.ts builds it).
declare module 'virtual:folio-engine-worker-source' {
  const source: string;
  export default source;
}
