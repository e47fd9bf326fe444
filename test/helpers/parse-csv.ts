/**
 * An RFC 4180 reader for the tests of the event CSV (quoted fields may hold commas, doubled
 * quotes and line breaks), written from the RFC rather than from the writer, so the two check
 * each other. Returns the rows as objects keyed by the header.
 */
export function parseCsv(text: string): { header: string[]; rows: Record<string, string>[] } {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      record.push(field);
      records.push(record);
      record = [];
      field = '';
    } else field += c;
  }
  if (quoted) throw new Error('CSV ends inside a quoted field');
  if (field !== '' || record.length > 0) records.push([...record, field]);
  const [header = [], ...body] = records;
  return {
    header,
    rows: body.map((r) => {
      if (r.length !== header.length) throw new Error(`CSV row has ${r.length} fields, the header ${header.length}: ${JSON.stringify(r)}`);
      return Object.fromEntries(header.map((h, i) => [h, r[i]!]));
    }),
  };
}
