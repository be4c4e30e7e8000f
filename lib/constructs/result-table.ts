import { Aws, Stack } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { dateProblem } from '../contract/dates';
import { columnNameProblem, columnTypeProblem, glueNameProblem, keyPrefixProblem } from '../contract/rules';
import { s3Uri } from '../contract/s3-uri';
import { ATTEMPTS_FOLDER } from '../contract/names';
import { check, scopedError } from './private/errors';
import { generatedGlueName } from './private/generated-name';
import type { ResultDatabase } from './result-database';

/** How a result table's files are written. */
export enum ResultFormat {
  /** Comma-separated, with a header line, quoted with '"' where needed. */
  CSV = 'csv',
  PARQUET = 'parquet',
  /** One JSON object a line, as a stream delivers records. */
  JSON = 'json',
}

/** A column of a result table. */
export interface ResultColumn {
  /** The column name: lowercase letters, digits and '_', not `dt`. */
  readonly name: string;
  /** An Athena (Hive DDL) type: string, bigint, double, boolean, date, timestamp, decimal(10,2)... */
  readonly type: string;
  /**
   * What the column holds, shown in the Glue console.
   *
   * @default - none
   */
  readonly comment?: string;
}

/** Properties of ResultTable. */
export interface ResultTableProps {
  /** The database the table is registered in. */
  readonly database: ResultDatabase;
  /**
   * The table's name: lowercase letters, digits and '_'.
   *
   * @default - a name generated from the stack name and this construct's path
   */
  readonly tableName?: string;
  /** The bucket of the output folder. */
  readonly bucket: s3.IBucket;
  /** The output folder: runs write `<keyPrefix>dt=YYYY-MM-DD/`. */
  readonly keyPrefix: string;
  /** The columns, in the order the files write them (the partition column `dt` is added). */
  readonly columns: ResultColumn[];
  /**
   * The format of the output files.
   *
   * @default ResultFormat.CSV
   */
  readonly format?: ResultFormat;
  /**
   * What the table holds, shown in the Glue console.
   *
   * @default - none
   */
  readonly description?: string;
  /**
   * The first day partition projection covers (`YYYY-MM-DD`); runs of earlier windows are not seen.
   *
   * @default '2000-01-01'
   */
  readonly firstPartition?: string;
  /**
   * Partition by run attempt instead of by day: `attempt` (injected: a query names it) maps to
   * `<keyPrefix>_attempts/<attempt>/`, where a run's job writes before its commit. A purpose's
   * data checks read a run's output through it before the output becomes the window's result.
   *
   * @default false
   */
  readonly byAttempt?: boolean;
}

const SERDE = {
  [ResultFormat.CSV]: {
    inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
    outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
    serdeInfo: {
      serializationLibrary: 'org.apache.hadoop.hive.serde2.OpenCSVSerde',
      parameters: { separatorChar: ',', quoteChar: '"', escapeChar: '\\' },
    },
  },
  [ResultFormat.PARQUET]: {
    inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
    outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
    serdeInfo: { serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
  },
  [ResultFormat.JSON]: {
    inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
    outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
    serdeInfo: { serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe', parameters: { 'ignore.malformed.json': 'true' } },
  },
};

/**
 * A folder of `dt=YYYY-MM-DD/` partitions (a purpose output, or what a stream delivers)
 * registered as a Glue table, partitioned by `dt` (a run's window start, a record's day).
 * Partitions are projected: Athena derives `<keyPrefix>dt=<day>/` from the query's `dt`
 * filter, so a run's results can be queried as soon as the run ends, with no crawler and no
 * partition to add.
 */
export class ResultTable extends Construct {
  public readonly tableName: string;
  public readonly tableArn: string;
  /** `s3://<bucket>/<keyPrefix>` */
  public readonly location: string;

  constructor(scope: Construct, id: string, props: ResultTableProps) {
    super(scope, id);
    this.tableName = props.tableName ?? generatedGlueName(this, 255);
    check(this, glueNameProblem('table name', this.tableName));
    check(this, keyPrefixProblem(props.keyPrefix));
    if (props.columns.length === 0)
      throw scopedError(this, 'a table needs at least one column, e.g. columns: { vehicle_id: string, kwh: double }');
    for (const c of props.columns) check(this, columnNameProblem(c.name) ?? columnTypeProblem(c.type));
    const first = props.firstPartition ?? '2000-01-01';
    check(this, dateProblem(first, 'firstPartition'));

    const format = props.format ?? ResultFormat.CSV;
    this.location = s3Uri(props.bucket.bucketName, props.keyPrefix);
    const table = new glue.CfnTable(this, 'Resource', {
      catalogId: Aws.ACCOUNT_ID,
      databaseName: props.database.databaseName,
      tableInput: {
        name: this.tableName,
        description: props.description,
        tableType: 'EXTERNAL_TABLE',
        partitionKeys: props.byAttempt
          ? [{ name: 'attempt', type: 'string', comment: 'The execution name of the run attempt (its folder below _attempts/)' }]
          : [{ name: 'dt', type: 'string', comment: "The run's window start, YYYY-MM-DD" }],
        parameters: {
          classification: format,
          EXTERNAL: 'TRUE',
          ...(format === ResultFormat.CSV ? { 'skip.header.line.count': '1' } : {}),
          'projection.enabled': 'true',
          ...(props.byAttempt
            ? {
                'projection.attempt.type': 'injected',
                'storage.location.template': `${this.location}${ATTEMPTS_FOLDER}\${attempt}/`,
              }
            : {
                'projection.dt.type': 'date',
                'projection.dt.format': 'yyyy-MM-dd',
                'projection.dt.range': `${first},NOW`,
                'projection.dt.interval': '1',
                'projection.dt.interval.unit': 'DAYS',
                'storage.location.template': `${this.location}dt=\${dt}/`,
              }),
        },
        storageDescriptor: {
          location: this.location,
          columns: props.columns.map((c) => ({ name: c.name, type: c.type, comment: c.comment })),
          ...SERDE[format],
        },
      },
    });
    table.addResourceDependency(props.database.resource);
    this.tableArn = Stack.of(this).formatArn({
      service: 'glue',
      resource: 'table',
      resourceName: `${props.database.databaseName}/${this.tableName}`,
    });
  }
}
