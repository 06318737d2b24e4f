/**
 * Whether `bytes` are an HTML page: what a static host with a single-page-app fallback sends,
 * with status 200, for a file it does not have. Neither JSON nor safetensors can begin so (a
 * safetensors file starting "<!doctype" would announce a header of exabytes), so the test is exact
 * for the files a model has.
 */
export function isHtmlPage(bytes: Uint8Array): boolean {
  const head = new TextDecoder().decode(bytes.subarray(0, 512)).replace(/^\uFEFF/, '').trimStart().toLowerCase();
  return /^<(!doctype html|html|head|body|!--|script|meta|title)[\s>]/.test(head);
}
