// A factor change from a session a password change has ended (its removal still under way, or left behind by a
// failed clean-up) must not turn a factor on, nor be carried over to the new version.
import * as OTPAuth from 'otpauth';
import { describe, expect, it } from 'vitest';
import { createWorld, outcome, storedUser } from '../../test/fakes';
import { logIn } from './log-in';
import { confirmTotp, startTotp } from './mfa';
import { mfaOf } from './ports';
import { authenticate } from './sessions';

const PASSWORD = 'correct horse';
const codeAt = (secret: string, at: number) =>
  new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30, algorithm: 'SHA1' }).generate({
    timestamp: at,
  });

describe('a factor change from an ended session', () => {
  it('cannot confirm an enrolment it started before the password changed, and is not revived', async () => {
    // Prepare: a thief with the password starts an enrolment; the owner then changes the password (version 1), and
    // the thief's session is still in the store (its removal has not happened yet)
    const { deps, context, users, sessions, clock } = createWorld({ users: [storedUser()] });
    const thief = await logIn(deps, { username: 'alice', password: PASSWORD }, context());
    const claims = (await authenticate(deps, thief.token)).claims;
    const { secret } = await startTotp(deps, claims, { password: PASSWORD }, context());
    users.patch('alice', { credentialVersion: 1 });

    // Act
    const confirmed = await outcome(confirmTotp(deps, claims, { code: codeAt(secret, clock.now().getTime()) }, context()));

    // Assess
    expect(confirmed).toEqual({ code: 'invalid_token' });
    expect(mfaOf(users.peek('alice')!).totp).toBeNull();
    expect(users.peek('alice')?.credentialVersion).toBe(1);
    expect(sessions.peek(claims.uid, claims.sid)?.credentialVersion).toBe(0);
  });

  it('cannot start an enrolment either', async () => {
    const { deps, context, users } = createWorld({ users: [storedUser()] });
    const thief = await logIn(deps, { username: 'alice', password: PASSWORD }, context());
    const claims = (await authenticate(deps, thief.token)).claims;
    users.patch('alice', { credentialVersion: 1 });

    expect(await outcome(startTotp(deps, claims, { password: PASSWORD }, context()))).toEqual({ code: 'invalid_token' });
    expect(mfaOf(users.peek('alice')!).pendingTotp).toBeNull();
  });
});
