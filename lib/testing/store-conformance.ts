import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import type { Store } from '../store/store.js';

/** One check of the Store contract: `run` rejects (an AssertionError) when the store breaks it. */
export interface StoreConformanceCheck {
  name: string;
  run(store: Store): Promise<void>;
}

/** How many writers each race sends at once: enough that a read-modify-write loses some. */
const WRITERS = 40;

const fresh = () => `conformance-${randomBytes(6).toString('hex')}`;
const times = <T>(n: number, make: (i: number) => Promise<T>) => Promise.all(Array.from({ length: n }, (_, i) => make(i)));

/**
 * The contract every orgconnect store meets, as plain async checks for any test runner:
 *
 * ```ts
 * for (const check of storeConformance()) it(check.name, () => check.run(myStore));
 * ```
 *
 * Races send their writes concurrently (on a networked store, on one connection or several:
 * pass a store whose operations overlap). Expiry checks wait about a second.
 */
export function storeConformance(): StoreConformanceCheck[] {
  return [
    {
      name: 'putIfAbsent: of concurrent creators, the first write wins and every caller is told what is stored',
      async run(store) {
        const id = fresh();
        const answers = await times(WRITERS, (i) => store.putIfAbsent('Conformance', id, { writer: i }));
        const stored = await store.adapter('Conformance').find(id);
        assert.ok(stored, 'a record is stored');
        for (const answer of answers) assert.deepEqual(answer, stored);
      },
    },
    {
      name: 'putIfAbsent: a record given a lifetime expires',
      async run(store) {
        const id = fresh();
        await store.putIfAbsent('Conformance', id, { a: 1 }, 0.3);
        assert.deepEqual(await store.adapter('Conformance').find(id), { a: 1 });
        await sleep(1000);
        assert.equal(await store.adapter('Conformance').find(id), undefined);
      },
    },
    {
      name: 'writeVersioned: creates only when absent, and refuses a stale version',
      async run(store) {
        const id = fresh();
        assert.equal(await store.readVersioned('Conformance', id), undefined);
        const first = await store.writeVersioned('Conformance', id, { n: 1 }, 0);
        assert.ok(first && first > 0, 'the first write succeeds');
        assert.equal(await store.writeVersioned('Conformance', id, { n: 2 }, 0), undefined, 'a create over an existing record');
        const read = await store.readVersioned('Conformance', id);
        assert.deepEqual(read, { value: { n: 1 }, version: first });
        const second = await store.writeVersioned('Conformance', id, { n: 2 }, first);
        assert.ok(second && second > first, 'a write at the current version succeeds');
        assert.equal(await store.writeVersioned('Conformance', id, { n: 3 }, first), undefined, 'a write at a stale version');
        assert.deepEqual((await store.readVersioned('Conformance', id))?.value, { n: 2 });
        assert.deepEqual(await store.adapter('Conformance').find(id), { n: 2 }, 'the adapter finds the same record');
      },
    },
    {
      name: 'writeVersioned: of concurrent writers at one version, exactly one wins',
      async run(store) {
        const id = fresh();
        const created = (await store.writeVersioned('Conformance', id, { n: 0 }, 0))!;
        const results = await times(WRITERS, (i) => store.writeVersioned('Conformance', id, { n: i }, created));
        assert.equal(results.filter((r) => r !== undefined).length, 1);
      },
    },
    {
      name: 'writeVersioned: concurrent read-change-write loops lose no update',
      async run(store) {
        const id = fresh();
        await store.writeVersioned('Conformance', id, { items: [] }, 0);
        await times(WRITERS / 2, async (i) => {
          for (;;) {
            const current = (await store.readVersioned('Conformance', id))!;
            const items = (current.value as { items: number[] }).items;
            if ((await store.writeVersioned('Conformance', id, { items: [...items, i] }, current.version)) !== undefined) return;
          }
        });
        const items = ((await store.readVersioned('Conformance', id))!.value as { items: number[] }).items;
        assert.deepEqual([...items].sort((a, b) => a - b), Array.from({ length: WRITERS / 2 }, (_, i) => i));
      },
    },
    {
      name: 'increment: concurrent increments each see a distinct value and none is lost',
      async run(store) {
        const id = fresh();
        const values = await times(WRITERS, () => store.increment('Conformance', id, 1, 60));
        assert.deepEqual([...values].sort((a, b) => a - b), Array.from({ length: WRITERS }, (_, i) => i + 1));
        assert.equal(await store.increment('Conformance', id, -WRITERS, 60), 0);
      },
    },
    {
      name: 'increment: a counter expires after the lifetime it was created with; expire() changes it',
      async run(store) {
        const [short, extended] = [fresh(), fresh()];
        await store.increment('Conformance', short, 1, 0.3);
        await store.increment('Conformance', short, 1, 60); // an existing counter keeps its expiry
        await store.increment('Conformance', extended, 1, 0.3);
        await store.expire('Conformance', extended, 60);
        await sleep(1000);
        assert.equal(await store.increment('Conformance', short, 1, 60), 1, 'the expired counter starts again');
        assert.equal(await store.increment('Conformance', extended, 1, 60), 2, 'the extended counter lives on');
      },
    },
    {
      name: 'groups: concurrent puts and removes of different members all apply',
      async run(store) {
        const id = fresh();
        await times(WRITERS, (i) => store.groupPut('Conformance', id, `keep${i}`, `v${i}`));
        await Promise.all([
          ...Array.from({ length: WRITERS }, (_, i) => store.groupPut('Conformance', id, `new${i}`, `n${i}`)),
          ...Array.from({ length: WRITERS }, (_, i) => store.groupRemove('Conformance', id, [`keep${i}`]).then(() => undefined)),
        ]);
        const members = await store.groupRead('Conformance', id);
        assert.deepEqual(
          Object.keys(members).sort(),
          Array.from({ length: WRITERS }, (_, i) => `new${i}`).sort(),
        );
        assert.equal(members.new3, 'n3');
        assert.equal(await store.groupRemove('Conformance', id, ['new1', 'absent']), 1);
        assert.deepEqual(await store.groupRead('Conformance', fresh()), {});
      },
    },
    {
      name: 'groups: a limit admits exactly that many concurrent new members; markers ("") do not count',
      async run(store) {
        const id = fresh();
        await store.groupPut('Conformance', id, 'marker', '');
        const admitted = await times(WRITERS, (i) => store.groupPut('Conformance', id, `m${i}`, 'x', { limit: 5 }));
        assert.equal(admitted.filter(Boolean).length, 5);
        assert.equal(Object.keys(await store.groupRead('Conformance', id)).length, 6);
        const existing = Object.keys(await store.groupRead('Conformance', id)).find((m) => m !== 'marker')!;
        assert.equal(await store.groupPut('Conformance', id, existing, 'y', { limit: 5 }), true, 'replacing a member is not adding one');
      },
    },
    {
      name: 'groups: a lifetime only grows; destroy() removes a group, a counter and a versioned record',
      async run(store) {
        const [growing, kept] = [fresh(), fresh()];
        await store.groupPut('Conformance', growing, 'a', '1', { ttlSeconds: 60 });
        await store.groupPut('Conformance', growing, 'b', '1', { ttlSeconds: 0.3 });
        await store.groupPut('Conformance', kept, 'a', '1', { ttlSeconds: 0.3 });
        await store.groupPut('Conformance', kept, 'b', '1');
        await sleep(1000);
        assert.deepEqual(Object.keys(await store.groupRead('Conformance', growing)).sort(), ['a', 'b']);
        assert.deepEqual(Object.keys(await store.groupRead('Conformance', kept)).sort(), ['a', 'b']);

        const [counter, versioned] = [fresh(), fresh()];
        await store.increment('Conformance', counter, 3, 60);
        await store.writeVersioned('Conformance', versioned, { a: 1 }, 0);
        await Promise.all([growing, counter, versioned].map((id) => store.adapter('Conformance').destroy(id)));
        assert.deepEqual(await store.groupRead('Conformance', growing), {});
        assert.equal(await store.increment('Conformance', counter, 1, 60), 1);
        assert.equal(await store.readVersioned('Conformance', versioned), undefined);
      },
    },
  ];
}
