import { describe, expect, it } from 'vitest';
import { listSourcesFrom } from './list-sources.ts';

describe('VIGIL_LIST_SOURCES', () => {
  it('builds the scheduled sources, with their intervals and list settings', () => {
    const sources = listSourcesFrom({
      VIGIL_LIST_SOURCES: JSON.stringify([
        { list: 'drops', from: 'folder:/srv/drops', algo: 'pdq', intervalMinutes: 5, threshold: 20 },
        { list: 'ncmec-md5', from: 'ncmec' },
      ]),
      VIGIL_NCMEC_URL: 'https://hashsharing.example/npo',
      VIGIL_NCMEC_USERNAME: 'member',
      VIGIL_NCMEC_PASSWORD: 'secret',
    });
    expect(sources.map((s) => [s.source.kind, s.source.algorithm, s.target, s.intervalMs])).toEqual([
      ['folder', 'pdq', { name: 'drops', threshold: 20 }, 300_000],
      ['ncmec', 'md5', { name: 'ncmec-md5' }, 3_600_000],
    ]);
    expect(listSourcesFrom({})).toEqual([]);
  });

  it('refuses bad JSON, bad names, unknown sources and missing credentials, naming each problem', () => {
    expect(() => listSourcesFrom({ VIGIL_LIST_SOURCES: '[{' })).toThrow('not valid JSON');
    expect(() => listSourcesFrom({ VIGIL_LIST_SOURCES: JSON.stringify([{ list: 'Bad Name', from: 'ncmec' }]) })).toThrow(/0\.list/);
    expect(() => listSourcesFrom({ VIGIL_LIST_SOURCES: JSON.stringify([{ list: 'a', from: 'gopher:x', algo: 'md5' }, { list: 'b', from: 'stopncii' }]) })).toThrow(
      /0: unknown source.*1: stopncii needs VIGIL_STOPNCII_URL/,
    );
  });
});
