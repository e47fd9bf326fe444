import { describe, expect, it } from 'vitest';
import { commandWord, createProgram, loadCommands } from '../../agent/cli/program.js';
import type { CliContext } from '../../agent/cli/context.js';

const ctx: CliContext = { stdout: () => undefined, stderr: () => undefined, env: {}, cwd: '/', isTTY: false };
const names = async (argv: string[]) => createProgram(ctx, await loadCommands(argv)).commands.map((c) => c.name());
const ALL = ['config', 'analyze', 'features', 'events', 'sync', 'alerts', 'models', 'train', 'record', 'run', 'status', 'mic', 'doctor', 'service', 'console'];

describe('the command line loads only the command it runs', () => {
  it('finds the command word after the program options', () => {
    expect(commandWord(['run'])).toBe('run');
    expect(commandWord(['-c', 'site.yaml', 'run', '--log-level', 'debug'])).toBe('run');
    expect(commandWord(['--config', 'run', 'events', 'list'])).toBe('events');
    expect(commandWord(['--config=site.yaml', 'status'])).toBe('status');
    expect(commandWord(['--help'])).toBeUndefined();
    expect(commandWord(['--', 'run'])).toBeUndefined();
    expect(commandWord([])).toBeUndefined();
  });
  it('registers that command alone; help, no command and a mistyped command get them all, in order', async () => {
    expect(await names(['-c', 'x.yaml', 'run'])).toEqual(['run']);
    expect(await names(['alerts', 'tail'])).toEqual(['alerts']);
    expect(await names(['--version'])).toEqual([]);
    expect(await names(['--help'])).toEqual(ALL);
    expect(await names([])).toEqual(ALL);
    expect(await names(['rn'])).toEqual(ALL);
    expect(await names(['help', 'run'])).toEqual(ALL);
  });
});
