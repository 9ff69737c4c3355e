import { expect } from 'chai';
import { Cluster, Redis } from 'ioredis';
import { errors, type AdapterPayload } from 'oidc-provider';

import { RedisStore, type RedisStoreOptions } from '../lib/store/redis.js';
import { StoreUnavailableError } from '../lib/errors.js';
import { requireRedis, startRedis, startRedisCluster, type RedisServer } from './helpers/redis-server.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The error a promise rejects with; fails the test if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

const payload = (extra: Partial<AdapterPayload> = {}): AdapterPayload => ({ clientId: 'app', iat: 1, ...extra });

/** The same adapter-level behaviour, against one server and against a three-master cluster. */
for (const mode of ['single', 'cluster'] as const) {
  describe(`RedisStore (${mode})`, function () {
    let connection: RedisStoreOptions['redis'];
    let stop: () => Promise<void>;
    let store: RedisStore;
    let other: RedisStore; // a second connection, same prefix
    let raw: Redis | Cluster; // to look at keys and TTLs directly
    const prefix = `${mode}:`;
    let n = 0;
    const id = (label: string) => `${label}-${++n}`;

    before(async function () {
      requireRedis(this);
      if (mode === 'single') {
        const server = await startRedis();
        ({ stop } = server);
        connection = server.url;
        raw = new Redis(server.url);
      } else {
        const cluster = await startRedisCluster();
        ({ stop } = cluster);
        connection = cluster.nodes;
        raw = new Cluster(cluster.nodes);
      }
      store = new RedisStore({ redis: connection, prefix });
      // The second store uses the other accepted spellings of the same server(s).
      const spelled = Array.isArray(connection) ? connection.map((node) => (typeof node === 'string' ? node : `${node.host}:${node.port}`)) : connection;
      other = new RedisStore({ redis: spelled, prefix });
      await Promise.all([store.ping(), other.ping()]);
    });

    after(async () => {
      await store?.close();
      await other?.close();
      await raw?.quit().catch(() => {});
      await stop?.();
    });

    it('round-trips a payload as JSON, without TTL when none is given', async () => {
      const value = payload({ amr: [], rar: [], extra: { big: 2 ** 53 - 1, nested: { list: [1, 'two'] } } });
      const code = id('code');
      await store.adapter('Interaction').upsert(code, value);
      expect(await store.adapter('Interaction').find(code)).to.deep.equal(value);
      expect(await other.adapter('Interaction').find(code)).to.deep.equal(value);
      expect(await raw.pttl(`${prefix}Interaction:${code}`)).to.equal(-1);
      expect(await store.adapter('Interaction').find(id('missing'))).to.equal(undefined);
      // An upsert replaces the record, TTL included.
      await store.adapter('Interaction').upsert(code, payload({ iat: 2 }), 60);
      expect(await store.adapter('Interaction').find(code)).to.deep.equal(payload({ iat: 2 }));
      expect(await raw.pttl(`${prefix}Interaction:${code}`)).to.be.within(59_000, 60_000);
      // A lifetime already over stores nothing (SET PX would refuse 0).
      await store.adapter('Interaction').upsert(code, payload(), 0);
      expect(await store.adapter('Interaction').find(code)).to.equal(undefined);
    });

    it('expires records and their secondary indexes with the TTL', async () => {
      const session = id('session');
      const device = id('device');
      await store.adapter('Session').upsert(session, payload({ uid: `uid-${session}` }), 1);
      await store.adapter('DeviceCode').upsert(device, payload({ userCode: `UC-${device}` }), 1);
      expect(await store.adapter('Session').findByUid(`uid-${session}`)).to.not.equal(undefined);
      await sleep(1200);
      expect(await store.adapter('Session').find(session)).to.equal(undefined);
      expect(await store.adapter('Session').findByUid(`uid-${session}`)).to.equal(undefined);
      expect(await store.adapter('DeviceCode').findByUserCode(`UC-${device}`)).to.equal(undefined);
      // One key per EXISTS: in a cluster the two live in different slots.
      expect(await raw.exists(`${prefix}sessionUid:uid-${session}`)).to.equal(0);
      expect(await raw.exists(`${prefix}userCode:UC-${device}`)).to.equal(0);
    });

    it('finds by uid and by user code', async () => {
      const session = id('session');
      const device = id('device');
      await store.adapter('Session').upsert(session, payload({ uid: `uid-${session}` }), 60);
      await store.adapter('DeviceCode').upsert(device, payload({ userCode: `UC-${device}` }), 60);
      expect(await store.adapter('Session').findByUid(`uid-${session}`)).to.deep.equal(payload({ uid: `uid-${session}` }));
      expect(await store.adapter('DeviceCode').findByUserCode(`UC-${device}`)).to.deep.equal(payload({ userCode: `UC-${device}` }));
      expect(await store.adapter('Session').findByUid('nobody')).to.equal(undefined);
      expect(await raw.pttl(`${prefix}sessionUid:uid-${session}`)).to.be.within(59_000, 60_000);
    });

    it('destroys a record', async () => {
      const token = id('token');
      await store.adapter('AccessToken').upsert(token, payload(), 60);
      await store.adapter('AccessToken').destroy(token);
      expect(await store.adapter('AccessToken').find(token)).to.equal(undefined);
      await store.adapter('AccessToken').destroy(token); // idempotent
    });

    it('keeps the grant index alive exactly as long as its longest member', async () => {
      const grantId = id('grant');
      const index = `${prefix}grant:${grantId}`;
      await store.adapter('AuthorizationCode').upsert(id('code'), payload({ grantId }), 60);
      const refresh = id('refresh');
      await store.adapter('RefreshToken').upsert(refresh, payload({ grantId }), 3600);
      // A shorter member added later does not shorten the index.
      await store.adapter('AccessToken').upsert(id('token'), payload({ grantId }), 10);
      const [indexTtl, refreshTtl] = await Promise.all([raw.pttl(index), raw.pttl(`${prefix}RefreshToken:${refresh}`)]);
      expect(indexTtl).to.be.at.least(refreshTtl).and.at.most(3_600_000);
      expect(await raw.scard(index)).to.equal(3);
      // A member without TTL keeps the index forever.
      await store.adapter('RefreshToken').upsert(id('refresh'), payload({ grantId }));
      expect(await raw.pttl(index)).to.equal(-1);
      await store.adapter('AccessToken').upsert(id('token'), payload({ grantId }), 10);
      expect(await raw.pttl(index)).to.equal(-1);
    });

    it('revokes every member of a grant, across models, and the index', async () => {
      const grantId = id('grant');
      const members = [
        ['AccessToken', id('token')],
        ['RefreshToken', id('refresh')],
        ['AuthorizationCode', id('code')],
        ['DeviceCode', id('device')],
      ] as const;
      for (const [model, memberId] of members) await store.adapter(model).upsert(memberId, payload({ grantId }), 600);
      const bystander = id('token');
      await store.adapter('AccessToken').upsert(bystander, payload({ grantId: id('grant') }), 600);

      await other.adapter('AccessToken').revokeByGrantId(grantId);
      for (const [model, memberId] of members) expect(await store.adapter(model).find(memberId)).to.equal(undefined);
      expect(await raw.exists(`${prefix}grant:${grantId}`)).to.equal(0);
      expect(await store.adapter('AccessToken').find(bystander)).to.not.equal(undefined);
      await store.adapter('AccessToken').revokeByGrantId(grantId); // nothing left: no error
    });

    it('consume() flags the record, keeps its TTL and never creates a missing one', async () => {
      const code = id('code');
      await store.adapter('AuthorizationCode').upsert(code, payload({ grantId: id('grant') }), 60);
      const before = Math.floor(Date.now() / 1000);
      await store.adapter('AuthorizationCode').consume(code);
      const found = await store.adapter('AuthorizationCode').find(code);
      expect(found?.consumed).to.be.a('number').within(before, before + 1);
      expect(await raw.pttl(`${prefix}AuthorizationCode:${code}`)).to.be.within(55_000, 60_000);

      const missing = id('code');
      const error = await rejection(store.adapter('AuthorizationCode').consume(missing));
      expect(error).to.be.instanceOf(errors.InvalidGrant);
      expect(await raw.exists(`${prefix}AuthorizationCode:${missing}`)).to.equal(0);
    });

    it('lets exactly one of 20 concurrent consumers on two connections win, and revokes the grant', async () => {
      const grantId = id('grant');
      const code = id('code');
      await store.adapter('Grant').upsert(grantId, payload({ accountId: 'alice' }), 600);
      await store.adapter('AuthorizationCode').upsert(code, payload({ grantId }), 60);
      const refresh = id('refresh');
      await store.adapter('RefreshToken').upsert(refresh, payload({ grantId }), 600);

      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? store : other).adapter('AuthorizationCode').consume(code)),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
      const losers = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(losers).to.have.length(19);
      for (const loser of losers) expect(loser.reason).to.be.instanceOf(errors.InvalidGrant);

      expect(await store.adapter('AuthorizationCode').find(code)).to.equal(undefined);
      expect(await store.adapter('RefreshToken').find(refresh)).to.equal(undefined);
      expect(await store.adapter('Grant').find(grantId)).to.equal(undefined);
      expect(await raw.exists(`${prefix}grant:${grantId}`)).to.equal(0);
    });

    it('rejects a second consume() of a record without grant', async () => {
      const request = id('par');
      await store.adapter('PushedAuthorizationRequest').upsert(request, payload(), 60);
      await store.adapter('PushedAuthorizationRequest').consume(request);
      expect(await rejection(store.adapter('PushedAuthorizationRequest').consume(request))).to.be.instanceOf(errors.InvalidGrant);
    });

    it('keeps stores with different prefixes apart', async () => {
      const neighbour = new RedisStore({ redis: connection, prefix: `${mode}-neighbour:` });
      try {
        const grantId = id('grant');
        const token = id('token');
        await store.adapter('AccessToken').upsert(token, payload({ grantId }), 60);
        await neighbour.adapter('AccessToken').upsert(token, payload({ grantId, clientId: 'neighbour' }), 60);
        await neighbour.adapter('AccessToken').revokeByGrantId(grantId);
        expect(await neighbour.adapter('AccessToken').find(token)).to.equal(undefined);
        expect(await store.adapter('AccessToken').find(token)).to.deep.equal(payload({ grantId }));
      } finally {
        await neighbour.close();
      }
    });

    it('leaves a client passed in open on close()', async () => {
      const borrowed = new RedisStore({ redis: raw, prefix });
      const token = id('token');
      await borrowed.adapter('AccessToken').upsert(token, payload(), 60);
      await borrowed.close();
      expect(await raw.exists(`${prefix}AccessToken:${token}`)).to.equal(1);
      expect(await rejection(borrowed.adapter('AccessToken').find(token))).to.be.instanceOf(StoreUnavailableError);
    });

    it('counts the commands it sends', async () => {
      const count = async (operation: () => Promise<unknown>) => {
        const before = store.commandCount;
        await operation();
        return store.commandCount - before;
      };
      const grantId = id('grant');
      const token = id('token');
      // One server: record and index in one script; a cluster sends the two scripts on their own.
      expect(await count(() => store.adapter('AccessToken').upsert(token, payload({ grantId }), 60))).to.equal(mode === 'single' ? 1 : 2);
      expect(await count(() => store.adapter('Interaction').upsert(id('interaction'), payload(), 60))).to.equal(1);
      expect(await count(() => store.adapter('AccessToken').find(token))).to.equal(1);
      expect(await count(() => store.adapter('AccessToken').consume(token))).to.equal(1);
    });

    if (mode === 'cluster') {
      it('revokes a grant whose members live in different slots on different masters', async () => {
        const cluster = raw as Cluster;
        const grantId = id('grant');
        const nodeOf = async (key: string) => cluster.slots[Number(await cluster.cluster('KEYSLOT', key))]?.[0];
        const placed = new Map<string, string>(); // node -> key
        for (let i = 0; placed.size < 3 && i < 200; i++) {
          const token = id('token');
          const node = await nodeOf(`${prefix}AccessToken:${token}`);
          if (node && !placed.has(node)) placed.set(node, token);
        }
        expect(placed.size).to.equal(3);
        const tokens = [...placed.values()];
        for (const token of tokens) await store.adapter('AccessToken').upsert(token, payload({ grantId }), 60);
        await store.adapter('RefreshToken').revokeByGrantId(grantId);
        for (const token of tokens) expect(await store.adapter('AccessToken').find(token)).to.equal(undefined);
        expect(await raw.exists(`${prefix}grant:${grantId}`)).to.equal(0);
      });
    }
  });
}

describe('RedisStore when Redis goes away', function () {
  let server: RedisServer;
  const unexpected: unknown[] = [];
  const record = (error: unknown) => unexpected.push(error);

  before(async function () {
    requireRedis(this);
    server = await startRedis();
    process.on('unhandledRejection', record);
    process.on('uncaughtException', record);
  });

  after(async () => {
    process.off('unhandledRejection', record);
    process.off('uncaughtException', record);
    await server?.stop();
  });

  /** Every operation must reject with StoreUnavailableError, each within `bound` ms. */
  async function expectUnavailable(store: RedisStore, bound: number): Promise<void> {
    const adapter = store.adapter('AuthorizationCode');
    const operations: [string, () => Promise<unknown>][] = [
      ['ping', () => store.ping()],
      ['upsert', () => adapter.upsert('code', payload({ grantId: 'g' }), 60)],
      ['find', () => adapter.find('code')],
      ['findByUid', () => store.adapter('Session').findByUid('uid')],
      ['findByUserCode', () => adapter.findByUserCode('UC')],
      ['consume', () => adapter.consume('code')],
      ['destroy', () => adapter.destroy('code')],
      ['revokeByGrantId', () => adapter.revokeByGrantId('g')],
    ];
    for (const [name, operation] of operations) {
      const started = Date.now();
      const error = await rejection(operation());
      expect(error, name).to.be.instanceOf(StoreUnavailableError);
      expect(Date.now() - started, name).to.be.below(bound);
    }
  }

  async function eventually(store: RedisStore): Promise<void> {
    const until = Date.now() + 10_000;
    for (;;) {
      try {
        return await store.ping();
      } catch (error) {
        if (Date.now() > until) throw error;
        await sleep(100);
      }
    }
  }

  it('fails fast while Redis is down and recovers without a restart', async () => {
    const store = new RedisStore({ redis: server.url, prefix: 'outage:' });
    try {
      await store.adapter('AccessToken').upsert('before', payload(), 600);
      await server.kill();
      await expectUnavailable(store, 2500);
      await server.restart();
      await eventually(store);
      await store.adapter('AccessToken').upsert('after', payload(), 600);
      expect(await store.adapter('AccessToken').find('after')).to.deep.equal(payload());
      expect(unexpected).to.deep.equal([]);
    } finally {
      await store.close();
    }
  });

  it('times out when Redis hangs, and recovers when it answers again', async () => {
    const store = new RedisStore({ redis: server.url, prefix: 'hang:', commandTimeout: 300 });
    try {
      await store.ping();
      server.pause();
      try {
        const started = Date.now();
        expect(await rejection(store.adapter('AccessToken').find('x'))).to.be.instanceOf(StoreUnavailableError);
        expect(Date.now() - started).to.be.within(250, 800);
      } finally {
        server.resume();
      }
      await eventually(store);
      expect(await store.adapter('AccessToken').find('x')).to.equal(undefined);
      expect(unexpected).to.deep.equal([]);
    } finally {
      await store.close();
    }
  });

  it('starts while Redis is down, rejecting within the timeout, and works once it is up', async () => {
    await server.kill();
    const store = new RedisStore({ redis: server.url, prefix: 'late:', commandTimeout: 500 });
    try {
      await expectUnavailable(store, 600);
      await server.restart();
      await eventually(store);
      await store.adapter('AccessToken').upsert('late', payload(), 60);
      expect(await store.adapter('AccessToken').find('late')).to.deep.equal(payload());
      expect(unexpected).to.deep.equal([]);
    } finally {
      await store.close();
    }
  });
});
