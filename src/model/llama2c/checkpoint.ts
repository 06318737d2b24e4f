import { ModelFormatError } from '../../errors.ts';

/** The 7 x int32 header of a llama2.c checkpoint. */
export interface Llama2cHeader {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number;
  seqLen: number;
  /** A positive vocab size in the file means the classifier shares the embedding. */
  sharedClassifier: boolean;
}

/** The weights of a llama2.c "legacy" (v0) checkpoint, as laid out in the file. */
export interface Llama2cCheckpoint {
  header: Llama2cHeader;
  tokenEmbedding: Float32Array; // [vocab, dim]
  rmsAtt: Float32Array; // [layers, dim]
  wq: Float32Array; // [layers, nHeads*headSize, dim]
  wk: Float32Array; // [layers, nKv*headSize, dim]
  wv: Float32Array; // [layers, nKv*headSize, dim]
  wo: Float32Array; // [layers, dim, nHeads*headSize]
  rmsFfn: Float32Array; // [layers, dim]
  w1: Float32Array; // [layers, hidden, dim]
  w2: Float32Array; // [layers, dim, hidden]
  w3: Float32Array; // [layers, hidden, dim]
  rmsFinal: Float32Array; // [dim]
  classifier: Float32Array | null; // [vocab, dim] when not shared
}

/** Reads a legacy llama2.c checkpoint; every size is checked against the file's length. */
export function parseLlama2cCheckpoint(bytes: Uint8Array, file = 'model.bin'): Llama2cCheckpoint {
  if (bytes.byteLength < 28) throw new ModelFormatError(file, `is ${bytes.byteLength} bytes, shorter than the 28-byte header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const h = Array.from({ length: 7 }, (_, i) => view.getInt32(i * 4, true));
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, rawVocab, seqLen] = h;
  const header: Llama2cHeader = {
    dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize: Math.abs(rawVocab), seqLen, sharedClassifier: rawVocab > 0,
  };
  if ([dim, hiddenDim, nLayers, nHeads, nKvHeads, seqLen, header.vocabSize].some((v) => v <= 0) || dim % nHeads !== 0 || nHeads % nKvHeads !== 0) {
    throw new ModelFormatError(file, `header ${JSON.stringify(h)} does not describe a Llama model`);
  }
  const headSize = dim / nHeads;
  const kvDim = nKvHeads * headSize;
  let offset = 28;
  const take = (count: number, name: string): Float32Array => {
    const end = offset + count * 4;
    if (end > bytes.byteLength) throw new ModelFormatError(file, `ends at byte ${bytes.byteLength}, before the end of ${name} (byte ${end})`, name);
    // Copy: the file's floats need not be 4-byte aligned, and a Node Buffer's slice() is a view.
    const out = new Float32Array(count);
    new Uint8Array(out.buffer).set(bytes.subarray(offset, end));
    offset = end;
    return out;
  };
  const ckpt: Llama2cCheckpoint = {
    header,
    tokenEmbedding: take(header.vocabSize * dim, 'token_embedding'),
    rmsAtt: take(nLayers * dim, 'rms_att'),
    wq: take(nLayers * dim * dim, 'wq'),
    wk: take(nLayers * dim * kvDim, 'wk'),
    wv: take(nLayers * dim * kvDim, 'wv'),
    wo: take(nLayers * dim * dim, 'wo'),
    rmsFfn: take(nLayers * dim, 'rms_ffn'),
    w1: take(nLayers * hiddenDim * dim, 'w1'),
    w2: take(nLayers * dim * hiddenDim, 'w2'),
    w3: take(nLayers * hiddenDim * dim, 'w3'),
    rmsFinal: take(dim, 'rms_final'),
    classifier: null,
  };
  // Legacy checkpoints store RoPE tables (freq_cis_real, freq_cis_imag) that we recompute.
  take((seqLen * headSize) / 2, 'freq_cis_real');
  take((seqLen * headSize) / 2, 'freq_cis_imag');
  if (!header.sharedClassifier) ckpt.classifier = take(header.vocabSize * dim, 'wcls');
  return ckpt;
}
