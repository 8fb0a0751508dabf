import {readdirSync, readFileSync} from 'node:fs';
import {dirname, join, normalize, relative} from 'node:path';
import {fileURLToPath} from 'node:url';
import {describe, expect, it} from 'vitest';

/**
 * The layering of the code, read from its import statements: which folder may
 * use which, and no cycles. A rule broken here is a design decision to make
 * in the open, not an import to slip in.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const FOLDERS = ['protocol/src', 'client/src', 'server/src', 'cli'];

/** Every TypeScript module of the product (generated code aside), by its path from the root. */
function modules(): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(root, dir), {withFileTypes: true})) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'gen' && entry.name !== 'node_modules' && entry.name !== 'dist') walk(path);
      } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        found.push(path);
      }
    }
  };
  for (const folder of FOLDERS) walk(folder);
  return found;
}

type Import = {specifier: string; /** The module's path from the root, for imports of this repository's files. */ target?: string};

const PACKAGES: Record<string, string> = {
  '@edupulse/event-store-protocol/': 'protocol/src/',
  '@edupulse/event-store-client': 'client/src/index.ts',
};

function importsOf(module: string): Import[] {
  const source = readFileSync(join(root, module), 'utf8');
  const found: Import[] = [];
  for (const [, specifier] of source.matchAll(/^(?:import|export)\b[^'"]*?from\s+'([^']+)'/gm)) {
    const local = Object.entries(PACKAGES).find(([name]) => specifier!.startsWith(name));
    if (specifier!.startsWith('.')) {
      found.push({specifier: specifier!, target: normalize(join(dirname(module), specifier!)).replace(/\.js$/, '.ts')});
    } else if (local) {
      const [name, path] = local;
      found.push({specifier: specifier!, target: path.endsWith('/') ? path + specifier!.slice(name.length).replace(/\.js$/, '.ts') : path});
    } else {
      found.push({specifier: specifier!});
    }
  }
  return found;
}

const graph = new Map(modules().map(module => [module, importsOf(module)]));

/** The imports of modules under `from` that break `rule`, as "module -> specifier". */
function violations(from: string, rule: (i: Import) => boolean): string[] {
  return [...graph.entries()]
    .filter(([module]) => module.startsWith(from))
    .flatMap(([module, imports]) => imports.filter(rule).map(i => `${module} -> ${i.specifier}`));
}

const under = (folder: string) => (i: Import) => i.target?.startsWith(folder) ?? false;
const isPackage =
  (...names: string[]) =>
  (i: Import) =>
    names.some(name => i.specifier === name || i.specifier.startsWith(`${name}/`));

describe('layering', () => {
  it('finds the modules it judges', () => {
    expect(graph.size).toBeGreaterThan(60);
    expect([...graph.keys()].some(m => m.startsWith('server/src/backends/leveldb/'))).toBe(true);
  });

  it('keeps the protocol package free of the SDK, the server and the CLI', () => {
    expect(violations('protocol/', i => under('client/')(i) || under('server/')(i) || under('cli/')(i))).toEqual([]);
  });

  it('keeps the SDK and the server apart: each builds on the protocol package only', () => {
    expect(violations('client/', i => under('server/')(i) || under('cli/')(i))).toEqual([]);
    expect(violations('server/', i => under('client/')(i) || under('cli/')(i))).toEqual([]);
  });

  it('keeps the engine core free of gRPC, of the storage engines and of the layers above it', () => {
    const rule = (i: Import) =>
      isPackage('@grpc/grpc-js', 'nice-grpc', 'nice-grpc-common', 'level', 'classic-level', 'pg')(i) ||
      ['server/src/grpc/', 'server/src/backends/', 'server/src/config/', 'server/src/observability/', 'server/src/auth/'].some(f =>
        under(f)(i),
      );
    expect(violations('server/src/engine/', rule)).toEqual([]);
  });

  it('keeps the engine interface in its own types, none of the protocol', () => {
    expect(violations('server/src/engine/eventStore.ts', under('protocol/'))).toEqual([]);
  });

  it('keeps LevelDB inside its backend', () => {
    const outside = [...graph.keys()].filter(m => m.startsWith('server/') && !m.startsWith('server/src/backends/leveldb/'));
    const leaks = outside.flatMap(m => violations(m, isPackage('level', 'classic-level')));
    expect(leaks).toEqual([]);
  });

  it('keeps PostgreSQL inside its backend, and the backends apart', () => {
    const outside = [...graph.keys()].filter(m => m.startsWith('server/') && !m.startsWith('server/src/backends/postgres/'));
    expect(outside.flatMap(m => violations(m, isPackage('pg')))).toEqual([]);
    expect(violations('server/src/backends/postgres/', under('server/src/backends/leveldb/'))).toEqual([]);
    expect(violations('server/src/backends/leveldb/', under('server/src/backends/postgres/'))).toEqual([]);
  });

  it('keeps NATS inside the relay, and the relay on the engine interface', () => {
    const outside = [...graph.keys()].filter(m => m.startsWith('server/') && !m.startsWith('server/src/relay/'));
    expect(outside.flatMap(m => violations(m, isPackage('@nats-io/transport-node', '@nats-io/jetstream')))).toEqual([]);
    const rule = (i: Import) =>
      ['server/src/grpc/', 'server/src/backends/', 'server/src/observability/', 'server/src/auth/'].some(f => under(f)(i));
    expect(violations('server/src/relay/', rule)).toEqual([]);
  });

  it('keeps consumer groups on the engine interface', () => {
    const rule = (i: Import) =>
      isPackage('@grpc/grpc-js', 'nice-grpc', 'nice-grpc-common')(i) ||
      ['server/src/grpc/', 'server/src/backends/', 'server/src/observability/', 'server/src/auth/', 'server/src/relay/'].some(f =>
        under(f)(i),
      );
    expect(violations('server/src/groups/', rule)).toEqual([]);
  });

  it('keeps the data lifecycle (personal data, retention) on the engine interface', () => {
    const rule = (i: Import) =>
      isPackage('@grpc/grpc-js', 'nice-grpc', 'nice-grpc-common', 'level', 'classic-level', 'pg')(i) ||
      [
        'server/src/grpc/',
        'server/src/backends/',
        'server/src/observability/',
        'server/src/auth/',
        'server/src/relay/',
        'server/src/groups/',
      ].some(f => under(f)(i));
    expect(violations('server/src/lifecycle/', rule)).toEqual([]);
  });

  it('has no import cycles', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const path: string[] = [];
    const visit = (module: string): void => {
      state.set(module, 'open');
      path.push(module);
      for (const {target} of graph.get(module) ?? []) {
        if (target === undefined || !graph.has(target)) continue;
        if (state.get(target) === 'open')
          cycles.push([...path.slice(path.indexOf(target)), target].map(m => relative('.', m)).join(' -> '));
        else if (!state.has(target)) visit(target);
      }
      path.pop();
      state.set(module, 'done');
    };
    for (const module of graph.keys()) if (!state.has(module)) visit(module);
    expect(cycles).toEqual([]);
  });
});
