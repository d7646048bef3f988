// The demo page's entry (bundled by esbuild into web/main.js): one client, one page, and the features mounted on it.
import { createLoginClient } from '../client/index';
import { mountAccount } from './features/account';
import { mountEmail } from './features/email';
import { mountMfa } from './features/mfa';
import { mountPasskeys } from './features/passkeys';
import { mountPasswordReset } from './features/password-reset';
import { mountSession } from './features/session';
import { mountSignIn } from './features/sign-in';
import { mountStepUp } from './features/step-up';
import { createDemo } from './page';

// The service is the origin (and stage prefix) this page came from.
const baseUrl = new URL('.', document.baseURI).href;

// The tokens, the refresh token above all, live only in the client's memory, never in localStorage or
// sessionStorage: anything those hold can be read by any script that ever runs on this origin (one XSS is
// enough to take a 30-day session away) and outlives the tab. The price is that a reload logs out; a real
// front end that must survive reloads keeps the refresh token in an HttpOnly cookie set by its own back end.
const demo = createDemo(createLoginClient({ baseUrl }));

// Each feature wires its own section of index.html. The step-up form follows the sign-in form's refused login;
// the passkeys share the security form's password and code boxes with two-step verification. The mailed links
// last: the page is wired before a link's action runs.
mountSignIn(demo, mountStepUp(demo));
mountSession(demo);
mountEmail(demo);
mountAccount(demo);
mountPasskeys(demo, mountMfa(demo));
mountPasswordReset(demo);
