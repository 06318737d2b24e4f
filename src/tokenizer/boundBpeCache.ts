/** How many characters of cached words a tokenizer may keep before it starts over. */
const CACHE_BUDGET_CHARS = 1 << 20;

/**
 * transformers.js's BPE model memoises every "word" it has split, forever. With a
 * sentencepiece-style tokenizer (no pre-tokenizer) the word is the whole text, so a long-lived
 * worker would keep every prompt it ever saw. This replaces that cache with one that empties
 * itself once its keys pass a character budget: common words stay cached, memory stays bounded.
 */
export function boundBpeCache(tokenizer: object): void {
  const model = (tokenizer as { model?: { cache?: unknown } }).model;
  if (model && model.cache instanceof Map) model.cache = new BoundedCache(CACHE_BUDGET_CHARS);
}

class BoundedCache<V> extends Map<string, V> {
  private chars = 0;

  constructor(private readonly budget: number) {
    super();
  }

  override set(key: string, value: V): this {
    if (this.chars + key.length > this.budget) {
      this.clear();
      this.chars = 0;
    }
    // a text longer than the whole budget is not worth keeping
    if (key.length > this.budget) return this;
    this.chars += key.length;
    return super.set(key, value);
  }
}
