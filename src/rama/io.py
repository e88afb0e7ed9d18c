"""Atomic output: write to a temporary path beside the target, then move into place."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl

from rama.errors import DataValidationError, StageInputError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()
_DIR_MODE = 0o777 & ~_umask()


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary file path in ``target``'s folder; rename onto ``target`` on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, _FILE_MODE)  # mkstemp makes 0600; outputs are ordinary files
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; it replaces ``target`` on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        os.chmod(tmp, _DIR_MODE)  # mkdtemp makes 0700
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            if old.exists():
                shutil.rmtree(old)
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old)
        else:
            os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def _write(target: Path, writer: Callable[[Path], object]) -> Path:
    with atomic_path(target) as tmp:
        writer(tmp)
    return Path(target)


def write_with(target: Path, writer: Callable[[Path], object]) -> Path:
    """Write ``target`` atomically with ``writer(tmp_path)`` (a writer of its own, e.g. one
    streaming blocks)."""
    return _write(target, writer)


def write_parquet(df: pl.DataFrame, target: Path) -> Path:
    """Write ``df`` as Parquet (zstd) atomically."""
    return _write(target, lambda p: df.write_parquet(p, compression="zstd"))


def sink_parquet(lf: pl.LazyFrame, target: Path) -> Path:
    """Stream ``lf`` into a Parquet file (zstd) atomically, a batch at a time (the frame
    is never whole in memory)."""
    return _write(target, lambda p: lf.sink_parquet(p, compression="zstd"))


def write_csv(df: pl.DataFrame, target: Path) -> Path:
    """Write ``df`` as CSV atomically."""
    return _write(target, df.write_csv)


def write_json(obj: Any, target: Path) -> Path:
    """Write ``obj`` as indented JSON atomically."""

    def dump(p: Path) -> None:
        p.write_text(json.dumps(obj, indent=2, default=str) + "\n", encoding="utf-8")

    return _write(target, dump)


def write_text(text: str, target: Path) -> Path:
    """Write text atomically."""
    return _write(target, lambda p: p.write_text(text, encoding="utf-8"))


# ----------------------------------------------------------------------------- reading

SNIFF_BYTES = 65536  # bytes of a CSV's head checked for a byte-order mark and the delimiter
_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32 (little-endian)"),
    (b"\x00\x00\xfe\xff", "UTF-32 (big-endian)"),
    (b"\xff\xfe", "UTF-16 (little-endian)"),
    (b"\xfe\xff", "UTF-16 (big-endian)"),
)
_DELIMITERS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}


def readable_file(path: Path, what: str = "file", fix: str | None = None) -> Path:
    """``path`` if it is an existing, readable regular file; else a DataValidationError
    (``not_found`` for a missing path, a dangling symlink or a symlink loop; ``unreadable``
    for a folder or a file without read permission)."""
    path = Path(path)
    advice = fix or "check the path"
    try:
        path.stat()
    except OSError as exc:
        loop = getattr(exc, "errno", None) == 40 or "loop" in str(exc).lower()
        if path.is_symlink():
            why = "a symlink loop" if loop else "a symlink whose target does not exist"
            raise DataValidationError(
                str(path),
                f"{what} is {why} ({exc.strerror or exc})",
                reason="not_found",
                fix=f"point the link at the real file, or pass the real file; {advice}",
            ) from exc
        raise DataValidationError(
            str(path), f"{what} not found", reason="not_found", fix=advice
        ) from exc
    if path.is_dir():
        raise DataValidationError(
            str(path),
            f"is a folder; expected a {what}",
            reason="unreadable",
            fix=f"pass the file inside the folder; {advice}",
        )
    if not os.access(path, os.R_OK):
        raise DataValidationError(
            str(path),
            f"{what} is not readable (permission denied)",
            reason="unreadable",
            fix="grant read permission (chmod u+r) or copy the file",
        )
    return path


def _csv_head_problem(head: bytes) -> tuple[str, str] | None:
    """(problem, fix) when a CSV's first bytes show a UTF-16/32 file or another delimiter."""
    for bom, name in _BOMS:
        if head.startswith(bom):
            return (
                f"is {name} text (byte-order mark {bom.hex(' ')}); expected UTF-8 CSV",
                "save the file as UTF-8 CSV (e.g. 'CSV UTF-8' in a spreadsheet, or "
                "`iconv -f UTF-16 -t UTF-8`)",
            )
    if b"\x00" in head[:4096]:
        return (
            "holds NUL bytes in its header: it looks like UTF-16 text without a byte-order "
            "mark or a binary file; expected UTF-8 CSV",
            "save the file as UTF-8 CSV",
        )
    first = head.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    if "," not in first:
        for sep, name in _DELIMITERS.items():
            if sep in first:
                shown = first[:80]
                return (
                    f"is delimited by {name} ({sep!r}), not commas: header {shown!r}",
                    "save the file with comma delimiters (e.g. 'CSV UTF-8 (comma delimited)' "
                    "in a spreadsheet)",
                )
    return None


def _first_bad_utf8(path: Path) -> str | None:
    """Where a file first breaks UTF-8 ('byte N, line L: b'..'), read in blocks; None if valid."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, lines = 0, 1
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                at = offset + exc.start
                line = lines + block[: exc.start].count(b"\n")
                return f"byte {at}, line {line}: {block[exc.start : exc.start + 4]!r}"
            offset += len(block)
            lines += block.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return f"byte {offset}: the file ends inside a character"
    return None


INFER_ROWS = 10_000
"""Rows :func:`read_csv_typed` infers the column types from before it reads the rest."""


def read_csv_typed(path: Path) -> pl.DataFrame:
    """``pl.read_csv(path, infer_schema_length=None)`` (every row's value decides the
    types), in about a tenth of its time on large files: the types are inferred from the
    first :data:`INFER_ROWS` rows, and the whole file is read again with full inference
    only when that guess can be wrong: a later value does not parse as the guessed type
    (polars refuses it), or a column is empty in those rows (text then, by no evidence).
    Text is the widest type, so a column with a text value among them is text either way."""
    try:
        guessed = pl.read_csv(path, infer_schema_length=INFER_ROWS)
    except pl.exceptions.ComputeError:
        return pl.read_csv(path, infer_schema_length=None)
    probe = guessed.head(INFER_ROWS)
    blind = [
        c
        for c, t in guessed.schema.items()
        if t == pl.String and probe[c].null_count() == probe.height
    ]
    if blind and guessed.height > INFER_ROWS:
        return pl.read_csv(path, infer_schema_length=None)
    return guessed


def read_csv_text(path: Path, what: str = "CSV file", fix: str | None = None) -> pl.DataFrame:
    """A CSV file with every column as text (the schemas convert), or a DataValidationError
    naming the file: UTF-16/32 (byte-order mark) or non-UTF-8 bytes (byte and line), another
    delimiter than ``,`` (``;``, tab, ``|``), a zero-byte file (``empty``), a broken file.
    A header-only file gives a frame with the header's columns and no rows."""
    path = readable_file(path, what, fix)
    src = str(path)
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if not head.strip():
        raise DataValidationError(
            src,
            f"is empty (expected a header row and data rows of a {what})",
            reason="empty",
            fix=fix or "write the header and the rows, or point to the right file",
        )
    issue = _csv_head_problem(head)
    if issue is not None:
        raise DataValidationError(src, issue[0], reason="unreadable", fix=issue[1])
    try:
        return pl.read_csv(path, infer_schema=False, glob=False)
    except BaseException as exc:  # polars errors, and its panics on malformed input
        if isinstance(exc, KeyboardInterrupt | SystemExit | MemoryError):
            raise
        bad = _first_bad_utf8(path)
        if bad is not None:
            raise DataValidationError(
                src,
                f"is not UTF-8 text ({bad})",
                reason="unreadable",
                fix="save the file as UTF-8 CSV (e.g. 'CSV UTF-8' in a spreadsheet)",
            ) from exc
        raise DataValidationError(
            src,
            f"could not be parsed as CSV ({type(exc).__name__}: {str(exc).splitlines()[0]})",
            reason="unreadable",
            fix="check that the file is a complete CSV file with one header row and the "
            "same number of fields on every line",
        ) from exc


def read_parquet_file(
    path: Path, what: str = "Parquet file", fix: str | None = None
) -> pl.DataFrame:
    """A Parquet file, or a DataValidationError (``unreadable``: truncated or not Parquet)."""
    path = readable_file(path, what, fix)
    try:
        return pl.read_parquet(path, glob=False)  # a [ or * in a folder name is no pattern
    except BaseException as exc:  # a corrupt page can make polars panic (not an Exception)
        if isinstance(exc, KeyboardInterrupt | SystemExit | MemoryError):
            raise
        raise unreadable_parquet(path, exc, fix) from exc


def unreadable_parquet(
    path: Path, exc: BaseException, fix: str | None = None
) -> DataValidationError:
    """The error for a Parquet file polars could not read (``unreadable``), naming the
    exception's first line."""
    first = str(exc).splitlines()[0] if str(exc) else ""
    return DataValidationError(
        str(path),
        f"could not be read as Parquet ({type(exc).__name__}: {first}); the file is "
        "truncated, corrupted or not Parquet",
        reason="unreadable",
        fix=fix or "re-write the file (re-run the stage that wrote it) or re-download it",
    )


def read_json(path: Path, stage: str, hint: str) -> Any:
    """A JSON file rama wrote, or a StageInputError saying which stage to re-run when it is
    missing, truncated, not UTF-8 or not JSON (``hint``: e.g. "run `rama forecast` again")."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise StageInputError(f"{stage}: {path} not found; {hint}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise StageInputError(f"{stage}: {path} cannot be read ({exc}); {hint}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise StageInputError(
            f"{stage}: {path} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg}; truncated by an interrupted write?); {hint}",
            reason="unreadable",
        ) from exc


def read_table(folder: Path, name: str) -> pl.DataFrame:
    """Read ``folder/name.parquet`` or ``folder/name.csv`` (Parquet preferred).

    A CSV is read as text (the table's schema converts it; a header-only file is an empty
    table); a truncated or broken file is a DataValidationError (``unreadable``)."""
    folder = Path(folder)
    pq, csv = folder / f"{name}.parquet", folder / f"{name}.csv"
    if pq.is_file() or pq.is_symlink():
        return read_parquet_file(pq, f"{name} table", "re-write the problem folder")
    if csv.is_file() or csv.is_symlink():
        return read_csv_text(csv, f"{name} table")
    raise DataValidationError(
        str(folder),
        f"missing table {name!r}: expected {name}.parquet or {name}.csv",
        reason="not_found",
        fix=f"add the {name} table to the folder",
    )


def require_file(path: Path, stage: str, hint: str) -> Path:
    """Return ``path`` if it exists, else a StageInputError saying which stage makes it."""
    path = Path(path)
    if not path.exists():
        raise StageInputError(f"{stage}: {path} not found; {hint}")
    return path
