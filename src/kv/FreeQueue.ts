import type { BlockId } from './BlockTable.ts';

/**
 * The free blocks, in the order they should be reused: the front goes first.
 * A doubly linked list over typed arrays, because a prefix hit revives a block from the
 * middle of the queue and that must be O(1), as must taking the front.
 */
export class FreeQueue {
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  private readonly queued: Uint8Array;
  /** Index `capacity` is the sentinel: next[sentinel] is the front, prev[sentinel] the back. */
  private readonly sentinel: number;
  private count = 0;

  constructor(readonly capacity: number) {
    this.next = new Int32Array(capacity + 1);
    this.prev = new Int32Array(capacity + 1);
    this.queued = new Uint8Array(capacity);
    this.sentinel = capacity;
    this.next[capacity] = capacity;
    this.prev[capacity] = capacity;
  }

  get size(): number {
    return this.count;
  }

  has(block: BlockId): boolean {
    return this.queued[block] === 1;
  }

  pushBack(block: BlockId): void {
    this.insertAfter(this.prev[this.sentinel], block);
  }

  pushFront(block: BlockId): void {
    this.insertAfter(this.sentinel, block);
  }

  /** The front block, or undefined when the queue is empty; it stays queued. */
  peekFront(): BlockId | undefined {
    return this.count === 0 ? undefined : this.next[this.sentinel];
  }

  remove(block: BlockId): void {
    if (!this.has(block)) throw new Error(`block ${block} is not in the free queue`);
    const p = this.prev[block];
    const n = this.next[block];
    this.next[p] = n;
    this.prev[n] = p;
    this.queued[block] = 0;
    this.count--;
  }

  /** Front to back: the order in which blocks would be reused. */
  *[Symbol.iterator](): IterableIterator<BlockId> {
    for (let b = this.next[this.sentinel]; b !== this.sentinel; b = this.next[b]) yield b;
  }

  private insertAfter(at: number, block: BlockId): void {
    if (this.has(block)) throw new Error(`block ${block} is already in the free queue`);
    const n = this.next[at];
    this.next[at] = block;
    this.prev[block] = at;
    this.next[block] = n;
    this.prev[n] = block;
    this.queued[block] = 1;
    this.count++;
  }
}
