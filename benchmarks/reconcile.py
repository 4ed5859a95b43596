"""Benchmark: `diagnose reconcile` against datacompy and against a polars floor, on the same files, in one run.

    python benchmarks/reconcile.py                      # 1,000,000 x 1,000,000 rows
    python benchmarks/reconcile.py --rows 100000
    python benchmarks/reconcile.py --baseline-python /path/to/venv/bin/python

Generates seeded CSVs in a temporary directory (about 85% overlap; e-mail noise: case, spaces,
plus-tags, gmail dots; a few unreadable rows), then runs each contender as its own subprocess and
reports wall time (best of --repeat runs, alternating) and peak RSS (the largest ru_maxrss of that
child, from os.wait4):

* diagnose: the real CLI, `diagnose reconcile --dashboard D --internal I --partner P`, terminal
  output to /dev/null;
* diagnose --json: the same with `--json` (every row of every bucket, streamed) to /dev/null;
* floor: the least a reconciliation can do with polars: read both files, normalise the e-mails
  (lower-case, strip) and join them (a full join: matched and both kinds of unmatched), no reason
  codes, no buckets, no line numbers;
* datacompy: pandas read_csv of both files, e-mails normalised with the same rules as diagnose
  (pandas string ops), then datacompy's PandasCompare (Compare before 1.0) joined on them.

diagnose and the floor run on this interpreter (whatever polars it has). datacompy pins
``polars<1.45``, so it cannot share an environment with polars 2.x: it runs on another interpreter,
``--baseline-python PATH``, or else on a virtual environment this script creates once under
``~/.cache/diagnose-bench/datacompy-venv`` (``pip install datacompy pandas``; needs PyPI).
Targets at 1M x 1M: diagnose >= 5x faster than datacompy, <= 2x the floor, <= 1 GB peak RSS (with
--json too). Linux (peak RSS from os.wait4); nothing beyond diagnose is needed in this environment.
`--no-baseline` skips datacompy. A busy machine moves every number: compare the ratios of one run.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FIRST = ["ann", "bob", "cy", "dee", "eve", "fay", "gus", "hal", "ivy", "jo", "kim", "lou", "max", "ned"]
DOMAINS = ["gmail.com", "example.com", "acme.io", "mail.org", "corp.net", "outlook.com"]
PARTNERS = ["jane", "john", "kate", "leo"]
STATUSES = ["Signed Up", "Paid", "Paid", "Paid", "Approval pending"]
BASELINE_VENV = Path.home() / ".cache" / "diagnose-bench" / "datacompy-venv"
TARGETS = {"vs_datacompy": 5.0, "vs_floor": 2.0, "rss_mb": 1024}


def noisy(email: str, rnd: random.Random) -> str:
    local, _, domain = email.partition("@")
    r = rnd.random()
    if r < 0.05:
        return email.upper()
    if r < 0.08:
        return " " + email + " "
    if r < 0.11:
        return f"{local}+partner@{domain}"
    if r < 0.14 and domain == "gmail.com":
        return f"{local[:2]}.{local[2:]}@googlemail.com"
    return email


def generate(folder: Path, n: int, seed: int = 42) -> tuple[Path, Path]:
    rnd = random.Random(seed)
    internal = folder / "internal.csv"
    dashboard = folder / "dashboard.csv"
    dash_rows = []
    with internal.open("w", encoding="utf-8", newline="") as fi:
        fi.write("id,email,name,signup_date,click_date,stripe_customer_id\n")
        for k in range(n):
            email = f"{rnd.choice(FIRST)}{k}@{rnd.choice(DOMAINS)}"
            keyed = rnd.random() < 0.6
            key = f"cus_{k:07d}" if keyed else ""
            day = 1 + k % 28
            signup = f"2024-{1 + k % 12:02d}-{day:02d}"
            click = f"2023-{1 + k % 12:02d}-{day:02d}" if rnd.random() < 0.3 else ""
            name = f"Customer {k}"
            fi.write(f"{key},{email},{name},{signup},{click},prov_{k}\n")
            if rnd.random() < 0.85:
                dash_rows.append((key if rnd.random() < 0.95 else "", noisy(email, rnd), name,
                                  rnd.choice(PARTNERS), signup + "T10:00:00Z", rnd.choice(STATUSES), f"prov_{k}"))
        for r in range(5):
            fi.write(f"bad{r},too,many,fields,here,x,y\n")
    while len(dash_rows) < n - 5:
        k = len(dash_rows) + n
        dash_rows.append(("", f"other{k}@{rnd.choice(DOMAINS)}", f"Stranger {k}", rnd.choice(PARTNERS),
                          "2024-05-05", "Paid", ""))
    rnd.shuffle(dash_rows)
    with dashboard.open("w", encoding="utf-8", newline="") as fd:
        fd.write("Customer Key,Email,Name,Partner Key,Created At,Status,Provider Key\n")
        for row in dash_rows[: n - 5]:
            fd.write(",".join(row) + "\n")
        for r in range(5):
            fd.write(f"k{r},x{r}@y.com,N,jane,not-a-date,Paid,\n")
    return dashboard, internal


DATACOMPY = r"""
import sys
import pandas as pd
import datacompy

def norm(s):
    s = s.fillna("").str.lower().str.replace(r"\s+", "", regex=True)
    s = s.str.replace(r"^([^@+]*)\+[^@]*@", r"\1@", regex=True)
    gm = s.str.extract(r"^(.*)@(?:gmail\.com|googlemail\.com)$")[0]
    return gm.str.replace(".", "", regex=False).add("@gmail.com").where(gm.notna(), s)

d = pd.read_csv(sys.argv[1], dtype=str, on_bad_lines="skip")
i = pd.read_csv(sys.argv[2], dtype=str, on_bad_lines="skip")
d["email_norm"] = norm(d["Email"])
i["email_norm"] = norm(i["email"])
d = d.rename(columns={"Name": "name", "Email": "email"})
Compare = getattr(datacompy, "PandasCompare", None) or datacompy.Compare
cmp = Compare(i, d, join_columns="email_norm", df1_name="internal", df2_name="dashboard")
print(len(cmp.intersect_rows), len(cmp.df1_unq_rows), len(cmp.df2_unq_rows))
"""

FLOOR = r"""
import sys
import polars as pl

def read(path, column):
    frame = pl.read_csv(path, infer_schema_length=0, truncate_ragged_lines=True)
    return frame.with_columns(pl.col(column).str.strip_chars().str.to_lowercase().alias("_e"))

d = read(sys.argv[1], "Email")
i = read(sys.argv[2], "email")
joined = i.join(d, on="_e", how="full", coalesce=False)
print(joined.height, joined["_e"].null_count(), joined["_e_right"].null_count())
"""


def run(cmd: list[str], stdout) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MB, exit status) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode not in (0, 1):
        sys.exit(f"{cmd[:3]} failed ({proc.returncode}): {err.strip()[-500:]}")
    rss_mb = usage.ru_maxrss / 1024  # KiB on Linux
    return wall, rss_mb, proc.returncode


def baseline_python(given: str | None) -> str:
    """The interpreter that runs datacompy: the one given, else a virtual environment made once."""
    if given:
        return given
    python = BASELINE_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {BASELINE_VENV} for datacompy (once) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(BASELINE_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "datacompy", "pandas"], check=True)
    return str(python)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows per file (default 1,000,000)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs of each contender, alternating; the best wall time is kept (default 3: "
                         "a shared machine's load spikes otherwise decide the ratio)")
    ap.add_argument("--baseline-python", metavar="PATH",
                    help=f"a Python with datacompy and pandas (default: {BASELINE_VENV}, made if missing)")
    ap.add_argument("--no-baseline", action="store_true", help="skip datacompy (diagnose and the floor only)")
    args = ap.parse_args()
    other = None if args.no_baseline else baseline_python(args.baseline_python)
    with tempfile.TemporaryDirectory(prefix="reconcile-bench-") as tmp:
        t0 = time.perf_counter()
        dashboard, internal = generate(Path(tmp), args.rows, args.seed)
        size = (dashboard.stat().st_size + internal.stat().st_size) / 1e6
        print(f"generated {args.rows:,} + {args.rows:,} rows ({size:.0f} MB) in {time.perf_counter() - t0:.1f} s")
        exe = [sys.executable, "-m", "diagnose", "reconcile", "--dashboard", str(dashboard),
               "--internal", str(internal), "--partner", "jane"]
        contenders = {
            "diagnose reconcile": exe,
            "diagnose --json": exe + ["--json"],
            "floor (polars)": [sys.executable, "-c", FLOOR, str(dashboard), str(internal)],
        }
        if other:
            contenders["datacompy (pandas)"] = [other, "-c", DATACOMPY, str(dashboard), str(internal)]
        runs: dict[str, list[tuple[float, float, int]]] = {name: [] for name in contenders}
        for _ in range(max(1, args.repeat)):
            for name, cmd in contenders.items():
                with open(os.devnull, "w") as devnull:
                    runs[name].append(run(cmd, devnull))
    best = {name: (min(r[0] for r in rs), max(r[1] for r in rs)) for name, rs in runs.items()}
    for name, rs in runs.items():
        walls = ", ".join(f"{r[0]:.2f}" for r in rs)
        print(f"{name:19}: {best[name][0]:6.2f} s wall (best of {walls}), {best[name][1]:6.0f} MB peak RSS")
    ours, floor = best["diagnose reconcile"][0], best["floor (polars)"][0]
    print(f"vs floor           : diagnose {ours / floor:.2f}x the floor, --json {best['diagnose --json'][0] / floor:.2f}x "
          f"(target <= {TARGETS['vs_floor']}x)")
    if other:
        theirs = best["datacompy (pandas)"][0]
        print(f"vs datacompy       : {theirs / ours:.2f}x faster, --json {theirs / best['diagnose --json'][0]:.2f}x "
              f"(target >= {TARGETS['vs_datacompy']}x)")
    print(f"peak RSS           : {best['diagnose reconcile'][1]:.0f} MB, --json {best['diagnose --json'][1]:.0f} MB "
          f"(target <= {TARGETS['rss_mb']} MB)")


if __name__ == "__main__":
    main()
