/** A seeded pseudo-random source; the same seed always yields the same sequence. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** Picks by relative weight. */
  weighted<T>(items: readonly (readonly [T, number])[]): T;
  /** `n` lowercase hex digits. */
  hex(n: number): string;
  /** `n` decimal digits (leading zeros allowed). */
  digits(n: number): string;
  /** Poisson-like count around `mean` (normal approximation for large means). */
  count(mean: number): number;
  /** A random-looking UUID v4 string. */
  uuid(): string;
}

// splitmix32 spreads a small integer seed over the 128-bit sfc32 state.
function splitmix32(a: number): () => number {
  return () => {
    a = (a + 0x9e3779b9) | 0;
    let t = a ^ (a >>> 16);
    t = Math.imul(t, 0x21f0aaad);
    t ^= t >>> 15;
    t = Math.imul(t, 0x735a2d97);
    return (t ^ (t >>> 15)) >>> 0;
  };
}

/** sfc32 seeded through splitmix32: fast, good enough statistics, fully deterministic. */
export function createRng(seed: number): Rng {
  const mix = splitmix32(seed >>> 0);
  let a = mix();
  let b = mix();
  let c = mix();
  let d = mix();
  const nextU32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) nextU32();
  const next = () => nextU32() / 4294967296;
  const rng: Rng = {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    chance: (p) => next() < p,
    pick: (items) => items[Math.floor(next() * items.length)]!,
    weighted: (items) => {
      let total = 0;
      for (const [, w] of items) total += w;
      let r = next() * total;
      for (const [v, w] of items) {
        r -= w;
        if (r < 0) return v;
      }
      return items[items.length - 1]![0];
    },
    hex: (n) => {
      let s = '';
      while (s.length < n) s += nextU32().toString(16).padStart(8, '0');
      return s.slice(0, n);
    },
    digits: (n) => {
      let s = '';
      while (s.length < n) s += String(nextU32() % 1_000_000_000).padStart(9, '0');
      return s.slice(0, n);
    },
    count: (mean) => {
      if (mean <= 0) return 0;
      if (mean < 30) {
        // Knuth: exact Poisson for small means.
        const l = Math.exp(-mean);
        let k = 0;
        let p = 1;
        do {
          k++;
          p *= next();
        } while (p > l);
        return k - 1;
      }
      const u = Math.max(next(), 1e-12);
      const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
      return Math.max(0, Math.round(mean + z * Math.sqrt(mean)));
    },
    uuid: () => {
      const h = rng.hex(32);
      const variant = ((Number.parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
    },
  };
  return rng;
}
