// Reads the mails the outbox wrote (real .eml files on disk), parsed by mailparser, for tests to follow their links.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';

export type ReadMail = { to: string; subject: string; text: string; html: string; links: string[]; file: string };

export type TestOutbox = {
  folder: string;
  /** Every mail so far, oldest first (file names sort by time). */
  all(): Promise<ReadMail[]>;
  /** The mails to one address, oldest first. */
  to(address: string): Promise<ReadMail[]>;
  /** The token of the newest link to `page` (verify-email, reset-password) mailed to `address`. */
  tokenFor(address: string, page: 'verify-email' | 'reset-password'): Promise<string>;
};

/** Reads `folder` (a server's DATA_DIR/outbox, say), or a fresh temporary folder of its own. */
export const createTestOutbox = (folder: string = mkdtempSync(join(tmpdir(), 'outbox-'))): TestOutbox => {
  const all = async (): Promise<ReadMail[]> => {
    let names: string[];
    try {
      names = readdirSync(folder).filter((name) => name.endsWith('.eml')).sort();
    } catch {
      return [];
    }
    return Promise.all(
      names.map(async (name) => {
        const parsed = await simpleParser(readFileSync(join(folder, name)));
        const to = Array.isArray(parsed.to) ? parsed.to[0] : parsed.to;
        const text = parsed.text ?? '';
        return {
          to: to?.value[0]?.address ?? '',
          subject: parsed.subject ?? '',
          text,
          html: typeof parsed.html === 'string' ? parsed.html : '',
          links: text.match(/https?:\/\/[^\s<>"]+/g) ?? [],
          file: name,
        };
      }),
    );
  };
  const to = async (address: string) => (await all()).filter((mail) => mail.to === address);
  return {
    folder,
    all,
    to,
    async tokenFor(address, page) {
      const links = (await to(address)).flatMap((mail) => mail.links).filter((link) => link.includes(`/${page}#token=`));
      const last = links.at(-1);
      if (last === undefined) throw new Error(`no ${page} link was mailed to ${address}`);
      return decodeURIComponent(last.slice(last.indexOf('#token=') + '#token='.length));
    },
  };
};
