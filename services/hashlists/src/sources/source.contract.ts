// The HashListSource contract every adapter passes: reads are repeatable (the same checkpoint
// gives the same delivery), following checkpoints drains the source to null, deliveries hold
// well-formed entries of the source's algorithm, and a new upstream delivery appears after the
// last checkpoint. Adapters' tests call it with a fixture upstream they can advance.

import { HEX_LENGTH } from '@vigil/matching';
import { expect, it } from 'vitest';
import type { Checkpoint, Delivery, HashListSource } from './source.ts';

export interface SourceFixture {
  source: HashListSource;
  /** Makes the upstream publish one more delivery. */
  advance(): Promise<void>;
}

function entriesOf(delivery: Delivery) {
  return delivery.kind === 'snapshot' ? delivery.entries : delivery.added;
}

export function hashListSourceContract(name: string, fixture: () => Promise<SourceFixture>): void {
  it(`${name}: repeatable reads, drains to null, well-formed entries, then sees a new delivery`, async () => {
    const { source, advance } = await fixture();
    const first = await source.fetch(null);
    expect(first).not.toBeNull();
    const again = await source.fetch(null);
    expect(again?.sha256).toBe(first!.sha256);
    expect(again?.checkpoint).toEqual(first!.checkpoint);

    let checkpoint: Checkpoint = first!.checkpoint;
    let delivery: Delivery | null = first;
    for (let steps = 0; delivery !== null; steps++) {
      expect(steps).toBeLessThan(20);
      for (const entry of entriesOf(delivery)) expect(entry.hash).toMatch(new RegExp(`^[0-9a-f]{${HEX_LENGTH[source.algorithm]}}$`));
      expect(delivery.sha256).toMatch(/^[0-9a-f]{64}$/);
      checkpoint = delivery.checkpoint;
      delivery = await source.fetch(checkpoint);
    }
    expect(await source.fetch(checkpoint)).toBeNull();

    await advance();
    const next = await source.fetch(checkpoint);
    expect(next).not.toBeNull();
    expect(next!.sha256).not.toBe(first!.sha256);
  });
}
