"""Learner lists as file downloads (CSV, XLSX), written as they stream out, with formula-neutralised cells.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and
some with a leading tab or carriage return) as a formula, so a learner named
``=HYPERLINK(...)`` in the LMS would run in the manager's spreadsheet. Every
text cell that starts with one of those gets a leading ``'``
(``_column_cells``), in both formats, so both files hold the same text; numbers
are written as numbers, dates as ``YYYY-MM-DD``, empty values as empty cells.

CSV is written chunk by chunk as the response streams. XLSX is a zip whose
directory comes last, so XlsxWriter writes it to a temporary file in
``constant_memory`` mode (one row in memory at a time), then the file streams
out and is deleted: memory stays flat whatever the list's length.
"""
from __future__ import annotations

import csv
import io
import os
import tempfile
from typing import Iterable, Iterator

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import xlsxwriter

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # text a spreadsheet may run starts with one of these
FORMULA_PATTERN = "^[=+\\-@\t\r]"  # the same starts, for Arrow's vectorised match
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
FILE_CHUNK = 64 * 1024


def neutralise(value):
    """One cell a spreadsheet would not run as a formula (formula-like text gets a leading ``'``)."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def _column_cells(values: pd.Series) -> list:
    """One column's cells as written: formula-like text with a leading ``'``, dates as ISO text, empty values and
    NaN as None; a column at a time.

    Arrow reads the column's type once: only text can start a formula, so only a
    text column is checked (one vectorised match), numbers are left as they are
    and dates become ISO text; no cell is checked in Python on its own.
    """
    array = pa.array(values, from_pandas=True)  # None and NaN: null
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        formula = pc.fill_null(pc.match_substring_regex(array, FORMULA_PATTERN), False)
        quote, nothing = pa.scalar("'", array.type), pa.scalar("", array.type)
        array = pc.if_else(formula, pc.binary_join_element_wise(quote, array, nothing), array)
    elif pa.types.is_date(array.type):
        array = array.cast(pa.string())
    return array.to_pylist()


def _cells(chunk: pd.DataFrame) -> list[tuple]:
    """A chunk's rows as written, built column-wise."""
    return list(zip(*(_column_cells(chunk[name]) for name in chunk.columns)))


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
