import { InvalidArgumentError } from 'commander';

/** Commander parser for an option that must be a whole number ≥ 1 (`--workers`, `--horizon-hours`). */
export function parsePositiveWholeNumber(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1) throw new InvalidArgumentError('must be a whole number ≥ 1');
  return n;
}
