import { NestedStack, type NestedStackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { FeatureGroup, type FeatureGroupProps } from '../constructs/feature-group';
import { Purpose } from '../constructs/purpose';
import type { PurposeProps } from '../constructs/purpose-props';
import { QueryWorkGroup, type QueryWorkGroupProps } from '../constructs/query-workgroup';
import { ResultTable, type ResultTableProps } from '../constructs/result-table';

/** Properties of PurposeStack. */
export interface PurposeStackProps extends NestedStackProps {
  /** The purpose this nested stack holds. */
  readonly purpose: PurposeProps;
  /**
   * The Glue tables over the purpose's outputs, each named (the name is also its construct ID).
   *
   * @default - none
   */
  readonly resultTables?: Array<ResultTableProps & { readonly tableName: string }>;
  /**
   * A workgroup of the purpose's own for its query and its tables' profile queries, in place of
   * `purpose.query.workGroup` and `purpose.profileWorkGroup`, so that its job and its checks
   * read its own query results and no one else's.
   *
   * @default - the workgroups `purpose` names
   */
  readonly queryWorkGroup?: QueryWorkGroupProps;
  /**
   * Feature groups over outputs of the purpose, by output name: each run's committed result is
   * put into its group.
   *
   * @default - none
   */
  readonly featureGroups?: Record<string, FeatureGroupProps>;
}

/**
 * A nested stack holding one Purpose and the tables over its results. A project stack puts
 * every purpose in its own nested stack, so a project of 250 purposes stays below
 * CloudFormation's 500 resources and 1 MB per template, and adding a purpose never renames the
 * resources of another.
 *
 * Construct IDs are a contract: `Purpose`, `Queries` (its workgroup, for its query and its
 * tables' profiles), `Results` with its tables by table name, and `Features` with its feature
 * groups by output name.
 */
export class PurposeStack extends NestedStack {
  public readonly purpose: Purpose;
  /** The result tables, by table name. */
  public readonly resultTables: Record<string, ResultTable> = {};

  constructor(scope: Construct, id: string, props: PurposeStackProps) {
    super(scope, id, { description: `BatCat purpose ${props.purpose.purposeName}`, ...props });
    const features = Object.keys(props.featureGroups ?? {}).length > 0 ? new Construct(this, 'Features') : undefined;
    const groups = Object.fromEntries(
      Object.entries(props.featureGroups ?? {}).map(([output, g]) => [output, new FeatureGroup(features!, output, g)]),
    );
    const p = { ...props.purpose, outputs: props.purpose.outputs.map((o) => ({ ...o, featureGroup: o.featureGroup ?? groups[o.name] })) };
    const workGroup =
      props.queryWorkGroup && (p.query || p.outputs.some((o) => o.table))
        ? new QueryWorkGroup(this, 'Queries', props.queryWorkGroup)
        : undefined;
    this.purpose = new Purpose(
      this,
      'Purpose',
      workGroup ? { ...p, query: p.query && { ...p.query, workGroup }, profileWorkGroup: workGroup } : p,
    );
    if (!props.resultTables?.length) return;
    const results = new Construct(this, 'Results');
    for (const t of props.resultTables) this.resultTables[t.tableName] = new ResultTable(results, t.tableName, t);
  }
}
