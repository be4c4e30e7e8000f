"""Fleet-wide daily aggregate of the per-vehicle usage summaries, with Spark.

Written as a PySpark script for SageMaker's PySparkProcessor or EMR Serverless would be: it takes
its S3 locations as arguments (BatCat renders {input.summary.uri} and {output.daily.uri} per run)
and never names a bucket. Under `batcat run-local` the same arguments are local folders.
"""
import argparse

from pyspark.sql import SparkSession

from fleetlib import daily_aggregate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", required=True, help="folder of usage-analysis summary CSV files for the day")
    parser.add_argument("--output", required=True, help="folder the day's aggregate is written to")
    parser.add_argument("--day", required=True, help="the window's first day, YYYY-MM-DD")
    args = parser.parse_args()

    spark = SparkSession.builder.appName("fleet-daily").getOrCreate()
    summaries = spark.read.option("header", True).option("inferSchema", True).csv(args.input)
    if summaries.rdd.isEmpty():
        raise SystemExit(f"no vehicle summaries in {args.input}: nothing to aggregate for {args.day}")
    daily = daily_aggregate(summaries, args.day)
    daily.coalesce(1).write.mode("overwrite").option("header", True).csv(args.output)
    spark.stop()


if __name__ == "__main__":
    main()
