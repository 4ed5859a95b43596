"""Benchmark: `diagnose reconcile` against datacompy on the same generated files, in one run.

    python benchmarks/reconcile.py            # 1,000,000 x 1,000,000 rows
    python benchmarks/reconcile.py --rows 100000

Generates seeded CSVs in a temporary directory (about 85% overlap; e-mail noise: case, spaces,
plus-tags, gmail dots; a few unreadable rows), then runs each contender as its own subprocess and
reports wall time (best of --repeat runs, alternating) and peak RSS (the largest ru_maxrss of that
child, from os.wait4):

* diagnose: the real CLI, `diagnose reconcile --dashboard D --internal I --partner P`, terminal
  output to /dev/null;
* datacompy: pandas read_csv of both files, e-mails normalised with the same rules (pandas string
  ops), then datacompy's PandasCompare (Compare before 1.0) joined on the normalised e-mail.

Needs the [bench] extras (pandas, datacompy).
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows per file (default 1,000,000)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs of each contender, alternating; the best wall time is kept (default 3: "
                         "a shared machine's load spikes otherwise decide the ratio)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="reconcile-bench-") as tmp:
        t0 = time.perf_counter()
        dashboard, internal = generate(Path(tmp), args.rows, args.seed)
        size = (dashboard.stat().st_size + internal.stat().st_size) / 1e6
        print(f"generated {args.rows:,} + {args.rows:,} rows ({size:.0f} MB) in {time.perf_counter() - t0:.1f} s")
        exe = [sys.executable, "-m", "diagnose", "reconcile", "--dashboard", str(dashboard),
               "--internal", str(internal), "--partner", "jane"]
        ours_runs, theirs_runs = [], []
        for _ in range(max(1, args.repeat)):
            with open(os.devnull, "w") as devnull:
                ours_runs.append(run(exe, devnull))
            theirs_runs.append(run([sys.executable, "-c", DATACOMPY, str(dashboard), str(internal)],
                                   subprocess.DEVNULL))
    ours = (min(r[0] for r in ours_runs), max(r[1] for r in ours_runs), ours_runs[0][2])
    theirs = (min(r[0] for r in theirs_runs), max(r[1] for r in theirs_runs), theirs_runs[0][2])
    walls = lambda runs: ", ".join(f"{r[0]:.2f}" for r in runs)  # noqa: E731
    print(f"diagnose reconcile : {ours[0]:6.2f} s wall (best of {walls(ours_runs)}), "
          f"{ours[1]:6.0f} MB peak RSS (exit {ours[2]})")
    print(f"datacompy (pandas) : {theirs[0]:6.2f} s wall (best of {walls(theirs_runs)}), {theirs[1]:6.0f} MB peak RSS")
    print(f"ratio              : {theirs[0] / ours[0]:.2f}x faster (target >= 3x, <= 1024 MB)")


if __name__ == "__main__":
    main()
