// `tributary acls` (kafka-acls' add/list/remove) and `tributary users` (SCRAM credentials, what
// kafka-configs --entity-type users does), over CreateAcls/DescribeAcls/DeleteAcls and
// AlterUserScramCredentials/DescribeUserScramCredentials, and `tributary delegation-tokens`
// (kafka-delegation-tokens' create/renew/expire/describe) through the Admin client.
import { randomBytes } from 'node:crypto';
import { Command } from 'commander';
import {
  ApiKey,
  type AlterUserScramCredentialsResponse,
  type CreateAclsResponse,
  type DeleteAclsResponse,
  type DescribeAclsResponse,
  type DescribeUserScramCredentialsResponse,
} from '../protocol/generated/index.js';
import { errorName } from '../protocol/errors.js';
import { codeOf, OPERATION_NAMES, PATTERN_TYPE_NAMES, PERMISSION_NAMES, RESOURCE_TYPE_NAMES } from '../protocol/acl-types.js';
import { KafkaClientError } from '../client/errors.js';
import { Admin, type DelegationToken } from '../client/admin.js';
import { SCRAM_MECHANISMS, SCRAM_MIN_ITERATIONS, scramSaltedPassword, type ScramMechanism } from '../client/sasl.js';
import { collect, connectionOptions, int, usage, withCluster, write, type ConnectionFlags } from './client-commands.js';

const RESOURCE_TYPES = RESOURCE_TYPE_NAMES;
const PATTERN_TYPES = PATTERN_TYPE_NAMES;
const OPERATIONS = OPERATION_NAMES;
const PERMISSIONS = PERMISSION_NAMES;

interface AclFlags extends ConnectionFlags {
  topic?: string;
  group?: string;
  cluster?: boolean;
  transactionalId?: string;
  resourcePatternType: string;
  allowPrincipal: string[];
  denyPrincipal: string[];
  allowHost: string[];
  denyHost: string[];
  operation: string[];
  principal?: string;
}

function code(list: readonly string[], name: string, what: string): number {
  const i = codeOf(list, name);
  if (i < 0) usage(`unknown ${what} ${name}`);
  return i;
}

/** The resources named on the command line (kafka-acls takes several at once); `any` when none. */
function resources(opts: AclFlags, required: boolean): { type: number; name: string | null }[] {
  const out: { type: number; name: string | null }[] = [];
  if (opts.topic !== undefined) out.push({ type: 2, name: opts.topic });
  if (opts.group !== undefined) out.push({ type: 3, name: opts.group });
  if (opts.cluster) out.push({ type: 4, name: 'kafka-cluster' });
  if (opts.transactionalId !== undefined) out.push({ type: 5, name: opts.transactionalId });
  if (out.length === 0) {
    if (required) usage('give a resource: --topic, --group, --cluster or --transactional-id');
    out.push({ type: 1, name: null });
  }
  return out;
}

function bindings(opts: AclFlags, patternType: number) {
  const principals = [
    ...opts.allowPrincipal.map((p) => ({ p, permission: 3, hosts: opts.allowHost })),
    ...opts.denyPrincipal.map((p) => ({ p, permission: 2, hosts: opts.denyHost })),
  ];
  if (principals.length === 0) usage('give --allow-principal or --deny-principal');
  if (opts.operation.length === 0) usage('give --operation');
  const out = [];
  for (const r of resources(opts, true)) {
    for (const { p, permission, hosts } of principals) {
      for (const host of hosts.length > 0 ? hosts : ['*']) {
        for (const op of opts.operation) {
          out.push({
            resourceType: r.type,
            resourceName: r.name!,
            resourcePatternType: patternType,
            principal: p,
            host,
            operation: code(OPERATIONS, op, 'operation'),
            permissionType: permission,
          });
        }
      }
    }
  }
  return out;
}

function aclOptions(cmd: Command): Command {
  return connectionOptions(cmd)
    .option('--topic <name>', 'a topic (* for all)')
    .option('--group <id>', 'a consumer group (* for all)')
    .option('--cluster', 'the cluster')
    .option('--transactional-id <id>', 'a transactional id (* for all)')
    .option('--resource-pattern-type <type>', 'literal, prefixed (add); also any, match (list, remove)', 'literal')
    .option('--allow-principal <principal>', 'User:name (repeatable)', collect, [])
    .option('--deny-principal <principal>', 'User:name (repeatable)', collect, [])
    .option('--allow-host <host>', 'host of the allowed principals (default *)', collect, [])
    .option('--deny-host <host>', 'host of the denied principals (default *)', collect, [])
    .option('--operation <op>', 'Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, All (repeatable)', collect, []);
}

async function printAcls(res: DescribeAclsResponse): Promise<void> {
  for (const r of res.resources) {
    await write(
      `Current ACLs for resource \`ResourcePattern(resourceType=${RESOURCE_TYPES[r.resourceType]}, name=${r.resourceName}, patternType=${PATTERN_TYPES[r.patternType]})\`: \n`,
    );
    for (const a of r.acls)
      await write(` \t(principal=${a.principal}, host=${a.host}, operation=${OPERATIONS[a.operation]}, permissionType=${PERMISSIONS[a.permissionType]})\n`);
    await write('\n');
  }
}

function failIf(errorCode: number, message: string | null): void {
  if (errorCode !== 0) throw new KafkaClientError(errorName(errorCode), message ?? errorName(errorCode), errorCode);
}

function aclsCommand(): Command {
  const acls = new Command('acls').description('add, list and remove ACLs (kafka-acls)');
  aclOptions(acls.command('add').description('add ACLs')).action((opts: AclFlags) =>
    withCluster(opts, async (cluster) => {
      const patternType = code(PATTERN_TYPES, opts.resourcePatternType, 'pattern type');
      const creations = bindings(opts, patternType);
      const c = await cluster.anyConnection();
      const res = await c.request<CreateAclsResponse>(ApiKey.CreateAcls, { creations });
      for (const r of res.results) failIf(r.errorCode, r.errorMessage);
      await write(`Added ${creations.length} ACL${creations.length === 1 ? '' : 's'}.\n`);
    }),
  );
  aclOptions(acls.command('list').description('list ACLs matching the resource and principal given (all by default)'))
    .option('--principal <principal>', 'only this principal')
    .action((opts: AclFlags) =>
      withCluster(opts, async (cluster) => {
        const patternType = (opts.topic ?? opts.group ?? opts.transactionalId ?? opts.cluster) ? code(PATTERN_TYPES, opts.resourcePatternType, 'pattern type') : 1;
        const c = await cluster.anyConnection();
        for (const r of resources(opts, false)) {
          const res = await c.request<DescribeAclsResponse>(ApiKey.DescribeAcls, {
            resourceTypeFilter: r.type,
            resourceNameFilter: r.name,
            patternTypeFilter: patternType,
            principalFilter: opts.principal ?? null,
            hostFilter: null,
            operation: 1,
            permissionType: 1,
          });
          failIf(res.errorCode, res.errorMessage);
          await printAcls(res);
        }
      }),
    );
  aclOptions(acls.command('remove').description('remove the ACLs matching the resource, principals and operations given')).action((opts: AclFlags) =>
    withCluster(opts, async (cluster) => {
      const patternType = code(PATTERN_TYPES, opts.resourcePatternType, 'pattern type');
      const principals = [...opts.allowPrincipal.map((p) => ({ p, permission: 3 })), ...opts.denyPrincipal.map((p) => ({ p, permission: 2 }))];
      const filters = [];
      for (const r of resources(opts, true)) {
        for (const { p, permission } of principals.length > 0 ? principals : [{ p: null, permission: 1 }]) {
          for (const op of opts.operation.length > 0 ? opts.operation.map((o) => code(OPERATIONS, o, 'operation')) : [1]) {
            filters.push({
              resourceTypeFilter: r.type,
              resourceNameFilter: r.name,
              patternTypeFilter: patternType,
              principalFilter: p,
              hostFilter: null,
              operation: op,
              permissionType: permission,
            });
          }
        }
      }
      const c = await cluster.anyConnection();
      const res = await c.request<DeleteAclsResponse>(ApiKey.DeleteAcls, { filters });
      let removed = 0;
      for (const f of res.filterResults) {
        failIf(f.errorCode, f.errorMessage);
        removed += f.matchingAcls.length;
      }
      await write(`Removed ${removed} ACL${removed === 1 ? '' : 's'}.\n`);
    }),
  );
  return acls;
}

function mechanismOf(name: string): ScramMechanism {
  const m = name.toUpperCase();
  if (m !== 'SCRAM-SHA-256' && m !== 'SCRAM-SHA-512') usage(`--mechanism must be SCRAM-SHA-256 or SCRAM-SHA-512, not ${name}`);
  return m;
}

function usersCommand(): Command {
  const users = new Command('users').description('SCRAM credentials of users (kafka-configs --entity-type users)');
  connectionOptions(users.command('set').description("create or change a user's SCRAM credential").argument('<user>'))
    .requiredOption('--password <password>', 'the password (only its salted keys reach the broker)')
    .option('--mechanism <mechanism>', 'SCRAM-SHA-256 or SCRAM-SHA-512 (repeatable; default both)', collect, [])
    .option('--iterations <n>', 'PBKDF2 iterations (4096-16384)', String(SCRAM_MIN_ITERATIONS))
    .action((user: string, opts: ConnectionFlags & { password: string; mechanism: string[]; iterations: string }) =>
      withCluster(opts, async (cluster) => {
        const iterations = int('--iterations', opts.iterations, 1)!;
        const mechanisms = opts.mechanism.length > 0 ? opts.mechanism.map(mechanismOf) : (['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const);
        const upsertions = mechanisms.map((m) => {
          const salt = randomBytes(32);
          return { name: user, mechanism: SCRAM_MECHANISMS[m].type, iterations, salt, saltedPassword: scramSaltedPassword(m, opts.password, salt, iterations) };
        });
        const c = await cluster.anyConnection();
        const res = await c.request<AlterUserScramCredentialsResponse>(ApiKey.AlterUserScramCredentials, { deletions: [], upsertions });
        for (const r of res.results) failIf(r.errorCode, r.errorMessage);
        await write(`Set ${mechanisms.join(', ')} for user ${user}.\n`);
      }),
    );
  connectionOptions(users.command('delete').description("remove a user's SCRAM credential").argument('<user>'))
    .option('--mechanism <mechanism>', 'SCRAM-SHA-256 or SCRAM-SHA-512 (repeatable; default both that exist)', collect, [])
    .action((user: string, opts: ConnectionFlags & { mechanism: string[] }) =>
      withCluster(opts, async (cluster) => {
        const c = await cluster.anyConnection();
        let mechanisms = opts.mechanism.map(mechanismOf).map((m) => SCRAM_MECHANISMS[m].type);
        if (mechanisms.length === 0) {
          const d = await c.request<DescribeUserScramCredentialsResponse>(ApiKey.DescribeUserScramCredentials, { users: [{ name: user }] });
          failIf(d.errorCode, d.errorMessage);
          failIf(d.results[0]!.errorCode, d.results[0]!.errorMessage);
          mechanisms = d.results[0]!.credentialInfos.map((i) => i.mechanism);
        }
        const res = await c.request<AlterUserScramCredentialsResponse>(ApiKey.AlterUserScramCredentials, {
          deletions: mechanisms.map((mechanism) => ({ name: user, mechanism })),
          upsertions: [],
        });
        for (const r of res.results) failIf(r.errorCode, r.errorMessage);
        await write(`Deleted the SCRAM credentials of user ${user}.\n`);
      }),
    );
  connectionOptions(users.command('list').description('users with SCRAM credentials, and their mechanisms and iterations').argument('[users...]')).action(
    (names: string[], opts: ConnectionFlags) =>
      withCluster(opts, async (cluster) => {
        const c = await cluster.anyConnection();
        const res = await c.request<DescribeUserScramCredentialsResponse>(ApiKey.DescribeUserScramCredentials, {
          users: names.length > 0 ? names.map((name) => ({ name })) : null,
        });
        failIf(res.errorCode, res.errorMessage);
        for (const r of res.results) {
          failIf(r.errorCode, r.errorMessage);
          const byType = new Map(Object.entries(SCRAM_MECHANISMS).map(([name, m]) => [m.type, name]));
          await write(
            `SCRAM credential configs for user-principal '${r.user}' are ${r.credentialInfos.map((i) => `${byType.get(i.mechanism)}=iterations=${i.iterations}`).join(', ')}\n`,
          );
        }
      }),
  );
  return users;
}

/** A period in ms: -1 (the broker's default) or more. */
function period(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < -1) usage(`${name} must be an integer >= -1 (-1: the broker's default), got "${value}"`);
  return n;
}

function hmacOf(value: string): Buffer {
  const hmac = Buffer.from(value, 'base64');
  if (hmac.length === 0 || hmac.toString('base64') !== value.replace(/\s/g, '')) usage('--hmac must be the base64 HMAC printed by `delegation-tokens create`');
  return hmac;
}

const date = (ms: number) => new Date(ms).toISOString();

async function printTokens(tokens: DelegationToken[], json: boolean): Promise<void> {
  if (json) {
    const rows = tokens.map((t) => ({ ...t, hmac: t.hmac.length > 0 ? t.hmac.toString('base64') : null }));
    await write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  const rows = [
    ['TOKENID', 'HMAC', 'OWNER', 'REQUESTER', 'RENEWERS', 'ISSUEDATE', 'EXPIRYDATE', 'MAXDATE'],
    ...tokens.map((t) => [
      t.tokenId,
      t.hmac.length > 0 ? t.hmac.toString('base64') : '<hidden>',
      t.owner,
      t.requester,
      `[${t.renewers.join(', ')}]`,
      date(t.issueTimestampMs),
      date(t.expiryTimestampMs),
      date(t.maxTimestampMs),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows)
    await write(
      `${r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd()}\n`,
    );
}

function delegationTokensCommand(): Command {
  const tokens = new Command('delegation-tokens').description('create, renew, expire and describe delegation tokens (kafka-delegation-tokens)');
  connectionOptions(tokens.command('create').description('create a token for the connected principal (or --owner-principal)'))
    .option('--max-life-time-period <ms>', "the token's maximum life (-1: the broker's delegation.token.max.lifetime.ms)", '-1')
    .option('--renewer-principal <principal>', 'a principal that may renew the token, e.g. User:bob (repeatable)', collect, [])
    .option('--owner-principal <principal>', 'create the token for this principal (needs CREATE_TOKENS on the user)')
    .option('--json', 'print JSON instead of text')
    .action((opts: ConnectionFlags & { maxLifeTimePeriod: string; renewerPrincipal: string[]; ownerPrincipal?: string; json?: boolean }) =>
      withCluster(opts, async (cluster) => {
        const maxLifetimeMs = period('--max-life-time-period', opts.maxLifeTimePeriod);
        const token = await new Admin(cluster).createDelegationToken({ renewers: opts.renewerPrincipal, maxLifetimeMs, owner: opts.ownerPrincipal });
        if (!opts.json) await write(`Created delegation token with tokenId : ${token.tokenId}\n\n`);
        await printTokens([token], opts.json === true);
      }),
    );
  connectionOptions(tokens.command('renew').description("extend a token's expiry (as its owner or a renewer)"))
    .requiredOption('--hmac <base64>', "the token's HMAC")
    .option('--renew-time-period <ms>', "how long from now (-1: the broker's delegation.token.expiry.time.ms)", '-1')
    .action((opts: ConnectionFlags & { hmac: string; renewTimePeriod: string }) =>
      withCluster(opts, async (cluster) => {
        const expiry = await new Admin(cluster).renewDelegationToken(hmacOf(opts.hmac), period('--renew-time-period', opts.renewTimePeriod));
        await write(`Completed renew operation. New expiry date : ${date(expiry)}\n`);
      }),
    );
  connectionOptions(tokens.command('expire').description('expire a token, at once or after a period (as its owner or a renewer)'))
    .requiredOption('--hmac <base64>', "the token's HMAC")
    .option('--expiry-time-period <ms>', 'how long from now (-1: at once)', '-1')
    .action((opts: ConnectionFlags & { hmac: string; expiryTimePeriod: string }) =>
      withCluster(opts, async (cluster) => {
        const expiry = await new Admin(cluster).expireDelegationToken(hmacOf(opts.hmac), period('--expiry-time-period', opts.expiryTimePeriod));
        await write(`Completed expire operation. New expiry date : ${date(expiry)}\n`);
      }),
    );
  connectionOptions(tokens.command('describe').description('the tokens the connected principal may describe'))
    .option('--owner-principal <principal>', 'only tokens of this owner (repeatable)', collect, [])
    .option('--json', 'print JSON instead of text')
    .action((opts: ConnectionFlags & { ownerPrincipal: string[]; json?: boolean }) =>
      withCluster(opts, async (cluster) => {
        const list = await new Admin(cluster).describeDelegationTokens(opts.ownerPrincipal.length > 0 ? opts.ownerPrincipal : null);
        await printTokens(list, opts.json === true);
      }),
    );
  return tokens;
}

export function addSecurityCommands(program: Command): void {
  program.addCommand(delegationTokensCommand());
  program.addCommand(aclsCommand());
  program.addCommand(usersCommand());
}
