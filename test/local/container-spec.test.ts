import * as fs from 'node:fs';
import * as path from 'node:path';
import { containerCommand, readContainerSpec } from '../../lib/local/container-spec';
import { tempDir } from '../helpers';

function specOf(dockerfile: string, files: Record<string, string> = {}) {
  const dir = tempDir('batcat-spec-');
  fs.writeFileSync(path.join(dir, 'Dockerfile'), dockerfile);
  for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), text);
  return readContainerSpec(dir);
}

describe('what run-local reads from a Dockerfile', () => {
  test('ENV in both forms, with continuation lines and references; WORKDIR relative to the last one', () => {
    const spec = specOf(
      [
        'FROM python:3.12-slim AS build',
        'ENV IGNORED=1',
        'ENTRYPOINT ["python3", "/build.py"]',
        'FROM python:3.12-slim',
        'ENV A=1 B="two words" \\',
        "    C='single'",
        'ENV LEGACY some value',
        'ENV PATH=/opt/venv/bin:$PATH HOME_DIR=${A}/home',
        'WORKDIR /opt',
        'WORKDIR program',
        '# ENTRYPOINT ["commented"]',
        'ENTRYPOINT ["python3"]',
        'CMD ["/opt/program/score.py", "--threshold", "0.5"]',
      ].join('\n'),
      { 'requirements.txt': 'numpy==1.26.4\n' },
    );
    expect(spec.env).toEqual({ A: '1', B: 'two words', C: 'single', LEGACY: 'some value', PATH: '/opt/venv/bin:', HOME_DIR: '1/home' });
    expect(spec.workdir).toBe('/opt/program');
    expect(spec.entrypoint).toEqual(['python3']);
    expect(spec.cmd).toEqual(['/opt/program/score.py', '--threshold', '0.5']);
    expect(spec.requirements).toMatch(/requirements\.txt$/);
  });

  test('a shell-form CMD runs through /bin/sh -c, as Docker runs it; a later ENTRYPOINT drops an earlier CMD', () => {
    expect(specOf('FROM x\nCMD python3 /app/run.py --fast\n').cmd).toEqual(['/bin/sh', '-c', 'python3 /app/run.py --fast']);
    expect(specOf('FROM x\nCMD ["a.py"]\nENTRYPOINT ["python3"]\n')).toMatchObject({ entrypoint: ['python3'], cmd: [] });
  });

  test('the command SageMaker starts: ContainerEntrypoint replaces ENTRYPOINT and drops CMD; ContainerArguments replace CMD', () => {
    const spec = { entrypoint: ['python3'], cmd: ['/opt/program/score.py', '--threshold', '0.5'] };
    expect(containerCommand(spec, undefined, undefined)).toEqual(['python3', '/opt/program/score.py', '--threshold', '0.5']);
    expect(containerCommand(spec, undefined, ['/opt/program/score.py', '--threshold', '0.9'])).toEqual([
      'python3',
      '/opt/program/score.py',
      '--threshold',
      '0.9',
    ]);
    expect(containerCommand(spec, ['python3', '/opt/program/other.py'], undefined)).toEqual(['python3', '/opt/program/other.py']);
    expect(containerCommand(undefined, ['python3', 'x.py'], ['--a'])).toEqual(['python3', 'x.py', '--a']);
  });
});
