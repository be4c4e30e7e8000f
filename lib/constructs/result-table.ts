import { Aws, Stack } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { GLUE_NAME, KEY_PREFIX } from './name-rules';
import { scopedError } from './private/errors';
import type { ResultDatabase } from './result-database';

/** How a result table's files are written. */
export enum ResultFormat {
  /** Comma-separated, with a header line, quoted with '"' where needed. */
  CSV = 'csv',
  PARQUET = 'parquet',
}

/** A column of a result table. */
export interface ResultColumn {
  readonly name: string;
  /** An Athena (Hive DDL) type: string, bigint, double, boolean, date, timestamp, decimal(10,2)... */
  readonly type: string;
  /**
   * @default - none
   */
  readonly comment?: string;
}

/** Properties of ResultTable. */
export interface ResultTableProps {
  readonly database: ResultDatabase;
  readonly tableName: string;
  readonly bucket: s3.IBucket;
  /** The output folder: runs write `<keyPrefix>dt=YYYY-MM-DD/`. */
  readonly keyPrefix: string;
  readonly columns: ResultColumn[];
  /**
   * @default ResultFormat.CSV
   */
  readonly format?: ResultFormat;
  /**
   * @default - none
   */
  readonly description?: string;
  /**
   * The first day partition projection covers (`YYYY-MM-DD`); runs of earlier windows are not seen.
   *
   * @default '2000-01-01'
   */
  readonly firstPartition?: string;
}

const SERDE = {
  [ResultFormat.CSV]: {
    inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
    outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
    serdeInfo: { serializationLibrary: 'org.apache.hadoop.hive.serde2.OpenCSVSerde', parameters: { separatorChar: ',', quoteChar: '"', escapeChar: '\\' } },
  },
  [ResultFormat.PARQUET]: {
    inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
    outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
    serdeInfo: { serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
  },
};

/**
 * A purpose output registered as a Glue table, partitioned by `dt` (the run's window start).
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
    if (!GLUE_NAME.test(props.tableName)) throw scopedError(this, `tableName must be lowercase letters, digits and '_', got '${props.tableName}'`);
    if (!KEY_PREFIX.test(props.keyPrefix) || props.keyPrefix === '') throw scopedError(this, `keyPrefix must be a folder ending with '/', got '${props.keyPrefix}'`);
    if (props.columns.length === 0) throw scopedError(this, `table '${props.tableName}' needs at least one column`);
    const bad = props.columns.find((c) => !GLUE_NAME.test(c.name) || c.name === 'dt');
    if (bad) throw scopedError(this, `column '${bad.name}' is invalid: use lowercase letters, digits and '_', and not 'dt' (the partition column)`);
    const first = props.firstPartition ?? '2000-01-01';
    if (!/^\d{4}-\d{2}-\d{2}$/.test(first)) throw scopedError(this, `firstPartition must be YYYY-MM-DD, got '${first}'`);

    const format = props.format ?? ResultFormat.CSV;
    this.tableName = props.tableName;
    this.location = `s3://${props.bucket.bucketName}/${props.keyPrefix}`;
    const table = new glue.CfnTable(this, 'Resource', {
      catalogId: Aws.ACCOUNT_ID,
      databaseName: props.database.databaseName,
      tableInput: {
        name: props.tableName,
        description: props.description,
        tableType: 'EXTERNAL_TABLE',
        partitionKeys: [{ name: 'dt', type: 'string', comment: "The run's window start, YYYY-MM-DD" }],
        parameters: {
          'classification': format,
          'EXTERNAL': 'TRUE',
          ...(format === ResultFormat.CSV ? { 'skip.header.line.count': '1' } : {}),
          'projection.enabled': 'true',
          'projection.dt.type': 'date',
          'projection.dt.format': 'yyyy-MM-dd',
          'projection.dt.range': `${first},NOW`,
          'projection.dt.interval': '1',
          'projection.dt.interval.unit': 'DAYS',
          'storage.location.template': `${this.location}dt=\${dt}/`,
        },
        storageDescriptor: {
          location: this.location,
          columns: props.columns.map((c) => ({ name: c.name, type: c.type, comment: c.comment })),
          ...SERDE[format],
        },
      },
    });
    table.addResourceDependency(props.database.resource);
    this.tableArn = Stack.of(this).formatArn({ service: 'glue', resource: 'table', resourceName: `${props.database.databaseName}/${props.tableName}` });
  }
}
