// The mail clients load on the first send only: bundled as the Lambda is, nodemailer and the SES client sit in
// chunks that only a dynamic import() reaches, so a cold start that imports a mailer loads neither.
import { join, relative } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, lambdaBuildOptions, staticClosure } from '../../../scripts/lambda-bundle.mjs';

const ENTRIES = { outbox: 'outbox-mailer', smtp: 'smtp-mailer', ses: 'ses-mailer' } as const;
const CLIENTS = ['node_modules/nodemailer/', 'node_modules/@aws-sdk/client-sesv2/'];
const outdir = join(PROJECT_ROOT, 'dist/test-mail-lazy');

let metafile: Metafile;
beforeAll(async () => {
  // Not written to disk: only the metafile, which says what each output holds and how it is imported.
  const result = await build({
    ...lambdaBuildOptions(outdir),
    entryPoints: Object.fromEntries(Object.values(ENTRIES).map((name) => [name, `src/adapters/mail/${name}.ts`])),
    write: false,
  });
  metafile = result.metafile;
}, 60_000);

const inputsOf = (outputs: string[]) => outputs.flatMap((file) => Object.keys(metafile.outputs[file]!.inputs));
const kb = (outputs: string[]) => outputs.reduce((sum, file) => sum + metafile.outputs[file]!.bytes, 0) / 1024;

describe('the mail senders in a Lambda-style bundle', () => {
  it.each(Object.entries(ENTRIES))('%s: importing it loads no mail client', (_, name) => {
    // Act
    const loaded = staticClosure(metafile, relative(PROJECT_ROOT, join(outdir, `${name}.mjs`)));

    // Assess: a few KB of our own code, and no file of either client
    expect(inputsOf(loaded).filter((input) => CLIENTS.some((client) => input.includes(client)))).toEqual([]);
    expect(kb(loaded)).toBeLessThan(8);
  });

  it('still bundles each client, in chunks reached only by a dynamic import', () => {
    // Prepare
    const all = Object.keys(metafile.outputs).filter((file) => file.endsWith('.mjs'));

    // Act
    const holding = (client: string) => all.filter((file) => inputsOf([file]).some((input) => input.includes(client)));
    const importedHow = (chunks: string[]) =>
      all.flatMap((file) => metafile.outputs[file]!.imports.filter((entry) => chunks.includes(entry.path)).map((entry) => entry.kind));

    // Assess
    for (const client of CLIENTS) {
      const chunks = holding(client);
      expect(chunks.length, client).toBeGreaterThan(0);
      expect(new Set(importedHow(chunks)).has('dynamic-import'), client).toBe(true);
      // Chunks may import each other statically; what matters is that no entry's static closure holds them.
      for (const name of Object.values(ENTRIES)) {
        const loaded = staticClosure(metafile, relative(PROJECT_ROOT, join(outdir, `${name}.mjs`)));
        expect(loaded.filter((file) => chunks.includes(file)), `${client} in ${name}`).toEqual([]);
      }
    }
  });
});
