/**
 * Holds back streamed text that might be the start of a stop string, so a stop string is
 * never shown, not even half of it, and cuts the text where one appears.
 */
export class StopFilter {
  private text = '';
  private emitted = 0;
  private readonly longest: number;

  constructor(private readonly stops: readonly string[]) {
    this.longest = Math.max(0, ...stops.map((s) => s.length));
  }

  /** Adds decoded text; returns what may be shown now, and whether a stop string was hit. */
  push(delta: string): { text: string; stopped: boolean } {
    this.text += delta;
    const from = Math.max(0, this.emitted - this.longest);
    let cut = -1;
    for (const s of this.stops) {
      const i = this.text.indexOf(s, from);
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut >= 0) return { text: this.take(cut), stopped: true };
    return { text: this.take(this.text.length - this.heldBack()), stopped: false };
  }

  /** The rest of the text, at the end of a sequence that stopped for another reason. */
  flush(): string {
    return this.take(this.text.length);
  }

  /** Length of the longest tail of the text that is a proper prefix of a stop string. */
  private heldBack(): number {
    for (let n = Math.min(this.longest - 1, this.text.length - this.emitted); n > 0; n--) {
      const tail = this.text.slice(this.text.length - n);
      if (this.stops.some((s) => s.startsWith(tail))) return n;
    }
    return 0;
  }

  private take(end: number): string {
    const out = this.text.slice(this.emitted, Math.max(end, this.emitted));
    this.emitted = Math.max(end, this.emitted);
    return out;
  }
}
