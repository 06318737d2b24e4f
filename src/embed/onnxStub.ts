/**
 * Stands in for `onnxruntime-web` in browser builds. Folio imports only the tokenizers of
 * @xenova/transformers, whose `env` module reads `ONNX.env` at load time and nothing more;
 * without this stub the bundle would carry megabytes of ONNX runtime it never runs.
 */
export const env: Record<string, unknown> = {};
export default { env };
