// UserStore on DynamoDB, on the tutorial's table schema: key `username`, attributes `name`, `password`, `createdAt`,
// plus `uid` and `credentialVersion` (absent on tutorial-era items until their first login or password change),
// and the login throttle's state: `loginFailures`, `lastFailureAt` and the leases of attempts being checked.
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  UpdateCommand,
  type DynamoClient,
} from './client';
import type { CallOptions } from '../aws/json-protocol';
import { AppError } from '../../domain/errors';
import type { FactorChange, LoginState, MfaState, UserRecord, UserStore } from '../../domain/ports';
import { callOptions, conditionalUpdate, conditionalWrite, translated } from './store-errors';

export type DynamoUserStoreOptions = {
  client: DynamoClient;
  tableName: string;
  /** Bound on one call, SDK retries included. */
  timeoutMs: number;
};

// DynamoDB refuses a partition key over 2048 bytes: such a name can never exist, so it is an unknown user.
const MAX_KEY_BYTES = 2048;
const isStorableKey = (username: string) =>
  username.length > 0 && Buffer.byteLength(username, 'utf8') <= MAX_KEY_BYTES;

/**
 * Writes a whole new user item, unless the name is taken (then false): registration and the import both do, so the
 * item's shape is said once. The hash goes in `password`, where the tutorial stored it.
 */
export const putNewUser = (
  client: DynamoClient,
  tableName: string,
  user: Pick<UserRecord, 'username' | 'name' | 'passwordHash' | 'createdAt'> & {
    uid: string;
    credentialVersion: number;
    email?: string | null;
  },
  options: CallOptions,
): Promise<boolean> =>
  conditionalWrite(() =>
    client.send(
      new PutCommand({
        TableName: tableName,
        Item: {
          username: user.username,
          name: user.name,
          password: user.passwordHash,
          ...(user.createdAt === null ? {} : { createdAt: user.createdAt }),
          uid: user.uid,
          credentialVersion: user.credentialVersion,
          // A new account's address is never verified yet: verification claims it.
          ...(user.email == null ? {} : { email: user.email, emailVerified: false }),
        },
        ConditionExpression: 'attribute_not_exists(username)',
      }),
      options,
    ),
  );

export const createDynamoUserStore = (options: DynamoUserStoreOptions): UserStore => {
  const { client, tableName, timeoutMs } = options;
  const bounded = () => callOptions(timeoutMs);


  const find = async (username: string): Promise<UserRecord | null> => {
    if (!isStorableKey(username)) return null;
    const { Item } = await translated(() =>
      client.send(new GetCommand({ TableName: tableName, Key: { username }, ConsistentRead: true }), bounded()),
    );
    return Item === undefined ? null : toUserRecord(Item);
  };

  return {
    async create(user) {
      const created = await putNewUser(client, tableName, user, bounded());
      if (!created) throw new AppError('username_taken', 'this username is already taken');
    },

    find,

    requestEmail: (username, uid, email, pending) =>
      conditionalWrite(() =>
        client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { username },
            UpdateExpression: pending
              ? 'SET #pending = :email'
              : 'SET #email = :email, #verified = :false REMOVE #pending',
            ConditionExpression: pending
              ? '#uid = :uid AND #verified = :true'
              : '#uid = :uid AND (attribute_not_exists(#verified) OR #verified = :false)',
            ExpressionAttributeNames: { '#uid': 'uid', '#verified': 'emailVerified', '#pending': 'pendingEmail', ...(pending ? {} : { '#email': 'email' }) },
            ExpressionAttributeValues: { ':uid': uid, ':email': email, ...(pending ? { ':true': true } : { ':false': false }) },
          }),
          bounded(),
        ),
      ),

    async confirmEmail(username, uid, email) {
      const old = await conditionalUpdate(() =>
        client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { username },
            UpdateExpression: 'SET #email = :email, #verified = :true REMOVE #pending',
            ConditionExpression: '#uid = :uid AND (#email = :email OR #pending = :email)',
            ExpressionAttributeNames: { '#uid': 'uid', '#email': 'email', '#verified': 'emailVerified', '#pending': 'pendingEmail' },
            ExpressionAttributeValues: { ':uid': uid, ':email': email, ':true': true },
            ReturnValues: 'ALL_OLD',
          }),
          bounded(),
        ),
      );
      if (old === null) return false;
      const before = toUserRecord(old);
      return { replaced: before.emailVerified && before.email !== email ? before.email : null };
    },

    // Conditional on the account alone: the token is the authority, whatever hash a login upgraded meanwhile.
    resetPassword: (username, uid, newHash) =>
      conditionalWrite(() =>
        client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { username },
            UpdateExpression:
              'SET #password = :new, #version = if_not_exists(#version, :zero) + :one, #failures = :zero',
            ConditionExpression: '#uid = :uid',
            ExpressionAttributeNames: {
              '#password': 'password',
              '#version': 'credentialVersion',
              '#failures': 'loginFailures',
              '#uid': 'uid',
            },
            ExpressionAttributeValues: { ':new': newHash, ':uid': uid, ':zero': 0, ':one': 1 },
          }),
          bounded(),
        ),
      ),

    replacePasswordHash: (username, expectedHash, newHash) =>
      conditionalWrite(() =>
        client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { username },
            UpdateExpression: 'SET #password = :new',
            ConditionExpression: '#password = :expected',
            ExpressionAttributeNames: { '#password': 'password' },
            ExpressionAttributeValues: { ':new': newHash, ':expected': expectedHash },
          }),
          bounded(),
        ),
      ),

    async openAttempt(username, attempt) {
      if (!isStorableKey(username)) return null;
      const item = await conditionalUpdate(() =>
        client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { username },
            UpdateExpression: 'SET #lease = :deadline, #uid = if_not_exists(#uid, :uid)',
            ConditionExpression: 'attribute_exists(username)',
            ExpressionAttributeNames: { '#lease': leaseAttribute(attempt.id), '#uid': 'uid' },
            ExpressionAttributeValues: { ':deadline': attempt.deadline, ':uid': attempt.uid },
            ReturnValues: 'ALL_NEW',
          }),
          bounded(),
        ),
      );
      if (item === null) return null;
      const user = toUserRecord(item);
      return { ...user, uid: user.uid ?? attempt.uid, login: toLoginState(item) };
    },

    async closeAttempt(username, leaseId, expired) {
      await conditionalWrite(() =>
        client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { username },
            ...removeLeases([leaseId, ...expired]),
            ConditionExpression: 'attribute_exists(username)',
          }),
          bounded(),
        ),
      );
    },

    async recordFailure(username, leaseId, failure) {
      const { UpdateExpression, ExpressionAttributeNames } = removeLeases([leaseId, ...failure.expired]);
      // The lease is the attempt's proof of being counted once: a retried call finds it gone and changes nothing.
      const count = (restart: boolean) =>
        conditionalWrite(() =>
          client.send(
            new UpdateCommand({
              TableName: tableName,
              Key: { username },
              UpdateExpression: `${UpdateExpression} SET #failures = ${restart ? ':one' : 'if_not_exists(#failures, :zero) + :one'}, #last = :at`,
              // Forgotten failures start again at one, unless a concurrent failure already restarted them.
              ConditionExpression: restart ? 'attribute_exists(#lease0) AND #last = :stale' : 'attribute_exists(#lease0)',
              ExpressionAttributeNames: { ...ExpressionAttributeNames, '#failures': 'loginFailures', '#last': 'lastFailureAt' },
              ExpressionAttributeValues: {
                ':one': 1,
                ':at': failure.at,
                ...(restart ? { ':stale': failure.restartAfter } : { ':zero': 0 }),
              },
            }),
            bounded(),
          ),
        );
      if (failure.restartAfter === undefined || !(await count(true))) await count(false);
    },

    recordSuccess: (username, leaseId, expect) => {
      const { UpdateExpression, ExpressionAttributeNames } = removeLeases([leaseId, ...expect.expired]);
      const version =
        expect.credentialVersion === 0 ? '(attribute_not_exists(#version) OR #version = :version)' : '#version = :version';
      return conditionalWrite(() =>
        client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { username },
            UpdateExpression: `${UpdateExpression} SET #failures = :zero`,
            ConditionExpression: `#uid = :uid AND ${version}`,
            ExpressionAttributeNames: {
              ...ExpressionAttributeNames,
              '#failures': 'loginFailures',
              '#uid': 'uid',
              '#version': 'credentialVersion',
            },
            ExpressionAttributeValues: { ':zero': 0, ':uid': expect.uid, ':version': expect.credentialVersion },
          }),
          bounded(),
        ),
      );
    },

    changePassword: (username, expectedHash, newHash) =>
      conditionalWrite(() =>
        client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { username },
            UpdateExpression: 'SET #password = :new, #version = if_not_exists(#version, :zero) + :one',
            ConditionExpression: '#password = :expected',
            ExpressionAttributeNames: { '#password': 'password', '#version': 'credentialVersion' },
            ExpressionAttributeValues: { ':new': newHash, ':expected': expectedHash, ':zero': 0, ':one': 1 },
          }),
          bounded(),
        ),
      ),

    async updateFactors(username, change) {
      if (!isStorableKey(username)) return false;
      const write = (passkeysAtZero: boolean) =>
        conditionalWrite(() =>
          client.send(
            new UpdateCommand({ TableName: tableName, Key: { username }, ...factorUpdate(change, passkeysAtZero) }),
            bounded(),
          ),
        );
      if (await write(false)) return true;
      // One passkey fewer may have found the count at zero: the change holds all the same, the count stays zero
      // (an expression cannot floor a number, so this second write happens only when the first did not hold).
      return change.passkeys === -1 && write(true);
    },

    async ensureUserHandle(username, uid, handle) {
      if (!isStorableKey(username)) return null;
      const updated = await conditionalUpdate(() =>
        client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { username },
            UpdateExpression: 'SET #handle = if_not_exists(#handle, :handle)',
            ConditionExpression: '#uid = :uid',
            ExpressionAttributeNames: { '#handle': MFA.userHandle, '#uid': 'uid' },
            ExpressionAttributeValues: { ':handle': handle, ':uid': uid },
            ReturnValues: 'UPDATED_NEW',
          }),
          bounded(),
        ),
      );
      return updated === null ? null : String(updated[MFA.userHandle] ?? handle);
    },

    remove: (username, expectedHash) =>
      conditionalWrite(() =>
        client.send(
          new DeleteCommand({
            TableName: tableName,
            Key: { username },
            ConditionExpression: '#password = :expected',
            ExpressionAttributeNames: { '#password': 'password' },
            ExpressionAttributeValues: { ':expected': expectedHash },
          }),
          bounded(),
        ),
      ),
  };
};

// Each attempt being checked is an attribute of its own (a top-level one can always be set, even on tutorial-era
// items): `attempt_<id>` holding its deadline in epoch ms.
const LEASE_PREFIX = 'attempt_';
const leaseAttribute = (id: string) => `${LEASE_PREFIX}${id}`;

// An attempt's own lease may also be among the expired ones (its deadline passed during the check): each path once.
const removeLeases = (all: readonly string[]) => {
  const ids = [...new Set(all)];
  return {
    UpdateExpression: `REMOVE ${ids.map((_, i) => `#lease${i}`).join(', ')}`,
    ExpressionAttributeNames: Object.fromEntries(ids.map((id, i) => [`#lease${i}`, leaseAttribute(id)])),
  };
};

const toLoginState = (item: Record<string, unknown>): LoginState => ({
  failures: typeof item.loginFailures === 'number' ? item.loginFailures : 0,
  lastFailureAt: typeof item.lastFailureAt === 'number' ? item.lastFailureAt : 0,
  leases: Object.fromEntries(
    Object.entries(item)
      .filter(([name, value]) => name.startsWith(LEASE_PREFIX) && typeof value === 'number')
      .map(([name, value]) => [name.slice(LEASE_PREFIX.length), value as number]),
  ),
});

// The second factors' attributes on the user's item.
const MFA = {
  totp: 'totpSecret',
  lastStep: 'totpLastStep',
  pending: 'totpPending',
  pendingExpiresAt: 'totpPendingExpiresAt',
  recoveryCodes: 'recoveryCodes',
  passkeys: 'passkeyCount',
  userHandle: 'webauthnUserId',
  spentAt: 'mfaSpentAt',
} as const;

/**
 * The one UpdateItem a FactorChange is: each part adds its conditions and its actions. DynamoDB refuses two actions
 * on one attribute, so each attribute keeps one: the later part's, in the order the parts apply (as the in-memory
 * store applies them). A recovery code spent while the set is replaced or removed, a step recorded while TOTP goes
 * off: the smaller action goes, and its condition still holds the write to its rule. `passkeysAtZero`: the write for
 * one passkey fewer when the count is already zero (it keeps zero instead of counting down).
 */
const factorUpdate = (change: FactorChange, passkeysAtZero = false) => {
  type Action = { clause: 'SET' | 'REMOVE' | 'ADD' | 'DELETE'; text: string; values?: Record<string, unknown> };
  // Keyed by the attribute's placeholder: a later act() on one attribute replaces the earlier action.
  const actions = new Map<string, Action>();
  const act = (path: string, clause: Action['clause'], text: string, values?: Record<string, unknown>) => {
    actions.delete(path);
    actions.set(path, { clause, text, values });
  };
  const conditions = ['#uid = :uid'];
  const names: Record<string, string> = { '#uid': 'uid', '#version': 'credentialVersion' };
  const values: Record<string, unknown> = { ':uid': change.expect.uid, ':version': change.expect.credentialVersion };
  conditions.push(
    change.expect.credentialVersion === 0 ? '(attribute_not_exists(#version) OR #version = :version)' : '#version = :version',
  );
  const name = (key: keyof typeof MFA) => {
    names[`#${key}`] = MFA[key];
    return `#${key}`;
  };

  if (change.step !== undefined) {
    conditions.push(`attribute_exists(${name('totp')}) AND (attribute_not_exists(${name('lastStep')}) OR #lastStep < :step)`);
    values[':step'] = change.step;
    act('#lastStep', 'SET', '#lastStep = :step');
  }
  if (change.recoveryCode !== undefined) {
    conditions.push(`contains(${name('recoveryCodes')}, :code)`);
    values[':code'] = change.recoveryCode;
    act('#recoveryCodes', 'DELETE', '#recoveryCodes :codeSet', { ':codeSet': new Set([change.recoveryCode]) });
  }
  if (change.pendingTotp !== undefined) {
    conditions.push(`attribute_not_exists(${name('totp')})`);
    act(name('pending'), 'SET', '#pending = :pending', { ':pending': change.pendingTotp.secret });
    act(name('pendingExpiresAt'), 'SET', '#pendingExpiresAt = :pendingExpiresAt', {
      ':pendingExpiresAt': change.pendingTotp.expiresAt,
    });
  }
  if (change.totp === null) {
    conditions.push(`attribute_exists(${name('totp')})`);
    for (const key of ['totp', 'lastStep', 'pending', 'pendingExpiresAt'] as const) act(name(key), 'REMOVE', `#${key}`);
  } else if (change.totp !== undefined) {
    conditions.push(`attribute_not_exists(${name('totp')}) AND ${name('pending')} = :secret AND ${name('pendingExpiresAt')} > :now`);
    values[':secret'] = change.totp.secret;
    values[':now'] = change.totp.now;
    act('#totp', 'SET', '#totp = :secret');
    act(name('lastStep'), 'SET', '#lastStep = :lastStep', { ':lastStep': change.totp.lastStep });
    act('#pending', 'REMOVE', '#pending');
    act('#pendingExpiresAt', 'REMOVE', '#pendingExpiresAt');
  }
  if (change.recoveryCodes !== undefined) {
    const codes = change.recoveryCodes ?? [];
    name('recoveryCodes');
    // DynamoDB has no empty set: none left is no attribute.
    if (codes.length === 0) act('#recoveryCodes', 'REMOVE', '#recoveryCodes');
    else act('#recoveryCodes', 'SET', '#recoveryCodes = :codes', { ':codes': new Set(codes) });
  }
  if (change.passkeys !== undefined) {
    name('passkeys');
    if (change.passkeys === 1) act('#passkeys', 'ADD', '#passkeys :passkeys', { ':passkeys': 1 });
    else if (!passkeysAtZero) {
      conditions.push('#passkeys > :zero');
      values[':zero'] = 0;
      act('#passkeys', 'ADD', '#passkeys :passkeys', { ':passkeys': -1 });
    } else {
      // A count that drifted below the passkeys stored (one stored, its count never added) stays at zero.
      conditions.push('(attribute_not_exists(#passkeys) OR #passkeys <= :zero)');
      values[':zero'] = 0;
      act('#passkeys', 'REMOVE', '#passkeys');
    }
  }
  if (change.login !== undefined) {
    const leases = removeLeases([change.login.leaseId, ...change.login.expired]);
    Object.assign(names, leases.ExpressionAttributeNames, { '#failures': 'loginFailures' });
    for (const lease of Object.keys(leases.ExpressionAttributeNames)) act(lease, 'REMOVE', lease);
    if (change.login.mfaIssuedAt !== undefined) {
      conditions.push(`(attribute_not_exists(${name('spentAt')}) OR #spentAt < :issuedAt)`);
      values[':issuedAt'] = change.login.mfaIssuedAt;
      act('#spentAt', 'SET', '#spentAt = :issuedAt');
    }
    values[':zero'] = 0;
    act('#failures', 'SET', '#failures = :zero');
  }
  if (change.bump === true) {
    values[':zero'] = 0;
    act('#version', 'SET', '#version = if_not_exists(#version, :zero) + :one', { ':one': 1 });
  }

  const clauses = (['SET', 'REMOVE', 'ADD', 'DELETE'] as const)
    .map((clause) => {
      const texts = [...actions.values()].filter((action) => action.clause === clause).map((action) => action.text);
      return texts.length > 0 ? `${clause} ${texts.join(', ')}` : '';
    })
    .filter(Boolean);
  // Only the values the surviving actions use: DynamoDB refuses one that no expression names.
  for (const action of actions.values()) Object.assign(values, action.values);
  // A change of nothing still checks the account (and writes its uid again, the one action every item allows).
  if (clauses.length === 0) clauses.push('SET #uid = :uid');
  return {
    UpdateExpression: clauses.join(' '),
    ConditionExpression: conditions.join(' AND '),
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
};

const toMfaState = (item: Record<string, unknown>): MfaState | undefined => {
  if (!Object.values(MFA).some((attribute) => item[attribute] !== undefined)) return undefined;
  const number = (value: unknown) => (typeof value === 'number' ? value : 0);
  const codes = item[MFA.recoveryCodes];
  return {
    totp: typeof item[MFA.totp] === 'string' ? { secret: item[MFA.totp] as string, lastStep: number(item[MFA.lastStep]) } : null,
    pendingTotp:
      typeof item[MFA.pending] === 'string'
        ? { secret: item[MFA.pending] as string, expiresAt: number(item[MFA.pendingExpiresAt]) }
        : null,
    recoveryCodes: codes instanceof Set ? [...(codes as Set<string>)].sort() : [],
    passkeys: Math.max(0, number(item[MFA.passkeys])),
    userHandle: typeof item[MFA.userHandle] === 'string' ? (item[MFA.userHandle] as string) : null,
    mfaSpentAt: number(item[MFA.spentAt]),
  };
};

// Tutorial-era items may lack createdAt and uid; a malformed hash simply never verifies.
const toUserRecord = (item: Record<string, unknown>): UserRecord => {
  const mfa = toMfaState(item);
  return { ...plainUserRecord(item), ...(mfa === undefined ? {} : { mfa }) };
};

const plainUserRecord = (item: Record<string, unknown>): UserRecord => ({
  username: String(item.username),
  name: typeof item.name === 'string' ? item.name : '',
  passwordHash: typeof item.password === 'string' ? item.password : '',
  createdAt: typeof item.createdAt === 'string' ? item.createdAt : null,
  uid: typeof item.uid === 'string' ? item.uid : null,
  credentialVersion: typeof item.credentialVersion === 'number' ? item.credentialVersion : 0,
  email: typeof item.email === 'string' ? item.email : null,
  emailVerified: item.emailVerified === true && typeof item.email === 'string',
  pendingEmail: typeof item.pendingEmail === 'string' ? item.pendingEmail : null,
});
