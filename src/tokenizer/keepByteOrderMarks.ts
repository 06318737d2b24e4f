/**
 * transformers.js's ByteFallback decoder turns byte tokens into text with `new TextDecoder()`,
 * which silently drops a U+FEFF at the start of each run of byte tokens; Hugging Face's Rust
 * decoder and llama2.c keep it. This swaps in a decoder that keeps it (`ignoreBOM: true`), so
 * decode(encode(s)) gives back s. It walks the decoder objects structurally because
 * transformers.js does not export their classes.
 */
export function keepByteOrderMarks(tokenizer: object): void {
  const visit = (decoder: unknown): void => {
    // transformers.js's decoders are callable: functions carrying their fields
    if ((typeof decoder !== 'object' && typeof decoder !== 'function') || decoder === null) return;
    const d = decoder as { config?: { type?: unknown }; decoders?: unknown; text_decoder?: unknown };
    if (d.config?.type === 'ByteFallback' && d.text_decoder instanceof TextDecoder) {
      d.text_decoder = new TextDecoder('utf-8', { ignoreBOM: true });
    }
    if (Array.isArray(d.decoders)) d.decoders.forEach(visit);
  };
  visit((tokenizer as { decoder?: unknown }).decoder);
}
