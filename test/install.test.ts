// The lock file against the installs users run: `npm ci` needs the lock in step with
// package.json and every platform's native package listed; no locked package may ask for a
// Node the project says it supports but the package does not.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const semver = require('semver') as {
  satisfies(version: string, range: string): boolean;
  minVersion(range: string): { version: string } | null;
};

interface LockEntry {
  version?: string;
  engines?: Record<string, string> | string[];
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

const root = new URL('../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as LockEntry & {
  engines: { node: string };
};
const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8')) as {
  packages: Record<string, LockEntry>;
};

describe('package-lock.json', () => {
  it('is in step with package.json (what npm ci checks first)', () => {
    const locked = lock.packages[''];
    expect(locked?.dependencies).toEqual(pkg.dependencies);
    expect(locked?.devDependencies).toEqual(pkg.devDependencies);
    expect(locked?.peerDependencies).toEqual(pkg.peerDependencies);
  });

  it("lists every platform's native package of LanceDB and the canvas", () => {
    for (const name of ['@lancedb/lancedb', '@napi-rs/canvas']) {
      const optional = Object.keys(lock.packages[`node_modules/${name}`]?.optionalDependencies ?? {});
      expect(optional.length, `${name} has platform packages`).toBeGreaterThan(2);
      const missing = optional.filter((dep) => lock.packages[`node_modules/${dep}`] === undefined);
      expect(missing, `${name}'s platform packages missing from the lock`).toEqual([]);
    }
  });

  it('asks for no Node the project supports but a locked package does not', () => {
    // The lowest release of each line package.json accepts, and the one running.
    const lowest = pkg.engines.node.split('||').map((range) => semver.minVersion(range)?.version);
    expect(lowest).not.toContain(undefined);
    expect(semver.satisfies(process.versions.node, pkg.engines.node)).toBe(true);
    const versions = [...(lowest as string[]), process.versions.node];
    const refused: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
      if (path === '' || range === undefined) continue;
      for (const version of versions) {
        if (!semver.satisfies(version, range)) refused.push(`${path} wants node ${range} (running ${version})`);
      }
    }
    expect(refused).toEqual([]);
  });
});
