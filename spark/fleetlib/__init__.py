"""Shared Spark transformations of the fleet purposes, shipped to the driver and executors with --py-files."""
from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def daily_aggregate(summaries: DataFrame, day: str) -> DataFrame:
    """One row for the day: how many vehicles reported, and their usage in total, on average and at most."""
    return summaries.agg(
        F.lit(day).alias("day"),
        F.countDistinct("vin").alias("vehicles"),
        F.sum("records").alias("records"),
        F.round(F.sum("total_usage"), 3).alias("total_usage"),
        F.round(F.avg("total_usage"), 3).alias("mean_vehicle_usage"),
        F.round(F.max("max_usage"), 3).alias("max_usage"),
    )
