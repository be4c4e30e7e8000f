-- Per-vehicle usage in the run's window, from the usage-analysis results table.
-- The two placeholders are the window's start and end ('YYYY-MM-DD'). Athena binds them as
-- parameters, so they are never formatted into this text.
SELECT vin, records, total_usage
FROM usage_analysis_summary
WHERE dt BETWEEN ? AND ?
ORDER BY vin
