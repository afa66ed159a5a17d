/** What a command printed and how it exited, captured through the io a command factory takes. */
export interface CapturedIo {
  readonly io: {
    now: () => Date;
    out: (line: string) => void;
    err: (line: string) => void;
    exit: (code: number) => void;
  };
  readonly out: string[];
  readonly err: string[];
  /** The exit code the command set, if any. */
  code(): number | undefined;
}

/** An io for a command factory (`leaseCommand`, `rebuildCommand`) that records instead of printing, at `now`. */
export function captureIo(now: Date): CapturedIo {
  const out: string[] = [];
  const err: string[] = [];
  let code: number | undefined;
  return {
    io: {
      now: () => now,
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      exit: (c) => {
        code = c;
      },
    },
    out,
    err,
    code: () => code,
  };
}
