// The 12 bytes of 6-bit scales and mins of a Q4_K/Q5_K super-block (ggml's get_scale_min_k4).
// For sub-block j < 4:  sc = s[j] & 63,                            m = s[j+4] & 63
// For sub-block j >= 4: sc = (s[j+4] & 15) | ((s[j-4] >> 6) << 4),   m = (s[j+4] >> 4) | ((s[j] >> 6) << 4)
// i.e. bytes 0-3 hold sc 0-3 plus the top 2 bits of sc 4-7, bytes 4-7 hold m 0-3 plus the top 2 bits of
// m 4-7, bytes 8-11 hold the low nibbles of sc 4-7 (low) and m 4-7 (high).

/** Reads sc[0..8) into out[0..8) and m[0..8) into out[8..16). */
export function unpackScaleMin(s: Uint8Array, o: number, out: Uint8Array): void {
  for (let j = 0; j < 4; j++) {
    out[j] = s[o + j] & 63;
    out[8 + j] = s[o + j + 4] & 63;
    out[4 + j] = (s[o + j + 8] & 15) | ((s[o + j] >> 6) << 4);
    out[12 + j] = (s[o + j + 8] >> 4) | ((s[o + j + 4] >> 6) << 4);
  }
}

/** Writes 8 scales and 8 mins (each 0..63) into s[o .. o+12). */
export function packScaleMin(sc: ArrayLike<number>, m: ArrayLike<number>, s: Uint8Array, o: number): void {
  for (let j = 0; j < 4; j++) {
    s[o + j] = (sc[j] & 63) | ((sc[j + 4] >> 4) << 6);
    s[o + j + 4] = (m[j] & 63) | ((m[j + 4] >> 4) << 6);
    s[o + j + 8] = (sc[j + 4] & 15) | ((m[j + 4] & 15) << 4);
  }
}
