// The current session: verify its access token, rotate its refresh token, end it or every session of the account.
import { element, type Demo } from '../page';

const onClick = (id: string, handler: () => void) => element<HTMLButtonElement>(id).addEventListener('click', handler);

export const mountSession = (demo: Demo) => {
  onClick('verify', () =>
    demo.run(async () => {
      const verified = await demo.client.verify();
      return `Verified: the access token is valid and its session live, for ${verified.username}`;
    }),
  );
  onClick('refresh', () =>
    demo.run(async () => {
      const pair = await demo.client.refresh();
      await demo.showSignedIn();
      return `Refreshed: a new refresh token, and an access token valid for ${pair.expiresIn} s`;
    }),
  );
  onClick('log-out', () =>
    demo.run(async () => {
      // The client forgets the session before it asks: logged out here whatever the answer.
      try {
        await demo.client.logout();
      } finally {
        demo.showSignedOut();
      }
      return 'Logged out: this session has ended';
    }),
  );
  onClick('log-out-all', () =>
    demo.run(async () => {
      await demo.client.logoutAll();
      demo.showSignedOut();
      return 'Logged out everywhere: every session of the account has ended';
    }),
  );
};
