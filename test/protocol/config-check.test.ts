/**
 * The one config-validation standard (protocol/config-check.ts): path, message, fix from the
 * schema, "did you mean" for a misspelt key or value; the hub's and the InfluxDB store's configs
 * report through it.
 */
import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { resolveHubConfig } from '../../hub/config.js';
import { HubConfigError } from '../../hub/errors.js';
import { resolveInfluxConfig } from '../../hub/store/influxdb/config.js';
import { checkSchema, closest, problemLine, schemaAt } from '../../protocol/config-check.js';

const Schema = Type.Object(
  {
    port: Type.Integer({ minimum: 0, maximum: 65_535, fix: 'a TCP port, 0–65535' }),
    retries: Type.Integer({ minimum: 0, maximum: 10, description: 'how often to resend' }),
    mode: Type.Union([Type.Literal('polling'), Type.Literal('subscription')]),
    inner: Type.Object({ name: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
  },
  { additionalProperties: false },
);

const hubProblems = (input: unknown): string[] => {
  try {
    resolveHubConfig(input);
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(HubConfigError);
    expect((err as HubConfigError).code).toBe('WANJI_E_HUB_CONFIG');
    return [...(err as HubConfigError).problems];
  }
};

describe('checkSchema', () => {
  it('names the path, what is wrong, and the fix from the schema', () => {
    const problems = checkSchema(Schema, { port: 70_000, retries: 11, mode: 'poling', inner: { nme: 'x' } });
    expect(problems).toContainEqual(
      expect.objectContaining({
        path: '/port',
        message: '70000 is out of range',
        fix: 'a TCP port, 0–65535',
      }),
    );
    expect(problems).toContainEqual(
      expect.objectContaining({
        path: '/retries',
        message: '11 is out of range',
        fix: 'use a value between 0 and 10: how often to resend',
      }),
    );
    const mode = problems.find((p) => p.path === '/mode');
    expect(mode?.didYouMean).toBe('polling');
    expect(mode?.fix).toBe('did you mean "polling"? use one of: polling, subscription');
    const unknown = problems.find((p) => p.path === '/inner/nme');
    expect(unknown).toMatchObject({ message: 'unknown key "nme"', didYouMean: 'name' });
    expect(unknown?.fix).toBe('did you mean "name"? valid keys here: name');
    expect(problems.find((p) => p.path === '/inner/name')?.message).toBe('missing required key "name"');
  });

  it('is silent for a valid value, and suggests only close names', () => {
    expect(checkSchema(Schema, { port: 1, retries: 0, mode: 'polling', inner: { name: 'a' } })).toEqual([]);
    expect(closest('keepalive', ['keepaliveS', 'url'])).toBe('keepaliveS');
    expect(closest('colour', ['dataDir', 'hostId', 'mqtt'])).toBeUndefined();
  });

  it('finds the schema of a path and renders one line', () => {
    expect(schemaAt(Schema, '/inner/name')?.minLength).toBe(1);
    expect(schemaAt(Schema, '/nothing')).toBeUndefined();
    const [p] = checkSchema(Schema, { port: -1, retries: 0, mode: 'polling', inner: { name: 'a' } });
    expect(problemLine(p!)).toBe(
      '/port: Expected integer to be greater or equal to 0; -1 is out of range (a TCP port, 0–65535)',
    );
  });
});

describe('the hub and InfluxDB store configs report through it', () => {
  it('hub: path, TypeBox wording, message and the fix from the schema', () => {
    const all = hubProblems({
      dataDir: '/d',
      mqtt: { port: 70_000, tls: { cert: 'c', key: 'k', minVersion: 'TLSv1.1' } },
      http: { port: 'x', rateLimt: {} },
      colour: 'red',
    }).join('\n');
    expect(all).toMatch(/\/mqtt\/port: .*out of range \(a TCP port, 0–65535 \(0 = any free port\)\)/);
    expect(all).toMatch(/\/http\/port: .*expected an integer, got "x"/);
    expect(all).toMatch(/\/colour: Unexpected property; unknown key "colour"/);
    expect(all).toMatch(/\/http\/rateLimt: .*did you mean "rateLimit"\?/);
    expect(all).toMatch(/\/mqtt\/tls\/minVersion: .*\(TLSv1\.2 \(the default\) or TLSv1\.3\)/);
    expect(hubProblems({ dataDir: '/d', hostId: 'a/b' }).join('\n')).toMatch(/\/hostId: .*without \+ # \//);
  });

  it('InfluxDB store: /store/<key>, with the fix from its schema for rules across keys too', () => {
    const bad = (c: object): string => {
      try {
        resolveInfluxConfig({ type: 'influxdb', ...c });
      } catch (e) {
        expect(e).toBeInstanceOf(HubConfigError);
        return (e as HubConfigError).problems.join('\n');
      }
      throw new Error('no error');
    };
    expect(bad({ url: 'http://h:8086' })).toBe(
      '/store/bucket: required when api is "v2" (with api "v2", the bucket (InfluxDB 1.8: "database/retention-policy"))',
    );
    expect(bad({ url: 'http://h', bucket: 'b', batchLine: 3 })).toMatch(
      /\/store\/batchLine: .*did you mean "batchLines"/,
    );
    expect(bad({ url: 'http://h', bucket: 'b', api: 'v3' })).toMatch(/\/store\/api: .*"v2" \(InfluxDB/);
  });
});
