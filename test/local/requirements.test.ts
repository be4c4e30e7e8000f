import * as fs from 'node:fs';
import * as path from 'node:path';
import { imageRequirements, readRequirements } from '../../lib/config/requirements';
import { installCommand, parseRequirements, unmetRequirements } from '../../lib/contract/requirements';
import { installedVersions } from '../../lib/local/requirements';
import { tempDir } from '../helpers';

test('requirements: exact pins are compared, other lines name the package; a framework wants its major.minor', () => {
  const dir = tempDir('batcat-req-');
  fs.writeFileSync(
    path.join(dir, 'requirements.txt'),
    '# pinned\nnumpy==1.26.4\npandas>=2.0  # at least\nrequests[socks]~=2.31\n-r other.txt\n\nscipy\n',
  );
  const reqs = imageRequirements(
    { containerDir: dir, framework: { name: 'sklearn:1.2-1', package: 'scikit-learn', packageVersion: '1.2' } },
    dir,
  );
  expect(reqs).toEqual([
    { name: 'numpy', version: '1.26.4', exact: true, from: 'requirements.txt' },
    { name: 'pandas', version: undefined, exact: false, from: 'requirements.txt' },
    { name: 'requests', version: undefined, exact: false, from: 'requirements.txt' },
    { name: 'scipy', version: undefined, exact: false, from: 'requirements.txt' },
    { name: 'scikit-learn', version: '1.2', exact: false, from: 'framework sklearn:1.2-1' },
  ]);
  expect(unmetRequirements(reqs, { numpy: '1.24.0', pandas: '2.1.0', requests: null, scipy: '1.11.0', 'scikit-learn': '1.2.2' })).toEqual([
    'numpy==1.26.4 (requirements.txt): 1.24.0 is installed',
    'requests (requirements.txt) is not installed',
  ]);
  expect(unmetRequirements(reqs, { numpy: '1.26.4', pandas: '2.1.0', requests: '2.31.0', scipy: '1', 'scikit-learn': '1.3.0' })).toEqual([
    'scikit-learn 1.2.x (framework sklearn:1.2-1): 1.3.0 is installed',
  ]);
  expect(installCommand('python3', reqs)).toBe("python3 -m pip install -r requirements.txt 'scikit-learn==1.2.*'");
  expect(readRequirements(path.join(dir, 'requirements.txt'), 'x')[0].from).toBe('x');
});

test('the interpreter is asked for its installed versions', () => {
  const installed = installedVersions('python3', ['pip', 'batcat-test-absent-package']);
  expect(installed).toEqual({ pip: expect.stringMatching(/^\d+\.\d+/), 'batcat-test-absent-package': null });
  expect(installedVersions('python-does-not-exist', ['pip'])).toBeUndefined();
});

test('requirements: hashes on the line and on continuation lines are kept, as pip --require-hashes writes them', () => {
  const text = [
    'numpy==1.26.4 \\',
    '    --hash=sha256:aaa \\',
    '    --hash=sha256:bbb',
    'pandas==2.2.2 --hash=sha256:ccc  # pinned',
    '--require-hashes',
    'scipy',
  ].join('\n');
  expect(parseRequirements(text, 'r.txt')).toEqual([
    { name: 'numpy', version: '1.26.4', exact: true, from: 'r.txt', hashes: ['sha256:aaa', 'sha256:bbb'] },
    { name: 'pandas', version: '2.2.2', exact: true, from: 'r.txt', hashes: ['sha256:ccc'] },
    { name: 'scipy', version: undefined, exact: false, from: 'r.txt' },
  ]);
});
