import { spawnSync } from 'node:child_process';
import { PROCESSING_INSTANCE_TYPES } from '../../lib/contract/processing';
import { instanceTypeProblem } from '../../lib/contract/rules';

/* The instance types come from the SageMaker API model (scripts/generate-instance-types.ts). */

const model = spawnSync(
  'python3',
  [
    '-c',
    "import json, botocore.loaders as l; print(json.dumps(l.Loader().load_service_model('sagemaker', 'service-2')['shapes']['ProcessingInstanceType']['enum']))",
  ],
  { encoding: 'utf8' },
);
const unavailable =
  model.status === 0 ? undefined : `python3 has no botocore (${(model.stderr || model.error?.message || '').trim().split('\n').pop()})`;
if (unavailable) console.warn(`the model comparison of test/contract/instance-types.test.ts is skipped: ${unavailable}`);

(unavailable ? test.skip : test)("the generated list is the SageMaker model's ProcessingInstanceType enum on this machine", () => {
  expect(PROCESSING_INSTANCE_TYPES).toEqual(JSON.parse(model.stdout));
});

test('current families are accepted', () => {
  for (const t of ['ml.m6i.large', 'ml.c6i.xlarge', 'ml.m7i.large', 'ml.g5.xlarge', 'ml.g6.xlarge', 'ml.r7i.2xlarge', 'ml.g6e.xlarge']) {
    expect([t, instanceTypeProblem(t)]).toEqual([t, undefined]);
  }
});

test('an unknown type gets the five closest, not the whole list', () => {
  const problem = instanceTypeProblem('ml.m5.huge')!;
  expect(problem).toMatch(
    /^'ml\.m5\.huge' is not a SageMaker Processing instance type; did you mean 'ml\.m5\.large', ('[^']+', ){3}'[^']+'\? \(\d+ types are accepted, listed in lib\/contract\/instance-types\.generated\.ts\)$/,
  );
  expect(problem).not.toContain('ml.t3.medium');
});
