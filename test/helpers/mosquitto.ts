/**
 * A real Mosquitto for integration tests: started by the test on a free loopback port with its
 * own configuration (`max_queued_messages 0`: the default silently drops QoS 1 messages to slow
 * subscribers; `persistence false`), optionally with a TLS listener that requires client
 * certificates, made here with openssl. Nothing is skipped: without mosquitto the tests fail and
 * say how to install it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitForPort } from '../../scripts/ports.js';

export { freePort, waitForPort };

const CANDIDATES = [process.env.MOSQUITTO, '/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto', '/opt/homebrew/sbin/mosquitto'];

/** The mosquitto binary, or an error that says how to get one. */
export function mosquittoBinary(): string {
  for (const c of CANDIDATES) if (c && fs.existsSync(c)) return c;
  const which = spawnSync('sh', ['-c', 'command -v mosquitto'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) return which.stdout.trim();
  throw new Error('mosquitto not found: the sync tests need a real broker (Debian/Ubuntu: `sudo apt-get install mosquitto`; or set MOSQUITTO=/path/to/mosquitto)');
}



export interface Certificates {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A CA that did not sign the server certificate (the "wrong CA" case). */
  otherCa: string;
}

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.error) throw new Error(`openssl not available: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
}

/** A CA, a server certificate for localhost/127.0.0.1 and a client certificate, signed by it; and an unrelated CA. */
export function makeCertificates(dir: string): Certificates {
  fs.mkdirSync(dir, { recursive: true });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const ca of ['ca', 'other-ca']) {
    openssl(['req', '-x509', ...ec, '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-days', '2', '-subj', `/CN=Earshot test ${ca}`], dir);
  }
  fs.writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  fs.writeFileSync(path.join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const who of ['server', 'client']) {
    openssl(['req', ...ec, '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=${who === 'server' ? 'localhost' : 'earshot-test-device'}`], dir);
    openssl(['x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${who}.crt`, '-days', '2', '-extfile', `${who}.ext`], dir);
  }
  const p = (f: string) => path.join(dir, f);
  return { dir, ca: p('ca.crt'), serverCert: p('server.crt'), serverKey: p('server.key'), clientCert: p('client.crt'), clientKey: p('client.key'), otherCa: p('other-ca.crt') };
}

export interface MosquittoOptions {
  /** Add a TLS listener (require_certificate true) with certificates made in the broker's folder. */
  tls?: boolean;
  /** Require these user names and passwords (allow_anonymous false, a password_file made with mosquitto_passwd). */
  users?: Record<string, string>;
  /** Fixed ports (to restart a broker where clients expect it); free ones otherwise. */
  port?: number;
  tlsPort?: number;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export class Mosquitto {
  readonly dir: string;
  port = 0;
  tlsPort?: number;
  certs?: Certificates;
  private child?: ChildProcess;
  private readonly logFile: string;

  constructor(private readonly opts: MosquittoOptions = {}) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-mosquitto-'));
    this.port = opts.port ?? 0;
    this.tlsPort = opts.tlsPort;
    this.logFile = path.join(this.dir, 'mosquitto.log');
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  get tlsUrl(): string {
    if (this.tlsPort === undefined) throw new Error('this broker has no TLS listener');
    return `mqtts://localhost:${this.tlsPort}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Starts the broker (again, on the same ports, after stop()) and waits until it accepts connections. */
  async start(): Promise<this> {
    if (this.child) return this;
    const bin = mosquittoBinary();
    if (!this.port) this.port = await freePort();
    if (this.opts.tls && this.tlsPort === undefined) this.tlsPort = await freePort();
    if (this.opts.tls && !this.certs) this.certs = makeCertificates(path.join(this.dir, 'certs'));
    const lines = [
      // Run as root, mosquitto would drop to the `mosquitto` user, who cannot read this private folder.
      ...(process.getuid?.() === 0 ? ['user root'] : []),
      'persistence false',
      'max_queued_messages 0',
      `allow_anonymous ${this.opts.users ? 'false' : 'true'}`,
      ...(this.opts.users ? [`password_file ${this.passwordFile(bin)}`] : []),
      'log_type error',
      'log_type warning',
      'log_type notice',
      `log_dest file ${this.logFile}`,
      `listener ${this.port} 127.0.0.1`,
    ];
    if (this.certs && this.tlsPort !== undefined) {
      lines.push(`listener ${this.tlsPort} 127.0.0.1`, `cafile ${this.certs.ca}`, `certfile ${this.certs.serverCert}`, `keyfile ${this.certs.serverKey}`, 'require_certificate true');
    }
    const conf = path.join(this.dir, 'mosquitto.conf');
    fs.writeFileSync(conf, `${lines.join('\n')}\n`);
    const child = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    running.add(child);
    this.child = child;
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`mosquitto exited (code ${code}) at start: ${stderr}${this.log()}`))),
    );
    try {
      await Promise.race([waitForPort(this.port), exited]);
      if (this.tlsPort !== undefined) await Promise.race([waitForPort(this.tlsPort), exited]);
    } catch (err) {
      await this.stop();
      throw err;
    }
    child.once('exit', () => {
      running.delete(child);
      if (this.child === child) this.child = undefined;
    });
    return this;
  }

  /** Writes the users to a password file, hashed with mosquitto_passwd (next to the broker binary). */
  private passwordFile(bin: string): string {
    const file = path.join(this.dir, 'passwords');
    fs.writeFileSync(file, Object.entries(this.opts.users ?? {}).map(([u, p]) => `${u}:${p}\n`).join(''), { mode: 0o600 });
    const tool = [path.join(path.dirname(bin), 'mosquitto_passwd'), '/usr/bin/mosquitto_passwd', '/usr/local/bin/mosquitto_passwd'].find((t) => fs.existsSync(t)) ?? 'mosquitto_passwd';
    const r = spawnSync(tool, ['-U', file], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`mosquitto_passwd -U ${file} failed: ${r.error?.message ?? r.stderr}`);
    return file;
  }

  /** Stops the broker (SIGTERM, then SIGKILL after 3 s). Clients see their connections close. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) {
      running.delete(child);
      return;
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      child.once('exit', () => {
        clearTimeout(t);
        running.delete(child);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }

  /** Stops the broker and removes its folder (certificates included). */
  async dispose(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** The broker's log so far, for failure messages. */
  log(): string {
    try {
      return `\n--- mosquitto log ---\n${fs.readFileSync(this.logFile, 'utf8')}`;
    } catch {
      return '';
    }
  }
}

/** Starts a broker; call dispose() in afterAll/afterEach. */
export async function startMosquitto(opts: MosquittoOptions = {}): Promise<Mosquitto> {
  return new Mosquitto(opts).start();
}
