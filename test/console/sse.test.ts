/**
 * The live stream hub (agent/console/sse.ts) over real HTTP: a client that stops reading is cut
 * once its buffer passes the bound (memory stays bounded) while a reading client keeps receiving
 * everything; `device` events are coalesced per device, at most one per window, the latest wins.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { setImmediate as yieldLoop } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { SseHub, type SseHubOptions } from '../../agent/console/sse.js';
import { ManualTimers } from '../helpers/manual-timers.js';
import { waitFor } from '../helpers/wait-for.js';
import { SseReader } from './helpers.js';

interface Served {
  hub: SseHub;
  url: string;
  /** The server side of each stream, in the order they connected. */
  responses: http.ServerResponse[];
  close(): Promise<void>;
}

async function serve(timers: ManualTimers, opts: SseHubOptions): Promise<Served> {
  const hub = new SseHub(timers, opts);
  const responses: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    responses.push(res);
    hub.add(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    hub,
    url: `http://127.0.0.1:${port}`,
    responses,
    close: () =>
      new Promise<void>((resolve) => {
        hub.stop();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

let served: Served | undefined;
const readers: SseReader[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const r of readers.splice(0)) r.close();
  for (const s of sockets.splice(0)) s.destroy();
  await served?.close();
  served = undefined;
});

describe('SseHub', () => {
  it('cuts a client that stops reading once its buffer passes the bound; a reading client gets every event', async () => {
    const maxBufferedBytes = 256 * 1024;
    served = await serve(new ManualTimers(), { maxBufferedBytes });
    const { hub, url, responses } = served;
    const reader = new SseReader().start(url);
    readers.push(reader);
    await reader.opened;
    // The stalled client: a raw socket that reads the response headers, then never reads again.
    const stalled = net.connect(Number(new URL(url).port), '127.0.0.1');
    sockets.push(stalled);
    stalled.write('GET /api/stream HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise<void>((resolve) => stalled.once('data', () => resolve()));
    stalled.pause();
    await waitFor(() => responses.length === 2 && hub.size === 2, 5000, 'both streams connected');
    const stalledRes = responses[1]!;
    let closed = false;
    stalled.on('close', () => (closed = true));

    const payload = { id: 'x', note: 'n'.repeat(1000) };
    const eventBytes = Buffer.byteLength(`event: alert\ndata: ${JSON.stringify(payload)}\n\n`);
    let sent = 0;
    let peak = 0;
    // Up to 64 MiB: far beyond what the kernel's socket buffers of a loopback connection take.
    while (hub.dropped === 0 && sent < 64_000) {
      for (let i = 0; i < 50; i++) {
        hub.send('alert', { ...payload, id: `a${sent++}` });
        if (!stalledRes.destroyed) peak = Math.max(peak, stalledRes.writableLength);
      }
      // The reading client keeps up (it would be cut too otherwise).
      await waitFor(() => reader.of('alert').length === sent, 5000, 'the reading client to catch up');
      await yieldLoop();
    }
    expect(hub.dropped).toBe(1);
    expect(stalledRes.destroyed).toBe(true);
    expect(peak).toBeLessThanOrEqual(maxBufferedBytes + eventBytes);
    expect(hub.size).toBe(1);
    // Reading again, the stalled client finds its stream ended by the server.
    stalled.resume();
    await waitFor(() => closed, 5000, 'the stalled connection closed by the server');

    // The reading client still receives.
    hub.send('alert', { id: 'after' });
    await waitFor(() => reader.of('alert').some((a) => (a as { id: string }).id === 'after'), 5000, 'an event after the drop');
    expect(reader.of('alert')).toHaveLength(sent + 1);
  });

  it('sends a device at most once per window: the first at once, then only the latest', async () => {
    const timers = new ManualTimers();
    served = await serve(timers, { coalesceMs: 1000 });
    const { hub, url } = served;
    const reader = new SseReader().start(url);
    readers.push(reader);
    await reader.opened;
    await waitFor(() => hub.size === 1, 5000, 'the stream connected');
    const devices = () => reader.of('device') as { device: string; n: number }[];

    for (let n = 1; n <= 5; n++) hub.sendLatest('device', 'dev-a', { device: 'dev-a', n });
    hub.sendLatest('device', 'dev-b', { device: 'dev-b', n: 1 });
    hub.send('alert', { id: 'marker' });
    await waitFor(() => reader.of('alert').length === 1, 5000, 'the marker');
    expect(devices()).toEqual([
      { device: 'dev-a', n: 1 },
      { device: 'dev-b', n: 1 },
    ]);

    timers.advance(999);
    hub.send('alert', { id: 'marker2' });
    await waitFor(() => reader.of('alert').length === 2, 5000, 'the second marker');
    expect(devices()).toHaveLength(2);

    // The window closes: the latest held-back state of dev-a goes, dev-b had nothing new.
    timers.advance(1);
    await waitFor(() => devices().length === 3, 5000, 'the latest dev-a');
    expect(devices()[2]).toEqual({ device: 'dev-a', n: 5 });

    // A new window opened with that send: a state within it waits for its end.
    hub.sendLatest('device', 'dev-a', { device: 'dev-a', n: 6 });
    timers.advance(1000);
    await waitFor(() => devices().length === 4, 5000, 'dev-a n=6');
    expect(devices()[3]).toEqual({ device: 'dev-a', n: 6 });

    // Quiet for a whole window: the next state goes at once again.
    timers.advance(1000);
    expect(timers.pending).toEqual([]);
    hub.sendLatest('device', 'dev-a', { device: 'dev-a', n: 7 });
    await waitFor(() => devices().length === 5, 5000, 'dev-a n=7 at once');
    expect(devices()[4]).toEqual({ device: 'dev-a', n: 7 });
  });
});
