/**
 * 32-bit MurmurHash3-style hash (x86_32 mixing) over the UTF-16 code units of a string: two code
 * units per 32-bit block. Stable across processes and platforms, fast enough to run per pick.
 */
export function hash32(text: string, seed = 0): number {
  let h = seed >>> 0;
  const length = text.length;
  let i = 0;
  for (; i + 1 < length; i += 2) {
    h ^= scramble(text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16));
    h = rotl(h, 13);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if (i < length) h ^= scramble(text.charCodeAt(i));
  h ^= length * 2;
  return fmix32(h);
}

function scramble(k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = rotl(k, 15);
  return Math.imul(k, 0x1b873593);
}

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
