import { TokenizerError } from '../../errors.ts';

/** One vocabulary entry of a llama2.c tokenizer.bin, in id order. */
export interface TokenizerBinPiece {
  /** The piece as llama2.c stores it: U+2581 written as a plain space, specials as '\n<s>\n'. */
  text: string;
  /** Merge priority: higher merges first. */
  score: number;
}

export interface TokenizerBin {
  /** The longest piece in bytes, as the header declares it. */
  maxTokenLength: number;
  pieces: TokenizerBinPiece[];
}

/**
 * Parses llama2.c's tokenizer.bin: int32 max_token_length, then per token a float32 score,
 * an int32 byte length and that many UTF-8 bytes, little-endian, to the end of the file.
 * The file carries no token count, so every byte must belong to a whole entry.
 */
export function parseTokenizerBin(bytes: Uint8Array): TokenizerBin {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // fatal: a piece that is not UTF-8 means the file is not a tokenizer.bin (or is corrupt)
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  if (bytes.byteLength < 4) throw new TokenizerError(`tokenizer.bin: ${bytes.byteLength} bytes, too short for the header`);
  const maxTokenLength = view.getInt32(0, true);
  if (maxTokenLength <= 0) throw new TokenizerError(`tokenizer.bin: max_token_length ${maxTokenLength} is not positive`);

  const pieces: TokenizerBinPiece[] = [];
  let at = 4;
  while (at < bytes.byteLength) {
    const id = pieces.length;
    if (at + 8 > bytes.byteLength) throw new TokenizerError(`tokenizer.bin: truncated in the header of token ${id} at byte ${at}`);
    const score = view.getFloat32(at, true);
    const length = view.getInt32(at + 4, true);
    at += 8;
    if (!Number.isFinite(score)) throw new TokenizerError(`tokenizer.bin: token ${id} has score ${score}`);
    if (length < 0 || length > maxTokenLength) {
      throw new TokenizerError(`tokenizer.bin: token ${id} claims ${length} bytes; max_token_length is ${maxTokenLength}`);
    }
    if (at + length > bytes.byteLength) throw new TokenizerError(`tokenizer.bin: truncated in the bytes of token ${id}`);
    let text: string;
    try {
      text = utf8.decode(bytes.subarray(at, at + length));
    } catch {
      throw new TokenizerError(`tokenizer.bin: token ${id} is not valid UTF-8`);
    }
    pieces.push({ text, score });
    at += length;
  }
  if (pieces.length === 0) throw new TokenizerError('tokenizer.bin: no tokens after the header');
  return { maxTokenLength, pieces };
}
