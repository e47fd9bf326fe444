/**
 * The console password, stored as an scrypt hash in `<data>/password.json` (mode 0600):
 * `{algorithm: "scrypt", N, r, p, salt, hash}` (base64). Verification is constant-time.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, errnoCode } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { makeFolder } from '../store/sqlite-open.js';

const COMPONENT = 'console.auth';
export const PASSWORD_FILE = 'password.json';
/** Shortest password accepted: the page may be reachable from a whole network. */
export const MIN_PASSWORD_LENGTH = 10;

/** N = 2^15, r = 8: about 32 MiB and ~50–100 ms per try on a Pi 4 (OWASP's scrypt minimum is 2^17 at r = 8, p = 1 for servers; a Zero 2 W has 512 MiB). */
const PARAMS = { N: 32768, r: 8, p: 1, keylen: 32 };

export interface PasswordHash {
  algorithm: 'scrypt';
  N: number;
  r: number;
  p: number;
  salt: string;
  hash: string;
}

function scrypt(password: string, salt: Buffer, h: { N: number; r: number; p: number }, keylen: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    crypto.scrypt(password, salt, keylen, { N: h.N, r: h.r, p: h.p, maxmem: 256 * h.N * h.r + 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function hashPassword(password: string): Promise<PasswordHash> {
  const salt = crypto.randomBytes(16);
  const key = await scrypt(password, salt, PARAMS, PARAMS.keylen);
  return { algorithm: 'scrypt', N: PARAMS.N, r: PARAMS.r, p: PARAMS.p, salt: salt.toString('base64'), hash: key.toString('base64') };
}

export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  const expected = Buffer.from(stored.hash, 'base64');
  const key = await scrypt(password, Buffer.from(stored.salt, 'base64'), stored, expected.length);
  return key.length === expected.length && crypto.timingSafeEqual(key, expected);
}

export function passwordFile(dataDir: string): string {
  return path.join(dataDir, PASSWORD_FILE);
}

/** The stored hash, or undefined when no password was set; a damaged file is a configuration error naming the fix. */
export function readPasswordHash(dataDir: string): PasswordHash | undefined {
  const file = passwordFile(dataDir);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw new ConfigError(`${file}: cannot read the console password (${errnoCode(err) ?? (err as Error).message})`, { component: COMPONENT, code: 'console.password-file', cause: err });
  }
  try {
    const v = JSON.parse(text) as Partial<PasswordHash>;
    if (v.algorithm === 'scrypt' && Number.isInteger(v.N) && Number.isInteger(v.r) && Number.isInteger(v.p) && typeof v.salt === 'string' && typeof v.hash === 'string') return v as PasswordHash;
  } catch {
    // reported below
  }
  throw new ConfigError(`${file}: not a console password file; set it again with \`earshot console set-password\``, { component: COMPONENT, code: 'console.password-file' });
}

export function writePasswordHash(dataDir: string, hash: PasswordHash): string {
  makeFolder(dataDir);
  const file = passwordFile(dataDir);
  writeFileAtomic(file, `${JSON.stringify(hash)}\n`, { mode: 0o600 });
  return file;
}
