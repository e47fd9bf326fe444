/** HTTP Range requests for clips (RFC 9110 §14): one `bytes=` range; several ranges are answered with the whole file. */
export type RangeResult = { start: number; end: number } | 'unsatisfiable' | undefined;

/** The inclusive byte range asked for in a file of `size` bytes; undefined for the whole file. */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return undefined; // not understood (or several ranges): the whole file, as RFC 9110 allows
  const [, a, b] = m;
  if (a === '' && b === '') return undefined;
  if (a === '') {
    const suffix = Number(b);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(a);
  if (start >= size) return 'unsatisfiable';
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (end < start) return undefined;
  return { start, end };
}
