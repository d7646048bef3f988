// The one DynamoDB client a process uses: commands shaped like @aws-sdk/lib-dynamodb's (plain JavaScript values in
// and out, marshalled by the SDK's own util-dynamodb), sent by our small JSON-protocol caller instead of the SDK
// client. Same wire requests, same error names; a fraction of the code to parse at every cold start.
import { marshall, unmarshall, type NativeAttributeValue } from '@aws-sdk/util-dynamodb';
import type {
  BatchGetCommandInput,
  BatchGetCommandOutput,
  BatchWriteCommandInput,
  BatchWriteCommandOutput,
  DeleteCommandInput,
  DeleteCommandOutput,
  GetCommandInput,
  GetCommandOutput,
  PutCommandInput,
  PutCommandOutput,
  QueryCommandInput,
  QueryCommandOutput,
  ScanCommandInput,
  ScanCommandOutput,
  UpdateCommandInput,
  UpdateCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import type {
  CreateTableCommandInput,
  CreateTableCommandOutput,
  DescribeTableCommandInput,
  DescribeTableCommandOutput,
  ListTablesCommandInput,
  ListTablesCommandOutput,
} from '@aws-sdk/client-dynamodb';
import {
  createJsonService,
  staticCredentials,
  type AwsCredentials,
  type CallOptions,
  type CredentialProvider,
} from '../aws/json-protocol';
import { environmentCredentials } from '../lambda/env-credentials';

type Item = Record<string, NativeAttributeValue>;
type Wire = Record<string, unknown>;

// ---------- values: JavaScript <-> DynamoDB JSON, binary as base64 on the wire ----------

const MARSHALL_OPTIONS = { removeUndefinedValues: true } as const;

/** Binary values travel as base64 text in the JSON protocol; util-dynamodb works with bytes. */
const mapBinary = (value: unknown, convert: (bytes: unknown) => unknown): unknown => {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((entry) => mapBinary(entry, convert));
  const attribute = value as Record<string, unknown>;
  if ('B' in attribute) return { B: convert(attribute.B) };
  if ('BS' in attribute) return { BS: (attribute.BS as unknown[]).map(convert) };
  if ('M' in attribute) return { M: mapValues(attribute.M as Wire, (entry) => mapBinary(entry, convert)) };
  if ('L' in attribute) return { L: (attribute.L as unknown[]).map((entry) => mapBinary(entry, convert)) };
  return attribute;
};
const mapValues = (record: Wire, convert: (value: unknown) => unknown): Wire =>
  Object.fromEntries(Object.entries(record).map(([key, value]) => [key, convert(value)]));

const toBase64 = (bytes: unknown) => Buffer.from(bytes as Uint8Array).toString('base64');
const fromBase64 = (text: unknown) => new Uint8Array(Buffer.from(text as string, 'base64'));

const toWire = (item: Item): Wire => mapValues(marshall(item, MARSHALL_OPTIONS) as Wire, (value) => mapBinary(value, toBase64));
const fromWire = (item: Wire): Item =>
  unmarshall(mapValues(item, (value) => mapBinary(value, fromBase64)) as Parameters<typeof unmarshall>[0]);

// ---------- commands: which fields of an input and an output hold items ----------

/** How one operation's input and output are translated; the fields are those lib-dynamodb translates. */
type Translation = { input(input: Wire): Wire; output(output: Wire): Wire };

const translateFields = (record: Wire, fields: Record<string, (value: never) => unknown>): Wire => {
  const copy: Wire = { ...record };
  for (const [field, convert] of Object.entries(fields)) {
    if (copy[field] !== undefined) copy[field] = convert(copy[field] as never);
  }
  return copy;
};

const keyAndValues = { Key: toWire, ExpressionAttributeValues: toWire, ExclusiveStartKey: toWire };
const itemsOut = {
  Item: fromWire,
  Attributes: fromWire,
  Items: (items: Wire[]) => items.map(fromWire),
  LastEvaluatedKey: fromWire,
};

const single: Translation = {
  input: (input) => translateFields(input, { ...keyAndValues, Item: toWire }),
  output: (output) => translateFields(output, itemsOut),
};

type WriteRequest = { PutRequest?: { Item: Wire }; DeleteRequest?: { Key: Wire } };
const writeRequests = (convert: (item: never) => Wire) => (tables: Record<string, WriteRequest[]>) =>
  mapValues(tables, (requests) =>
    (requests as WriteRequest[]).map((request) => ({
      ...(request.PutRequest ? { PutRequest: { Item: convert(request.PutRequest.Item as never) } } : {}),
      ...(request.DeleteRequest ? { DeleteRequest: { Key: convert(request.DeleteRequest.Key as never) } } : {}),
    })),
  );

type KeysAndAttributes = { Keys: Wire[] } & Wire;
const keySets = (convert: (item: never) => Wire) => (tables: Record<string, KeysAndAttributes>) =>
  mapValues(tables, (request) => ({
    ...(request as KeysAndAttributes),
    Keys: (request as KeysAndAttributes).Keys.map((key) => convert(key as never)),
  }));

const TRANSLATIONS: Record<string, Translation> = {
  GetItem: single,
  PutItem: single,
  UpdateItem: single,
  DeleteItem: single,
  Query: single,
  Scan: single,
  BatchWriteItem: {
    input: (input) => translateFields(input, { RequestItems: writeRequests(toWire) }),
    output: (output) => translateFields(output, { UnprocessedItems: writeRequests(fromWire) }),
  },
  BatchGetItem: {
    input: (input) => translateFields(input, { RequestItems: keySets(toWire) }),
    output: (output) =>
      translateFields(output, {
        Responses: (tables: Record<string, Wire[]>) => mapValues(tables, (items) => (items as Wire[]).map(fromWire)),
        UnprocessedKeys: keySets(fromWire),
      }),
  },
};
const AS_IS: Translation = { input: (input) => input, output: (output) => output };

/** A request to send: the operation's name and its input, typed with its output. */
export type Command<Input, Output> = { readonly operation: string; readonly input: Input; readonly __output?: Output };

// Named and shaped as lib-dynamodb's commands (`new GetCommand(input)` reads the same), so the adapters read as
// the SDK's documentation does.
const commandClass = <Input, Output>(operation: string) =>
  class {
    readonly operation = operation;
    declare readonly __output?: Output;
    constructor(readonly input: Input) {}
  };

export const GetCommand = commandClass<GetCommandInput, GetCommandOutput>('GetItem');
export const PutCommand = commandClass<PutCommandInput, PutCommandOutput>('PutItem');
export const UpdateCommand = commandClass<UpdateCommandInput, UpdateCommandOutput>('UpdateItem');
export const DeleteCommand = commandClass<DeleteCommandInput, DeleteCommandOutput>('DeleteItem');
export const QueryCommand = commandClass<QueryCommandInput, QueryCommandOutput>('Query');
export const ScanCommand = commandClass<ScanCommandInput, ScanCommandOutput>('Scan');
export const BatchWriteCommand = commandClass<BatchWriteCommandInput, BatchWriteCommandOutput>('BatchWriteItem');
export const BatchGetCommand = commandClass<BatchGetCommandInput, BatchGetCommandOutput>('BatchGetItem');
export const CreateTableCommand = commandClass<CreateTableCommandInput, CreateTableCommandOutput>('CreateTable');
export const DescribeTableCommand = commandClass<DescribeTableCommandInput, DescribeTableCommandOutput>('DescribeTable');
export const ListTablesCommand = commandClass<ListTablesCommandInput, ListTablesCommandOutput>('ListTables');

export type DynamoClient = {
  send<Input, Output>(command: Command<Input, Output>, options?: CallOptions): Promise<Output>;
  destroy(): void;
};

export type DynamoClientOptions = {
  region: string;
  endpoint?: string | undefined;
  /** Fixed credentials (local stores accept any), or a provider; without either, the environment's (Lambda's). */
  credentials?: AwsCredentials | CredentialProvider | undefined;
  /** The budget of one store call, retries included; a single attempt gets a share of it. */
  timeoutMs: number;
};

export const createDynamoClient = (options: DynamoClientOptions): DynamoClient => {
  const credentials =
    options.credentials === undefined
      ? environmentCredentials
      : typeof options.credentials === 'function'
        ? options.credentials
        : staticCredentials(options.credentials);
  const service = createJsonService({
    service: 'dynamodb',
    targetPrefix: 'DynamoDB_20120810',
    jsonVersion: '1.0',
    region: options.region,
    endpoint: options.endpoint,
    credentials,
    // Three attempts of half the budget each, as before with the SDK: a hung attempt leaves room for one more.
    attemptTimeoutMs: Math.max(100, Math.floor(options.timeoutMs / 2)),
    maxAttempts: 3,
  });
  return {
    async send<Input, Output>(request: Command<Input, Output>, callOptions?: CallOptions): Promise<Output> {
      const translation = TRANSLATIONS[request.operation] ?? AS_IS;
      const output = await service.call<Wire>(request.operation, translation.input(request.input as Wire), callOptions);
      return translation.output(output) as Output;
    },
    destroy: () => service.destroy(),
  };
};

/**
 * Opens the client's connection (TCP, and TLS on AWS) with one small read of the users table, for an entry point
 * to run during initialization. Never fails: a store that is down is reported by the first real request.
 */
export const openConnection = async (client: DynamoClient, usersTableName: string, timeoutMs: number): Promise<void> => {
  try {
    // Any key will do: the answer (one attribute at most) is dropped; only the round trip matters.
    const Key = { username: 'connection-check' };
    await client.send(new GetCommand({ TableName: usersTableName, Key, ProjectionExpression: 'username' }), {
      abortSignal: AbortSignal.timeout(timeoutMs),
    });
  } catch {
    // see above
  }
};
