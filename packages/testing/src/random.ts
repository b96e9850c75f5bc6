import { randomInt } from 'node:crypto';

/** The alphabet Kubernetes uses for generateName suffixes (no vowels, no confusable characters). */
const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** A deterministic PRNG (mulberry32) returning floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random source: seeded when a seed is given, crypto-random otherwise. */
export function randomSource(seed?: number): () => number {
  return seed === undefined ? () => randomInt(0, 2 ** 32) / 2 ** 32 : seededRandom(seed);
}

/** A `generateName`-style suffix of `length` characters. */
export function nameSuffix(length = 5, random: () => number = randomSource()): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[Math.floor(random() * ALPHABET.length)];
  return out;
}

/** A random RFC 4122 version 4 UUID from the given random source. */
export function uuidFrom(random: () => number): string {
  const bytes: number[] = [];
  for (let i = 0; i < 16; i++) bytes.push(Math.floor(random() * 256));
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
