/**
 * Progress on stderr, never stdout: a redrawn line on a TTY (bytes, rate, ETA, in flight), or
 * with `--progress plain` a line every 10 s for logs. Off with --quiet or --progress none.
 */
import { humanSize } from "../format/size.ts";
import { writeText } from "./log.ts";

/** `--progress`: a line redrawn on a TTY (auto, rich), a line every 10 s (plain), or none. */
export type ProgressMode = "auto" | "rich" | "plain" | "none";

/** A transfer's progress on stderr: bytes, rate, ETA and transfers in flight. */
export class Progress {
  readonly #label: string;
  readonly #total?: number;
  readonly #tty: boolean;
  readonly #timer?: ReturnType<typeof setInterval>;
  readonly #started = performance.now();
  #bytes = 0;
  #inFlight = 0;
  #drawn = false;

  /** Starts drawing now unless `quiet` or `mode` turns it off; `total` bytes enable the ETA. */
  constructor(label: string, mode: ProgressMode, quiet: boolean, total?: number) {
    this.#label = label;
    this.#total = total;
    const tty = Deno.stderr.isTerminal();
    this.#tty = tty && mode !== "plain";
    const on = !quiet && mode !== "none" && (tty || mode === "plain");
    if (on) this.#timer = setInterval(() => this.#draw(), this.#tty ? 500 : 10_000);
  }

  /** Counts `bytes` more as done. */
  add(bytes: number): void {
    this.#bytes += bytes;
  }

  /** How many transfers are running now, shown on the next draw. */
  set inFlight(n: number) {
    this.#inFlight = n;
  }

  /** Stop and clear the line, so what follows starts clean. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    if (this.#tty && this.#drawn) writeText(Deno.stderr, "\r\x1b[K");
  }

  #draw(): void {
    const secs = (performance.now() - this.#started) / 1000;
    const rate = secs > 0 ? this.#bytes / secs : 0;
    let line = `${this.#label} ${humanSize(this.#bytes)}`;
    if (this.#total) {
      const pct = Math.min(100, (100 * this.#bytes) / this.#total);
      const eta = rate > 0 ? Math.max(0, (this.#total - this.#bytes) / rate) : undefined;
      line += ` of ${humanSize(this.#total)} (${pct.toFixed(0)}%)`;
      if (eta !== undefined) line += `, ETA ${formatDuration(eta)}`;
    }
    line += `, ${humanSize(Math.round(rate))}/s, ${this.#inFlight} in flight`;
    writeText(Deno.stderr, this.#tty ? `\r\x1b[K${line}` : `${line}\n`);
    this.#drawn = true;
  }
}

function formatDuration(s: number): string {
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : `${m}m${String(sec).padStart(2, "0")}s`;
}
