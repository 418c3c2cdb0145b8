import { diag, fail, ok, type Result } from '../../diagnostics/index.js';

export interface ParsedZeekLog {
  path: string;
  fields: string[];
  types: string[];
  /** Raw field texts of each row (still escaped, `-` for unset). */
  rows: string[][];
  open: string;
  close: string | null;
}

const HEADER_ORDER = ['#separator', '#set_separator', '#empty_field', '#unset_field', '#path', '#open', '#fields', '#types'];

/**
 * Reads a Zeek TSV log strictly: the eight header lines in Zeek's order with Zeek's default
 * separators, as many types as fields, every row with exactly as many fields, `#close` last.
 * Errors name the line.
 */
export function parseZeekTsv(text: string, file = '<log>'): Result<ParsedZeekLog> {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const err = (line: number, msg: string): Result<ParsedZeekLog> => fail(diag('E_ZEEK_TSV', msg, { file, line }));
  if (lines.length < HEADER_ORDER.length) return err(lines.length, 'fewer lines than the header needs');
  if (lines[0] !== '#separator \\x09') return err(1, `expected "#separator \\x09", got ${JSON.stringify(lines[0])}`);
  const header: Record<string, string[]> = {};
  for (let i = 1; i < HEADER_ORDER.length; i++) {
    const parts = lines[i].split('\t');
    if (parts[0] !== HEADER_ORDER[i]) return err(i + 1, `expected ${HEADER_ORDER[i]}, got ${JSON.stringify(parts[0])}`);
    header[parts[0]] = parts.slice(1);
  }
  if (header['#set_separator'].join('\t') !== ',') return err(2, 'set separator is not ","');
  if (header['#empty_field'].join('\t') !== '(empty)') return err(3, 'empty field marker is not "(empty)"');
  if (header['#unset_field'].join('\t') !== '-') return err(4, 'unset field marker is not "-"');
  const fields = header['#fields'];
  const types = header['#types'];
  if (fields.length !== types.length) return err(8, `${fields.length} fields but ${types.length} types`);
  const rows: string[][] = [];
  let close: string | null = null;
  for (let i = HEADER_ORDER.length; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith('#close\t')) {
      if (i !== lines.length - 1) return err(i + 1, '#close is not the last line');
      close = line.slice(7);
      continue;
    }
    if (line.startsWith('#')) return err(i + 1, `unexpected header line ${JSON.stringify(line.slice(0, 40))}`);
    const cells = line.split('\t');
    if (cells.length !== fields.length) return err(i + 1, `row has ${cells.length} fields, #fields has ${fields.length}`);
    rows.push(cells);
  }
  return ok({ path: header['#path'].join('\t'), fields, types, rows, open: header['#open'].join('\t'), close });
}
