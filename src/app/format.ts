/** "1 token", "2 tokens". */
export const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** 512 bytes, 12.3 KB, 1.0 MB, 1.20 GB. */
export function formatBytes(n: number): string {
  if (n < 1024) return plural(n, 'byte');
  if (n < 2 ** 20) return `${(n / 1024).toFixed(n < 10 * 1024 ? 1 : 0)} KB`;
  if (n < 2 ** 30) return `${(n / 2 ** 20).toFixed(1)} MB`;
  return `${(n / 2 ** 30).toFixed(2)} GB`;
}
