// The README's settings table names every setting config.ts reads, and no variable config.ts does not read.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { settingVariables } from '../src/config';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const section = readme.slice(readme.indexOf('\n## Settings\n'), readme.indexOf('\n## ', readme.indexOf('\n## Settings\n') + 1));
// The first cell of each row: one variable, or several joined by " / ".
const documented = [...section.matchAll(/^\| ((?:`[A-Z0-9_]+`(?: \/ )?)+) \|/gm)].flatMap((row) =>
  [...(row[1] as string).matchAll(/`([A-Z0-9_]+)`/g)].map((name) => name[1] as string),
);

describe('README settings table', () => {
  it('has a row for every setting', () => {
    expect(settingVariables().filter((variable) => !documented.includes(variable))).toEqual([]);
  });

  it('documents no variable the service does not read', () => {
    expect(documented.filter((variable) => !settingVariables().includes(variable))).toEqual([]);
  });
});
