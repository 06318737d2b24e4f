// Vite's `?worker&inline` import: a Worker constructor whose script is inlined as a blob URL.
declare module '*?worker&inline' {
  const WorkerConstructor: new (options?: { name?: string }) => Worker;
  export default WorkerConstructor;
}
