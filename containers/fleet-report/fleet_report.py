"""Fleet-wide battery usage for one window: a BatCat purpose that runs after usage-analysis.

Reads the result of its Athena query (queries/fleet-report.sql: the usage-analysis summary rows
of the window) from <root>/processing/input/query/<query id>.csv and writes <root>/processing/output/report/fleet_report.csv: one row with the window,
the number of vehicles and the fleet's usage. <root> is /opt/ml (in the job and in batcat run-local); BATCAT_PROCESSING_ROOT
points it elsewhere for runs by hand. On failure the reason goes to <root>/output/message.
"""

import csv
import os
import sys
from pathlib import Path

REPORT_COLUMNS = ("window_start", "window_end", "vehicles", "records", "total_usage", "mean_usage_per_vehicle")


def root() -> Path:
    return Path(os.environ.get("BATCAT_PROCESSING_ROOT", "/opt/ml"))


def report_failure(message: str) -> None:
    path = root() / "output" / "message"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(message[:1000], encoding="utf-8")


def main() -> int:
    base = root() / "processing"
    folder = base / "input" / "query"
    sources = sorted(folder.glob("*.csv"))  # Athena writes <id>.csv and <id>.csv.metadata
    if len(sources) != 1:
        report_failure(f"InputError: expected one query result in {folder}, found {len(sources)}")
        print(f"InputError: expected one query result CSV in {folder}, found {[s.name for s in sources]}", file=sys.stderr)
        return 1
    vins = set()
    records = 0
    total = 0.0
    with open(sources[0], newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            vins.add(row["vin"])
            records += int(row["records"])
            total += float(row["total_usage"])
    vehicles = len(vins)
    target = base / "output" / "report" / "fleet_report.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(REPORT_COLUMNS)
        writer.writerow([os.environ.get("BATCAT_WINDOW_START", ""), os.environ.get("BATCAT_WINDOW_END", ""),
                         vehicles, records, round(total, 6), round(total / vehicles, 6) if vehicles else 0])
    print(f"wrote the fleet report for {vehicles} vehicle(s) to {target}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
