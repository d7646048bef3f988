// The second factors' use cases and adapters, built on the first request that needs them: compose imports this
// module dynamically, so a cold start and a password login load none of it (TOTP, the secret box, recovery
// codes, the passkey store and the WebAuthn adapter; the WebAuthn library itself loads later still, on the first
// passkey ceremony).
import type { PasskeyHandlers } from './adapters/http/app';
import { createRecoveryCodes } from './adapters/crypto/recovery-codes';
import { createSealer } from './adapters/crypto/sealer';
import { createSecretBox } from './adapters/crypto/secret-box';
import { createTotp } from './adapters/crypto/totp';
import { createWebAuthn } from './adapters/crypto/webauthn';
import type { DynamoClient } from './adapters/dynamodb/client';
import { createDynamoPasskeyStore } from './adapters/dynamodb/passkey-store';
import type { AccountDeps } from './domain/account';
import { completeStepUp, confirmTotp, disableTotp, replaceRecoveryCodes, startTotp } from './domain/mfa';
import {
  addPasskey,
  listPasskeys,
  logInWithPasskey,
  passkeyLoginOptions,
  passkeyRegistrationOptions,
  removePasskey,
  type PasskeySettings,
} from './domain/passkeys';

export type SecondFactorOptions = {
  store: { client: DynamoClient; timeoutMs: number };
  passkeysTableName: string;
  /** MFA_ENCRYPTION_KEY's bytes; null: TOTP is off (its routes answer 404). */
  mfaKey: Uint8Array | null;
  /** The refresh-token secret: passkey login challenges are sealed under a key derived from it. */
  refreshSecret: Uint8Array;
  /** Null: passkeys are off (their routes answer 404). */
  passkeySettings: PasskeySettings | null;
};

export const createSecondFactors = (base: AccountDeps, options: SecondFactorOptions) => {
  const deps = {
    ...base,
    totp: createTotp(),
    secretBox: options.mfaKey === null ? null : createSecretBox(options.mfaKey),
    recoveryCodes: createRecoveryCodes(),
    passkeys: createDynamoPasskeyStore({ ...options.store, tableName: options.passkeysTableName }),
    webauthn: createWebAuthn(),
    // Settings of a service without passkeys are never read: every passkey use case refuses first.
    passkeySettings: options.passkeySettings ?? { rpId: 'localhost', rpName: '', origins: [], challengeTtlSeconds: 300 },
    loginChallenges: createSealer(options.refreshSecret, 'passkey-login'),
  };
  const passkeys: PasskeyHandlers = {
    registrationOptions: (claims, input, context) => passkeyRegistrationOptions(deps, claims, input, context),
    add: (claims, input, context) => addPasskey(deps, claims, input, context),
    list: (claims) => listPasskeys(deps, claims),
    remove: (claims, id, input, context) => removePasskey(deps, claims, id, input, context),
    loginOptions: (context) => passkeyLoginOptions(deps, context),
    logIn: (input, context) => logInWithPasskey(deps, input, context),
  };
  return {
    passkeyStore: deps.passkeys,
    passkeys,
    logInMfa: (input: Parameters<typeof completeStepUp>[1], context: Parameters<typeof completeStepUp>[2]) =>
      completeStepUp(deps, input, context),
    startTotp: (...args: DropDeps<typeof startTotp>) => startTotp(deps, ...args),
    confirmTotp: (...args: DropDeps<typeof confirmTotp>) => confirmTotp(deps, ...args),
    disableTotp: (...args: DropDeps<typeof disableTotp>) => disableTotp(deps, ...args),
    replaceRecoveryCodes: (...args: DropDeps<typeof replaceRecoveryCodes>) => replaceRecoveryCodes(deps, ...args),
  };
};

type DropDeps<F> = F extends (deps: never, ...rest: infer R) => unknown ? R : never;
export type SecondFactors = ReturnType<typeof createSecondFactors>;
