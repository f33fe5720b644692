/** A progress bar on a terminal; on a pipe or file, a line per phase and every tenth of the way. */
export class Progress {
  readonly #tty: boolean;
  #label = '';
  #lastTenth = -1;

  constructor(private readonly out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }) {
    this.#tty = out.isTTY === true;
  }

  phase(label: string): void {
    this.#label = label;
    this.#lastTenth = -1;
    if (!this.#tty) this.out.write(`${label}…\n`);
  }

  update(done: number, total: number, note = ''): void {
    if (this.#tty) {
      const width = 30;
      const filled = Math.round((done / Math.max(1, total)) * width);
      this.out.write(`\r${this.#label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}${note ? ` · ${note}` : ''}\x1b[K`);
      return;
    }
    const tenth = Math.floor((done / Math.max(1, total)) * 10);
    if (tenth !== this.#lastTenth) {
      this.#lastTenth = tenth;
      this.out.write(`  ${done}/${total}${note ? ` · ${note}` : ''}\n`);
    }
  }

  done(note = ''): void {
    if (this.#tty) this.out.write(`\r${this.#label}: done${note ? ` (${note})` : ''}\x1b[K\n`);
    else if (note) this.out.write(`  ${note}\n`);
  }
}
