/**
 * Sync benchmark: how fast the outbox drain empties a 20,000-event backlog from a real SQLite
 * store (temp folder on the real disk, WAL + synchronous=FULL as on the device) to a local
 * Mosquitto, beside the raw mqtt.js QoS 1 publish rate of the same payloads (same topic, same
 * `id` user property, same in-flight window) in the same run, and the ratio. Target: ≥ 50 %.
 *
 * The backlog is written once (on /dev/shm when there is one, since 20,000 separately fsynced
 * inserts are slow and not what is measured) and copied to a fresh folder on the temp disk for
 * every run. Runs alternate which side goes first; the medians are reported.
 *
 *   npm run bench:sync                      # starts its own mosquitto on a free port
 *   npm run bench:sync -- --url mqtt://host:1883 --events 20000 --runs 5 --json
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { newEventId } from '../agent/event.js';
import { SqliteStore } from '../agent/store/sqlite-store.js';
import { ReconnectBackoff } from '../agent/sync/backoff.js';
import { MqttBroker } from '../agent/sync/mqtt-broker.js';
import { OutboxDrain } from '../agent/sync/outbox-drain.js';
import { exitOnHelp, numberArg, textArg } from './argv.js';
import { freePort, waitForPort } from './ports.js';

exitOnHelp(`npm run bench:sync -- [options]: the outbox drain of a backlog to Mosquitto beside raw mqtt.js QoS 1

  --events N    backlog size (default 20000)
  --runs N      runs per side, alternating which goes first (default 5)
  --window N    in-flight window (default 16)
  --url URL     an existing broker (default: a mosquitto started on a free port)
  --json        one JSON object instead of the table
`);

const EVENTS = Math.round(numberArg('events', 20_000));
const RUNS = Math.round(numberArg('runs', 5));
const WINDOW = Math.round(numberArg('window', 16));
const json = process.argv.includes('--json');
const DEVICE = 'bench-01';
const TOPIC = `earshot/${DEVICE}/events`;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};



/** A throwaway Mosquitto with the test configuration (max_queued_messages 0, no persistence). */
async function startMosquitto(dir: string): Promise<{ url: string; child: ChildProcess }> {
  const bin = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto', '/opt/homebrew/sbin/mosquitto'].find((b) => fs.existsSync(b));
  if (!bin) throw new Error('mosquitto not found (apt-get install mosquitto), or pass --url mqtt://host:port');
  const port = await freePort();
  const conf = path.join(dir, 'mosquitto.conf');
  const lines = [...(process.getuid?.() === 0 ? ['user root'] : []), 'persistence false', 'max_queued_messages 0', 'allow_anonymous true', 'log_type error', `listener ${port} 127.0.0.1`];
  fs.writeFileSync(conf, `${lines.join('\n')}\n`);
  const child = spawn(bin, ['-c', conf], { stdio: 'ignore' });
  await waitForPort(port);
  return { url: `mqtt://127.0.0.1:${port}`, child };
}

/** Writes the backlog once and returns the database file and the payloads, in drain order. */
function makeBacklog(dir: string): { file: string; payloads: { payload: string; id: string }[] } {
  const file = path.join(dir, 'events.db');
  const store = new SqliteStore({ file, reserveBytes: 0 });
  store.open();
  const start = Date.parse('2026-11-28T11:00:00Z');
  for (let i = 0; i < EVENTS; i++) {
    const threat = i % 3 === 0;
    store.putEvent(
      {
        id: newEventId(start + i * 1000),
        device: DEVICE,
        label: threat ? 'gunshot' : 'dog',
        category: threat ? 'threat' : 'wildlife',
        confidence: 0.9,
        start: new Date(start + i * 1000).toISOString(),
        end: new Date(start + i * 1000 + 1500).toISOString(),
        modelLabels: [{ label: threat ? 'Gunshot, gunfire' : 'Dog', score: 0.91 }],
        model: { name: 'efficientat-mn04', version: '1', sha256: 'ab'.repeat(32) },
        location: { lat: -37.8, lon: -73.1 },
        clockSynced: true,
      },
      { alert: { topic: TOPIC } },
    );
  }
  // Read the payloads as the drain will lease them, then put the leases back.
  const leased = store.lease(EVENTS);
  store.release(leased.map((m) => m.id), { attempted: false });
  store.close();
  return { file, payloads: leased.map((m) => ({ payload: m.payload, id: m.eventId! })) };
}

async function rawRate(url: string, payloads: { payload: string; id: string }[], window: number): Promise<number> {
  const client = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0, clientId: `bench-raw-${process.pid}` });
  client.on('error', () => undefined);
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    let sent = 0;
    let done = 0;
    const next = () => {
      while (sent < payloads.length && sent - done < window) {
        const { payload, id } = payloads[sent++]!;
        client.publish(TOPIC, payload, { qos: 1, properties: { userProperties: { id } } }, (err) => {
          if (err) return reject(err);
          if (++done === payloads.length) resolve();
          else next();
        });
      }
    };
    next();
  });
  const rate = payloads.length / ((performance.now() - t0) / 1000);
  await client.endAsync();
  return rate;
}

async function drainRate(url: string, backlog: string, window: number): Promise<{ rate: number; effectiveWindow: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-bench-run-'));
  try {
    const file = path.join(dir, 'events.db');
    fs.copyFileSync(backlog, file);
    const store = new SqliteStore({ file, reserveBytes: 0 });
    store.open();
    const broker = new MqttBroker({ url, connection: { clientId: `bench-drain-${process.pid}`, protocolVersion: 5 }, backoff: new ReconnectBackoff({ minMs: 100, maxMs: 1000 }) });
    const drain = new OutboxDrain({ store, broker, window, ackTimeoutMs: 30_000 });
    let t0 = 0;
    let effectiveWindow = window;
    const elapsed = await new Promise<number>((resolve) => {
      broker.once('connect', () => {
        t0 = performance.now();
        effectiveWindow = Math.min(window, Number.isFinite(broker.maxInFlight) ? broker.maxInFlight - 2 : window);
      });
      drain.on('idle', () => resolve(performance.now() - t0));
      drain.start();
      broker.start();
    });
    const left = store.storeHealth().outbox.depth;
    await drain.stop();
    await broker.stop();
    store.close();
    if (left !== 0 || drain.stats.acked !== EVENTS) throw new Error(`drain left ${left} messages (acked ${drain.stats.acked})`);
    return { rate: EVENTS / (elapsed / 1000), effectiveWindow };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const fillRoot = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const fillDir = fs.mkdtempSync(path.join(fillRoot, 'earshot-bench-fill-'));
  const brokerDir = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-bench-broker-'));
  let child: ChildProcess | undefined;
  try {
    const given = textArg('url');
    let url = given;
    if (!url) ({ url, child } = await startMosquitto(brokerDir));
    if (!json) console.log(`writing a backlog of ${EVENTS} events (${fillRoot})…`);
    const { file, payloads } = makeBacklog(fillDir);
    const avgBytes = Math.round(payloads.reduce((a, p) => a + Buffer.byteLength(p.payload), 0) / payloads.length);
    // The drain keeps two slots free under the broker's receive maximum; raw gets the same window.
    const probe = await drainRate(url, file, WINDOW); // warm-up, also learns the effective window
    const window = probe.effectiveWindow;
    await rawRate(url, payloads.slice(0, 2000), window); // warm-up
    if (!json) {
      console.log(`broker ${url}; ${EVENTS} events of ~${avgBytes} bytes; in-flight window ${window}; ${RUNS} runs (after a warm-up)`);
      console.log('run   drain msg/s   raw msg/s   ratio');
    }
    const drains: number[] = [];
    const raws: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      let d: number;
      let raw: number;
      if (r % 2 === 0) {
        d = (await drainRate(url, file, WINDOW)).rate;
        raw = await rawRate(url, payloads, window);
      } else {
        raw = await rawRate(url, payloads, window);
        d = (await drainRate(url, file, WINDOW)).rate;
      }
      drains.push(d);
      raws.push(raw);
      if (!json) console.log(`${String(r + 1).padStart(3)}   ${d.toFixed(0).padStart(11)}   ${raw.toFixed(0).padStart(9)}   ${((d / raw) * 100).toFixed(0).padStart(4)} %`);
    }
    const ratios = drains.map((d, i) => d / raws[i]!);
    const result = { events: EVENTS, payloadBytes: avgBytes, window, runs: RUNS, drainPerSec: Math.round(median(drains)), rawPerSec: Math.round(median(raws)), ratio: Math.round(median(ratios) * 1000) / 1000, target: 0.5 };
    if (json) console.log(JSON.stringify(result));
    else {
      console.log(`median: drain ${result.drainPerSec} msg/s, raw mqtt.js ${result.rawPerSec} msg/s, ratio ${(result.ratio * 100).toFixed(0)} % (median of per-run ratios; target ≥ 50 %)`);
      console.log(result.ratio >= 0.5 ? 'target met' : 'TARGET MISSED');
    }
    if (result.ratio < 0.5) process.exitCode = 1;
  } finally {
    child?.kill('SIGTERM');
    fs.rmSync(fillDir, { recursive: true, force: true });
    fs.rmSync(brokerDir, { recursive: true, force: true });
  }
}

await main();
