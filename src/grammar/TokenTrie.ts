/**
 * A vocabulary's tokens as a byte trie, built once per vocabulary: a step's mask walks it once,
 * sharing the matcher's work among tokens with a common prefix and skipping a whole subtree as
 * soon as its prefix is refused. Nodes in depth-first order: a subtree is a contiguous range, so
 * a refused prefix skips to `end[node]`.
 */
export class TokenTrie {
  /** Per node (0 is the root, no byte): its byte, the node after its subtree, the first of its tokens. */
  readonly byte: Uint8Array;
  readonly end: Int32Array;
  readonly depth: Uint16Array;
  /** The longest token's length in bytes. */
  readonly maxDepth: number;
  /** Tokens ending at node n: tokens[tokenStart[n] .. tokenStart[n + 1]). */
  readonly tokenStart: Int32Array;
  readonly tokens: Int32Array;

  /** `bytes[id]` null: the token is never allowed by a grammar (special, or no bytes). */
  constructor(
    /** Each token's bytes, as given. */
    readonly bytes: readonly (Uint8Array | null)[],
    readonly vocabSize: number,
    readonly eosIds: readonly number[],
  ) {
    const ids = bytes.map((_, i) => i).filter((i) => bytes[i] && bytes[i]!.length > 0);
    ids.sort((x, y) => compare(bytes[x]!, bytes[y]!));
    // Sorted tokens: a node per distinct prefix, in depth-first order.
    const byte: number[] = [0];
    const depth: number[] = [0];
    const tokenOf: number[][] = [[]];
    const path: number[] = [0]; // node at each depth along the current prefix
    let prev: Uint8Array = new Uint8Array(0);
    for (const id of ids) {
      const b = bytes[id]!;
      let common = 0;
      while (common < prev.length && common < b.length && prev[common] === b[common]) common++;
      path.length = common + 1;
      for (let d = common; d < b.length; d++) {
        path.push(byte.push(b[d]) - 1);
        depth.push(d + 1);
        tokenOf.push([]);
      }
      tokenOf[path[b.length]].push(id);
      prev = b;
    }
    const n = byte.length;
    this.byte = Uint8Array.from(byte);
    this.depth = Uint16Array.from(depth);
    this.maxDepth = depth.reduce((m, d) => Math.max(m, d), 0);
    this.end = new Int32Array(n);
    const open: number[] = [];
    for (let i = 0; i < n; i++) {
      while (open.length > 0 && depth[open[open.length - 1]] >= depth[i]) this.end[open.pop()!] = i;
      open.push(i);
    }
    for (const i of open) this.end[i] = n;
    this.tokenStart = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) this.tokenStart[i + 1] = this.tokenStart[i] + tokenOf[i].length;
    this.tokens = Int32Array.from(tokenOf.flat());
  }

  get nodes(): number {
    return this.byte.length;
  }
}

function compare(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}
