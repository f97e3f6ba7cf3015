import type { Bus, Handler, SubscribeOptions, Subscription } from '@vigil/bus';
import type { Event, EventType } from '@vigil/events';
import { describe, expect, it } from 'vitest';
import { subscribeActioner, type Actioner } from './actioner.ts';

describe('subscribeActioner', () => {
  it('consumes match.found.v1 as group actioner and hands each event to the actioner', async () => {
    const subscribed: { options: SubscribeOptions; handler: Handler }[] = [];
    const bus = {
      subscribe: async <T extends EventType>(options: SubscribeOptions<T>, handler: Handler<T>): Promise<Subscription> => {
        subscribed.push({ options, handler: handler as unknown as Handler });
        return { topic: options.topic, group: options.group, stop: async () => {} };
      },
    } as unknown as Bus;
    const seen: string[] = [];
    const actioner: Actioner = {
      handle: async (event) => {
        seen.push(event.id);
        return { kind: 'retry', reason: 'from the actioner' };
      },
    };

    const subscription = await subscribeActioner(bus, actioner, { concurrency: 4 });
    expect(subscription).toMatchObject({ topic: 'match.found.v1', group: 'actioner' });
    expect(subscribed).toHaveLength(1);
    expect(subscribed[0]!.options).toEqual({ topic: 'match.found.v1', group: 'actioner', concurrency: 4 });
    const event = { id: 'e-1', type: 'match.found.v1' } as unknown as Event;
    const delivery = { topic: 'match.found.v1', group: 'actioner', partition: 0, offset: '0', attempt: 1 };
    expect(await subscribed[0]!.handler(event, delivery)).toEqual({ kind: 'retry', reason: 'from the actioner' });
    expect(seen).toEqual(['e-1']);

    await subscribeActioner(bus, actioner);
    expect(subscribed[1]!.options).toEqual({ topic: 'match.found.v1', group: 'actioner' });
  });
});
