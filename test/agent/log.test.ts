import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../agent/log.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  return { lines, stream };
}

describe('logger', () => {
  it('writes JSON lines with the component of a child logger', () => {
    const { lines, stream } = capture();
    const log = createLogger({ level: 'info', format: 'json', isTTY: false, destination: stream });
    log.child({ component: 'sync' }).info({ queued: 3 }, 'outbox resumed');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ component: 'sync', queued: 3, msg: 'outbox resumed', level: 30 });
  });

  it('respects the level', () => {
    const { lines, stream } = capture();
    const log = createLogger({ level: 'warn', format: 'json', isTTY: false, destination: stream });
    log.info('hidden');
    log.warn('shown');
    expect(lines.map((l) => l.msg)).toEqual(['shown']);
  });

  it('never logs secrets, however deep they are', () => {
    const { lines, stream } = capture();
    const log = createLogger({ level: 'info', format: 'json', isTTY: false, destination: stream });
    log.info({ config: { mqtt: { password: 'hunter2', url: 'mqtt://x' } }, password: 'p2', hmacSecret: 'abc' }, 'starting');
    const text = JSON.stringify(lines);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('p2');
    expect(text).not.toContain('"abc"');
    expect(text).toContain('mqtt://x');
  });
});
