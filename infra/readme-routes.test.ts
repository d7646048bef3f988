// The README's console route list is the route table's: regenerate it with `node --import tsx infra/readme-routes.ts --write`.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { routeList } from '../src/adapters/http/routes';
import { BEGIN, consoleRoutes, END, README, withConsoleRoutes } from './readme-routes';

const readme = readFileSync(README, 'utf8');
const generated = readme.slice(readme.indexOf(BEGIN) + BEGIN.length, readme.indexOf(END)).trim();

describe('README console route list', () => {
  it('is what the route table generates (run `node --import tsx infra/readme-routes.ts --write` after changing routes)', () => {
    expect(generated).toBe(consoleRoutes());
    expect(withConsoleRoutes(readme)).toBe(readme);
  });

  it('names every route of the table, each method on its path row', () => {
    const rows = new Map(
      generated
        .split('\n')
        .map((line) => /^\| `([^`]+)` \| ([A-Z, ]+) \|/.exec(line))
        .filter((match) => match !== null)
        .map((match) => [match[1], match[2]?.split(', ')] as const),
    );

    for (const route of routeList()) expect(rows.get(route.path)).toContain(route.method);
    expect(rows.get('/health')).toContain('HEAD');
  });

  it('changes with the table, so a route added without regenerating fails the first test', () => {
    const more = [...routeList(), { method: 'DELETE' as const, path: '/me/devices/{id}', summary: 'Forget a device' }];

    const text = consoleRoutes(more);

    expect(text).not.toBe(consoleRoutes());
    expect(text).toContain('| `/me/devices/{id}` | DELETE | Forget a device |');
    expect(withConsoleRoutes(readme, text)).not.toBe(readme);
  });

  it('refuses a README whose markers are gone', () => {
    expect(() => withConsoleRoutes(readme.replace(BEGIN, ''))).toThrow(/markers/);
  });
});
