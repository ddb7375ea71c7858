"""Downloads written column-wise hold the same bytes as a plain cell-by-cell writer: formula-like text neutralised
(only text: numbers, negative ones included, untouched), unicode, empty values and NaN as empty cells, dates as ISO."""
from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile

import pandas as pd
import xlsxwriter

from app import downloads

COLUMNS = ["user_id", "name", "group", "connections", "avg_score", "learning_hours", "last_activity", "assigned"]


def reference_cells(frame: pd.DataFrame) -> list[list]:
    """The straightforward writer's cells: one Python value at a time."""
    def cell(value):
        if value is None or (isinstance(value, float) and value != value):
            return None
        if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")):
            return "'" + value
        if isinstance(value, dt.date):
            return value.isoformat()
        return value

    return [[cell(v) for v in row] for row in frame.itertuples(index=False, name=None)]


def reference_csv(frames: list[pd.DataFrame]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for frame in frames:
        writer.writerows(reference_cells(frame))
    return buffer.getvalue().encode()


def reference_xlsx(frames: list[pd.DataFrame], path) -> None:
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                               "strings_to_numbers": False, "strings_to_urls": False})
    sheet = workbook.add_worksheet("Learners")
    sheet.write_row(0, 0, COLUMNS)
    row = 1
    for frame in frames:
        for cells in reference_cells(frame):
            for col, value in enumerate(cells):
                if isinstance(value, str):
                    sheet.write_string(row, col, value)
                elif value is not None:
                    sheet.write_number(row, col, value)
            row += 1
    workbook.close()


def hostile_frames() -> list[pd.DataFrame]:
    """Learner-like chunks: every formula start, quotes, separators and line breaks, unicode, empty values, NaN."""
    names = ["=HYPERLINK(\"http://x\",\"y\")", "+33 6 12", "-1", "@SUM(A1)", "\tTab", "\rReturn", "Zoë Ñúñez",
             "李雷", "comma, quote \" and\nnewline", "", None, "plain", "a=b", "'=already"]
    n = len(names)
    first = pd.DataFrame({
        "user_id": [f"u{i:03d}" if i % 5 else f"-u{i}" for i in range(n)],
        "name": names,
        "group": ["Sales", "=cmd|' /C calc'!A0", None, "Ventes é", *["Ops"] * (n - 4)],
        "connections": pd.Series([i if i % 4 else None for i in range(n)], dtype=object),
        "avg_score": pd.Series([0.1 + i / 3 if i % 3 else None for i in range(n)], dtype=object),
        "learning_hours": [float("nan") if i == 2 else -i / 7 for i in range(n)],
        "last_activity": pd.Series([dt.date(2026, 1, 1) + dt.timedelta(days=i) if i % 6 else None
                                    for i in range(n)], dtype=object),
        "assigned": list(range(n)),
    }, columns=COLUMNS)
    empty_group = first.iloc[:3].assign(group=pd.Series([None] * 3, dtype=object), avg_score=None)
    return [first, empty_group]


def test_dl001_csv_column_wise_equals_the_reference_writer():
    frames = hostile_frames()
    written = b"".join(downloads.csv_stream(COLUMNS, frames))
    assert written == reference_csv(frames)
    rows = list(csv.reader(io.StringIO(written.decode(), newline="")))
    assert rows[1][1] == "'=HYPERLINK(\"http://x\",\"y\")" and rows[3][1] == "'-1" and rows[3][5] == ""
    assert rows[4][5] == repr(-3 / 7) and rows[4][0] == "u003"  # numbers, negative ones too, as they are


def test_dl002_xlsx_column_wise_equals_the_reference_writer(tmp_path):
    frames = hostile_frames()
    written = tmp_path / "written.xlsx"
    written.write_bytes(b"".join(downloads.xlsx_stream(COLUMNS, frames)))
    reference_xlsx(frames, tmp_path / "reference.xlsx")
    with zipfile.ZipFile(written) as ours, zipfile.ZipFile(tmp_path / "reference.xlsx") as theirs:
        names = [n for n in theirs.namelist() if n != "docProps/core.xml"]  # core.xml holds the creation time
        assert sorted(n for n in ours.namelist() if n != "docProps/core.xml") == sorted(names)
        for name in names:
            assert ours.read(name) == theirs.read(name), name


def test_dl003_one_cell_and_a_column_neutralise_the_same_starts():
    """Explore's small tables neutralise cell by cell, the learner files column-wise: both quote every start."""
    texts = [start + "1" for start in downloads.FORMULA_STARTS] + ["plain", "a=b"]
    column = b"".join(downloads.csv_stream(["x"], [pd.DataFrame({"x": texts})]))
    assert list(csv.reader(io.StringIO(column.decode())))[1:] == [[downloads.neutralise(t)] for t in texts]
    assert [downloads.neutralise(t) for t in texts] == ["'" + t for t in texts[:-2]] + ["plain", "a=b"]
