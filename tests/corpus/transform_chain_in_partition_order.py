# expect: clean
# shape: every transformation between task and concat, fed from a {partition: task} map in order
"""Payroll per department: clean, convert and filter each extract, combine in department order."""

from __future__ import annotations

import asyncio

import pandas as pd

DEPARTMENTS = ["eng", "ops", "sales", "support"]


async def extract(dept: str) -> pd.DataFrame:
    await asyncio.sleep(0.003 * (len(dept) % 4 + 1))  # simulated HR system export
    n = len(dept) + 2
    return pd.DataFrame(
        {
            "EmpID": [f"{dept[:2].upper()}{k:03d}" for k in range(n)],
            "Dept": dept,
            "Gross": [str(3000 + 250 * k + 10 * len(dept)) for k in range(n)],
            "Bonus": [None if k % 3 == 0 else 100.0 * k for k in range(n)],
            "Active": [k % 4 != 1 for k in range(n)],
        }
    )


def clean(raw: pd.DataFrame, run: str) -> pd.DataFrame:
    frame = (
        raw.rename(columns={"EmpID": "emp_id", "Dept": "dept", "Gross": "gross", "Bonus": "bonus"})
        .astype({"gross": "int64"})
        .fillna({"bonus": 0.0})
        .assign(run=run)
    )
    frame = frame[frame["Active"]][["emp_id", "dept", "gross", "bonus", "run"]]
    frame = frame.query("gross > 3100").dropna().copy()
    return frame.set_index("emp_id").loc[:, ["dept", "gross", "bonus"]].iloc[:4]


async def main() -> None:
    tasks = {d: asyncio.create_task(extract(d)) for d in DEPARTMENTS}
    await asyncio.wait(tasks.values())
    payroll = pd.concat([clean(tasks[d].result(), "2026-11") for d in DEPARTMENTS])
    payroll["payslip_no"] = range(1, len(payroll) + 1)
    print(payroll.to_string())


asyncio.run(main())
