/** `--listen HOST:PORT` (or PORT, or `[v6]:PORT`) and whether it is a loopback address. */
import net from 'node:net';

export interface ListenAddress {
  host: string;
  port: number;
}

export const DEFAULT_LISTEN = '127.0.0.1:8080';

/** The address, or a message naming what was given and what is accepted. */
export function parseListen(text: string): ListenAddress | { error: string } {
  const bad = { error: `--listen ${text}: expected HOST:PORT (e.g. 127.0.0.1:8080, 0.0.0.0:8080, [::1]:8080) or a port` };
  let host = '127.0.0.1';
  let portText = text;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  if (v6) {
    host = v6[1]!;
    portText = v6[2]!;
  } else if (text.includes(':')) {
    const i = text.lastIndexOf(':');
    host = text.slice(0, i);
    portText = text.slice(i + 1);
  }
  if (!/^\d{1,5}$/.test(portText)) return bad;
  const port = Number(portText);
  if (port > 65535) return bad;
  if (host !== 'localhost' && net.isIP(host) === 0) return { error: `--listen ${text}: "${host}" is not an IP address (give one of this machine's addresses, 0.0.0.0 for all, or localhost)` };
  return { host, port };
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  if (net.isIPv4(host)) return host.startsWith('127.');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  return mapped ? mapped[1]!.startsWith('127.') : false;
}
