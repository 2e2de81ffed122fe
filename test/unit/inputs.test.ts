import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InputErrors } from '../../src/core/errors.ts';
import { readInputs, splitList } from '../../src/core/inputs.ts';
import type { StageSpec } from '../../src/core/spec.ts';
import { parseStageArgs } from '../../src/cli/args.ts';

const spec: StageSpec = {
  name: 't',
  title: 'T',
  description: 'test',
  inputs: [
    { name: 'deployer', description: '', kind: 'enum', values: ['helm', 'argocd'], default: 'helm' },
    { name: 'dry-run', description: '', kind: 'boolean', default: 'false' },
    { name: 'retries', description: '', kind: 'integer', min: 0, max: 5 },
    { name: 'timeout', description: '', kind: 'duration' },
    { name: 'set', description: '', kind: 'list' },
    { name: 'recipe', description: '', kind: 'string', required: true },
  ],
  outputs: [],
};

describe('inputs', () => {
  it('applies defaults and types values', () => {
    const raw: Record<string, string> = { recipe: ' r.yaml ', 'dry-run': 'True', retries: '3', timeout: '1h30m', set: 'a:b=1\n\n# comment\n c:d=2 \n' };
    const i = readInputs(spec, (n) => raw[n]);
    assert.equal(i.string('deployer'), 'helm');
    assert.equal(i.string('recipe'), 'r.yaml');
    assert.equal(i.bool('dry-run'), true);
    assert.equal(i.int('retries'), 3);
    assert.deepEqual(i.list('set'), ['a:b=1', 'c:d=2']);
    assert.equal(i.given('deployer'), false);
    assert.equal(i.given('recipe'), true);
  });

  it('reports every bad input at once, naming each and what was expected', () => {
    const raw: Record<string, string> = { deployer: 'flux', 'dry-run': 'yes', retries: '9', timeout: '5 minutes' };
    assert.throws(
      () => readInputs(spec, (n) => raw[n]),
      (err: unknown) => {
        assert.ok(err instanceof InputErrors);
        const m = err.message;
        assert.match(m, /input 'deployer': expected one of helm, argocd; got 'flux'/);
        assert.match(m, /input 'dry-run': expected true or false; got 'yes'/);
        assert.match(m, /input 'retries': expected an integer <= 5; got 9/);
        assert.match(m, /input 'timeout': expected a duration such as 90s, 5m or 1h30m; got '5 minutes'/);
        assert.match(m, /input 'recipe': is required but was not given/);
        assert.equal(err.errors.length, 5);
        return true;
      },
    );
  });

  it('an explicitly empty artifact-name turns the upload off; absent means the default', async () => {
    const { commonInputs } = await import('../../src/core/spec.ts');
    const s: StageSpec = { ...spec, inputs: commonInputs('x', { product: true }) };
    assert.equal(readInputs(s, () => undefined).string('artifact-name'), 'aicr-x');
    assert.equal(readInputs(s, (n) => (n === 'artifact-name' ? '' : undefined)).string('artifact-name'), '');
    assert.equal(readInputs(s, (n) => (n === 'log-format' ? '' : undefined)).string('log-format'), 'text', 'other inputs: empty means default, as @actions/core getInput');
  });

  it('splits lists on newlines only', () => {
    assert.deepEqual(splitList('a\r\nb\n  # c\n\nd e'), ['a', 'b', 'd e']);
  });
});

describe('aicr-ci flags', () => {
  it('maps flags to inputs: repeated lists, bare booleans, = syntax', () => {
    const m = parseStageArgs(spec, ['--recipe', 'r.yaml', '--set', 'a:b=1', '--set=c:d=2', '--dry-run', '--deployer', 'argocd']);
    assert.equal(m.get('recipe'), 'r.yaml');
    assert.equal(m.get('set'), 'a:b=1\nc:d=2');
    assert.equal(m.get('dry-run'), 'true');
    assert.equal(m.get('deployer'), 'argocd');
  });

  it('rejects unknown flags and lists the valid ones', () => {
    assert.throws(() => parseStageArgs(spec, ['--recipie', 'x']), /Unknown option '--recipie'.*Valid flags for 't': --deployer --dry-run --retries --timeout --set --recipe/s);
  });

  it('rejects positional arguments', () => {
    assert.throws(() => parseStageArgs(spec, ['recipe.yaml']), /positional/i);
  });
});
