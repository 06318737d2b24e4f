/** llama.cpp's names for the tensors outside the blocks, and the Hugging Face names Folio uses. */
const GLOBAL: Readonly<Record<string, string>> = {
  'token_embd.weight': 'model.embed_tokens.weight',
  'output_norm.weight': 'model.norm.weight',
  'output.weight': 'lm_head.weight',
};

/** llama.cpp's names inside block N (`blk.N.`), and the Hugging Face names inside layer N. */
const IN_BLOCK: Readonly<Record<string, string>> = {
  'attn_norm.weight': 'input_layernorm.weight',
  'attn_q.weight': 'self_attn.q_proj.weight',
  'attn_k.weight': 'self_attn.k_proj.weight',
  'attn_v.weight': 'self_attn.v_proj.weight',
  'attn_q.bias': 'self_attn.q_proj.bias',
  'attn_k.bias': 'self_attn.k_proj.bias',
  'attn_v.bias': 'self_attn.v_proj.bias',
  'attn_output.weight': 'self_attn.o_proj.weight',
  'ffn_norm.weight': 'post_attention_layernorm.weight',
  'ffn_gate.weight': 'mlp.gate_proj.weight',
  'ffn_up.weight': 'mlp.up_proj.weight',
  'ffn_down.weight': 'mlp.down_proj.weight',
};

/** The Hugging Face name of a GGUF tensor, or null for a name Folio does not know. */
export function huggingFaceName(gguf: string): string | null {
  if (Object.hasOwn(GLOBAL, gguf)) return GLOBAL[gguf];
  const m = /^blk\.(0|[1-9]\d*)\.(.+)$/.exec(gguf);
  if (!m || !Object.hasOwn(IN_BLOCK, m[2])) return null;
  return `model.layers.${m[1]}.${IN_BLOCK[m[2]]}`;
}

/** The GGUF name of a Hugging Face tensor name that huggingFaceName produces, for messages. */
export function ggufName(hf: string): string {
  for (const [g, h] of Object.entries(GLOBAL)) if (h === hf) return g;
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(hf);
  const inBlock = m && Object.entries(IN_BLOCK).find(([, h]) => h === m[2]);
  return m && inBlock ? `blk.${m[1]}.${inBlock[0]}` : hf;
}
