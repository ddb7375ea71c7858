"""Learner lists as file downloads (CSV, XLSX), written as they stream out, with formula-neutralised cells.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and
some with a leading tab or carriage return) as a formula, so a learner named
``=HYPERLINK(...)`` in the LMS would run in the manager's spreadsheet. Every
text cell that starts with one of those gets a leading ``'``
(``neutralise``), in both formats, so both files hold the same text; numbers
are written as numbers, dates as ``YYYY-MM-DD``, empty values as empty cells.

CSV is written chunk by chunk as the response streams. XLSX is a zip whose
directory comes last, so XlsxWriter writes it to a temporary file in
``constant_memory`` mode (one row in memory at a time), then the file streams
out and is deleted: memory stays flat whatever the list's length.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import os
import tempfile
from typing import Iterable, Iterator

import pandas as pd
import xlsxwriter

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
FILE_CHUNK = 64 * 1024


def neutralise(value):
    """A cell value as written: text a spreadsheet would run as a formula gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _cells(chunk: pd.DataFrame) -> Iterator[list]:
    for row in chunk.itertuples(index=False, name=None):
        yield [neutralise(None if v is None or (isinstance(v, float) and v != v) else v) for v in row]


def csv_stream(columns: Iterable[str], chunks: Iterable[pd.DataFrame]) -> Iterator[bytes]:
    """The list as CSV (UTF-8, RFC 4180 quoting), one piece per chunk of rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(list(columns))
    for chunk in chunks:
        writer.writerows(_cells(chunk))
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def xlsx_stream(columns: Iterable[str], chunks: Iterable[pd.DataFrame], sheet: str = "Learners") -> Iterator[bytes]:
    """The list as an XLSX workbook of one sheet: written to a temporary file, then streamed and deleted."""
    fd, path = tempfile.mkstemp(prefix="dataviz-learners-", suffix=".xlsx")
    os.close(fd)
    try:
        workbook = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False,
                                              "strings_to_numbers": False, "strings_to_urls": False})
        worksheet = workbook.add_worksheet(sheet)
        worksheet.write_row(0, 0, list(columns))
        row = 1
        for chunk in chunks:
            for cells in _cells(chunk):
                for col, value in enumerate(cells):
                    if isinstance(value, str):
                        worksheet.write_string(row, col, value)
                    elif value is not None:
                        worksheet.write_number(row, col, value)
                row += 1
        workbook.close()
        with open(path, "rb") as fh:
            while piece := fh.read(FILE_CHUNK):
                yield piece
    finally:
        os.unlink(path)
