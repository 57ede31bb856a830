/**
 * Offset → line/column conversion. Line starts are computed once so every lookup is a binary
 * search; warnings and errors can then be positioned without the tokenizer tracking columns
 * character by character.
 */

/** 1-based line and column. */
export interface Position {
  line: number;
  column: number;
}

/** Maps offsets of one (newline-normalised) text to positions. */
export class LineIndex {
  private readonly starts: number[] = [0];

  constructor(text: string) {
    let i = text.indexOf('\n');
    while (i !== -1) {
      this.starts.push(i + 1);
      i = text.indexOf('\n', i + 1);
    }
  }

  /** The 1-based position of `offset` (clamped to the text). */
  at(offset: number): Position {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - (this.starts[lo] ?? 0) + 1 };
  }
}
