/*
 * SageMaker's prebuilt framework images that Processing jobs use (what SKLearnProcessor and
 * XGBoost's processors pull), as facts taken from the SageMaker Python SDK's image URI config
 * (sagemaker-core/src/sagemaker/core/image_uri_config/sklearn.json and xgboost.json, training
 * scope, read 2026-11-29). Both frameworks are published from the same account per region.
 */

/** The account that publishes SageMaker's scikit-learn and XGBoost images, per region. */
export const FRAMEWORK_REGISTRIES: Readonly<Record<string, string>> = {
  'af-south-1': '510948584623',
  'ap-east-1': '651117190479',
  'ap-northeast-1': '354813040037',
  'ap-northeast-2': '366743142698',
  'ap-northeast-3': '867004704886',
  'ap-south-1': '720646828776',
  'ap-south-2': '628508329040',
  'ap-southeast-1': '121021644041',
  'ap-southeast-2': '783357654285',
  'ap-southeast-3': '951798379941',
  'ap-southeast-4': '106583098589',
  'ca-central-1': '341280168497',
  'ca-west-1': '190319476487',
  'cn-north-1': '450853457545',
  'cn-northwest-1': '451049120500',
  'eu-central-1': '492215442770',
  'eu-central-2': '680994064768',
  'eu-north-1': '662702820516',
  'eu-south-1': '978288397137',
  'eu-south-2': '104374241257',
  'eu-west-1': '141502667606',
  'eu-west-2': '764974769150',
  'eu-west-3': '659782779980',
  'il-central-1': '898809789911',
  'me-central-1': '272398656194',
  'me-south-1': '801668240914',
  'sa-east-1': '737474898029',
  'us-east-1': '683313688378',
  'us-east-2': '257758044811',
  'us-gov-east-1': '237065988967',
  'us-gov-west-1': '414596584902',
  'us-iso-east-1': '833128469047',
  'us-isob-east-1': '281123927165',
  'us-isof-east-1': '108575199400',
  'us-isof-south-1': '124985052026',
  'us-west-1': '746614075791',
  'us-west-2': '246618743249',
};

/** A framework BatCat can run a script on: its ECR repository, and the Python package it brings. */
interface Framework {
  readonly repository: string;
  /** The pip name of the framework, for checking a local interpreter. */
  readonly package: string;
  readonly versions: ReadonlyArray<{ readonly version: string; readonly tag: string }>;
}

/** The SDK's tag rule: `<version>-cpu-py3` where the config lists processors and Python versions, else `<version>`. */
const cpuPy3 = (version: string) => ({ version, tag: `${version}-cpu-py3` });
const plain = (version: string) => ({ version, tag: version });

export const FRAMEWORKS: Readonly<Record<string, Framework>> = {
  sklearn: {
    repository: 'sagemaker-scikit-learn',
    package: 'scikit-learn',
    versions: ['0.20.0', '0.23-1', '1.0-1', '1.2-1', '1.4-2', '1.4-2-py312'].map(cpuPy3),
  },
  xgboost: {
    repository: 'sagemaker-xgboost',
    package: 'xgboost',
    versions: [...['0.90-1', '0.90-2', '1.0-1'].map(cpuPy3), ...['1.2-1', '1.2-2', '1.3-1', '1.5-1', '1.7-1', '3.0-5', '3.2-0'].map(plain)],
  },
};

/** A framework image, resolved: where it is and what it brings. */
export interface FrameworkImage {
  /** As the project file names it: `sklearn:1.2-1`. */
  readonly name: string;
  readonly repository: string;
  readonly tag: string;
  /** The Python package and its `major.minor`, e.g. scikit-learn 1.2. */
  readonly package: string;
  readonly packageVersion: string;
  /** The account that publishes it, per region. */
  readonly registries: Readonly<Record<string, string>>;
}

/** `sklearn:1.2-1` resolved, or undefined for a framework or version SageMaker does not publish. */
export function frameworkImage(name: string): FrameworkImage | undefined {
  const [framework, version] = name.split(':');
  const f = Object.hasOwn(FRAMEWORKS, framework) ? FRAMEWORKS[framework] : undefined;
  const v = f?.versions.find((x) => x.version === version);
  if (!f || !v) return undefined;
  return {
    name,
    repository: f.repository,
    tag: v.tag,
    package: f.package,
    packageVersion: version.split('-')[0],
    registries: FRAMEWORK_REGISTRIES,
  };
}

/** Every `framework:version` BatCat knows, newest last per framework. */
export function frameworkNames(): string[] {
  return Object.entries(FRAMEWORKS).flatMap(([name, f]) => f.versions.map((v) => `${name}:${v.version}`));
}

/** `<account>.dkr.ecr.<region>.<urlSuffix>/<repository>:<tag>` for a region in the table. */
export function frameworkImageUri(image: FrameworkImage, region: string, urlSuffix = 'amazonaws.com'): string | undefined {
  const account = image.registries[region];
  return account && `${account}.dkr.ecr.${region}.${urlSuffix}/${image.repository}:${image.tag}`;
}
