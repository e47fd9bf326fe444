/**
 * An RFC 4180 reader for the tests of the event CSV (quoted fields may hold commas, doubled
 * quotes and line breaks): csv-parse, a maintained parser independent of our writer, so the two
 * check each other. Returns the rows as objects keyed by the header; a row with another number
 * of fields than the header is an error.
 */
import { parse } from 'csv-parse/sync';

export function parseCsv(text: string): { header: string[]; rows: Record<string, string>[] } {
  const [header = [], ...body] = parse(text) as string[][];
  return { header, rows: body.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]!]))) };
}
