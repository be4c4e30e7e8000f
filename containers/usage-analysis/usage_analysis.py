"""Per-vehicle battery usage summary: a BatCat purpose following the SageMaker Processing contract.

Reads every CSV (optionally gzip-compressed) under <root>/processing/input/usage/ with the
columns vin, time, usage, and writes <root>/processing/output/summary/usage_summary.csv with one
row per vehicle. <root> is /opt/ml (in the job and in batcat run-local); BATCAT_PROCESSING_ROOT points it elsewhere for
runs by hand. The exit code decides success; on failure the reason goes to <root>/output/message.

Only the standard library is used, so the script also runs with a plain python3.
"""

import csv
import gzip
import io
import math
import os
import sys
import traceback
from pathlib import Path

REQUIRED_COLUMNS = ("vin", "time", "usage")
SUMMARY_COLUMNS = ("vin", "records", "first_time", "last_time", "total_usage", "mean_usage", "max_usage")


class InputError(Exception):
    """The input data breaks the documented format; the message says where and how."""


def root() -> Path:
    return Path(os.environ.get("BATCAT_PROCESSING_ROOT", "/opt/ml"))


def input_files(folder: Path):
    if not folder.is_dir():
        raise InputError(f"input folder {folder} does not exist; is the 'usage' input declared in the project file?")
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name.endswith((".csv", ".csv.gz")))
    if not files:
        raise InputError(f"no .csv or .csv.gz files under {folder}")
    return files


def open_text(path: Path):
    raw = gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def summarize(files):
    """Streams the rows, keeping one small accumulator per vehicle."""
    stats = {}
    for path in files:
        with open_text(path) as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise InputError(f"{path.name}: missing column(s) {', '.join(missing)}; expected a header with {', '.join(REQUIRED_COLUMNS)}")
            for row in reader:
                line = reader.line_num
                vin, time = (row["vin"] or "").strip(), (row["time"] or "").strip()
                if not vin:
                    raise InputError(f"{path.name} line {line}: empty vin")
                try:
                    usage = float(row["usage"])
                except (TypeError, ValueError):
                    raise InputError(f"{path.name} line {line}: usage {row['usage']!r} is not a number") from None
                if not math.isfinite(usage):
                    raise InputError(f"{path.name} line {line}: usage {row['usage']!r} is not a finite number")
                s = stats.get(vin)
                if s is None:
                    stats[vin] = {"records": 1, "first_time": time, "last_time": time, "total": usage, "max": usage}
                    continue
                s["records"] += 1
                s["total"] += usage
                s["max"] = max(s["max"], usage)
                s["first_time"] = min(s["first_time"], time)
                s["last_time"] = max(s["last_time"], time)
    return stats


def write_summary(stats, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "usage_summary.csv"
    with open(target, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(SUMMARY_COLUMNS)
        for vin in sorted(stats):
            s = stats[vin]
            writer.writerow([vin, s["records"], s["first_time"], s["last_time"],
                             round(s["total"], 6), round(s["total"] / s["records"], 6), round(s["max"], 6)])
    return target


def report_failure(message: str) -> None:
    path = root() / "output" / "message"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # SageMaker shows at most 1 KB of the message as the job's FailureReason.
        path.write_text(message[:1000], encoding="utf-8")
    except OSError as e:
        print(f"could not write the failure message to {path}: {e}", file=sys.stderr)


def main() -> int:
    base = root() / "processing"
    try:
        files = input_files(base / "input" / "usage")
        print(f"reading {len(files)} file(s)", flush=True)
        stats = summarize(files)
        target = write_summary(stats, base / "output" / "summary")
        print(f"wrote {len(stats)} vehicle(s) to {target}", flush=True)
        return 0
    except InputError as e:
        report_failure(f"InputError: {e}")
        print(f"InputError: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # anything unexpected still gets a reason
        report_failure(f"{type(e).__name__}: {e}")
        traceback.print_exc()
        return 2


if __name__ == "__main__":
    sys.exit(main())
