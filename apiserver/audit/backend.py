"""The audit log backend (`--audit-log-path` and friends): JSON lines written by a thread, rotated as lumberjack does.

kube-apiserver writes audit events through gopkg.in/natefinch/lumberjack.v2 (options/audit.go):
- `--audit-log-path`: the file, created with mode 0600 (its directory 0700) at start-up; `-` means stdout.
- `--audit-log-maxsize` (MB): a write that would grow the file beyond it rotates it first; 0 means lumberjack's
  default of 100 MB. A single event larger than the limit is refused (lumberjack's "write length" error).
- Rotation renames the file to `<name>-<UTC time>.<ext>`, `audit-2026-11-22T01-02-03.000.log`, and starts a new
  one with the old file's mode. Then backups beyond `--audit-log-maxbackup` (newest kept; 0: all) and older than
  `--audit-log-maxage` days (0: any age) are deleted, and with `--audit-log-compress` the rest are gzipped.

Events are queued (`--audit-log-batch-buffer-size`, upstream's default 10000) and written by one thread, so the
event loop never waits on the disk. When the queue is full the event is dropped and counted, as upstream's
buffered backend does ("audit buffer queue blocked"): auditing never blocks or fails a request.
"""
from __future__ import annotations

import gzip
import logging
import os
import queue
import shutil
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO, Final, Protocol

import orjson

from apiserver.audit.events import AuditEvent, encode_event
from apiserver.meta.objects import utc_now

logger = logging.getLogger(__name__)

MEGABYTE: Final = 1024 * 1024
DEFAULT_MAX_SIZE_MB: Final = 100
DEFAULT_BUFFER_SIZE: Final = 10000
STDOUT: Final = "-"
_BATCH: Final = 512
_BACKUP_TIME_FORMAT: Final = "%Y-%m-%dT%H-%M-%S"

Clock = Callable[[], datetime]


class AuditBackend(Protocol):
    """Where audit events go."""

    def process(self, event: AuditEvent) -> None:
        """Accept one event without blocking; never raises (an event that cannot be kept is dropped and counted)."""
        ...


class RotatingFile:
    """An append-only file rotated by size, with backups pruned by count and age (lumberjack.Logger).

    Not thread-safe: one writer thread owns it.
    """

    def __init__(
        self, path: str, *, max_size_bytes: int, max_backups: int = 0, max_age_days: int = 0, compress: bool = False,
        clock: Clock = utc_now,
    ) -> None:
        self.path = Path(path)
        self.max_size = max_size_bytes if max_size_bytes > 0 else DEFAULT_MAX_SIZE_MB * MEGABYTE
        self.max_backups = max_backups
        self.max_age_days = max_age_days
        self.compress = compress
        self._clock = clock
        self._file: BinaryIO | None = None
        self._size = 0

    def write(self, data: bytes) -> None:
        """Append `data` (one or more whole lines), rotating first when it would not fit. Raises OSError, ValueError."""
        if len(data) > self.max_size:
            raise ValueError(f"write length {len(data)} exceeds maximum file size {self.max_size}")
        if self._file is None:
            self._open_existing_or_new(len(data))
        elif self._size + len(data) > self.max_size:
            self.rotate()
        assert self._file is not None
        self._file.write(data)
        self._size += len(data)

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def rotate(self) -> None:
        """Move the current file aside and start a new one, then prune old backups."""
        self.close()
        self._open_new()
        self._mill()

    def _open_existing_or_new(self, incoming: int) -> None:
        self._mill()
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return self._open_new()
        if size + incoming >= self.max_size:
            return self.rotate()
        self._file = open(self.path, "ab")  # noqa: SIM115 - held open across writes, closed by close()
        self._size = size

    def _open_new(self) -> None:
        self.path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        mode = 0o600
        if self.path.exists():
            mode = self.path.stat().st_mode & 0o777
            os.replace(self.path, self._free_backup_name())
        descriptor = os.open(self.path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, mode)
        os.chmod(self.path, mode)
        self._file = os.fdopen(descriptor, "wb")
        self._size = 0

    def _free_backup_name(self) -> Path:
        # lumberjack would overwrite a backup made in the same millisecond; moving to the next one loses nothing.
        moment = self._clock()
        while (candidate := self.backup_name(moment)).exists() or candidate.with_name(candidate.name + ".gz").exists():
            moment += timedelta(milliseconds=1)
        return candidate

    def backup_name(self, moment: datetime) -> Path:
        utc = moment.astimezone(UTC)
        stamp = f"{utc.strftime(_BACKUP_TIME_FORMAT)}.{utc.microsecond // 1000:03d}"
        return self.path.with_name(f"{self.path.stem}-{stamp}{self.path.suffix}")

    def backups(self) -> list[tuple[datetime, Path]]:
        """The rotated files of this log, newest first."""
        found: list[tuple[datetime, Path]] = []
        prefix, suffix = self.path.stem + "-", self.path.suffix
        for candidate in self.path.parent.glob(prefix + "*"):
            name = candidate.name.removesuffix(".gz")
            if not name.endswith(suffix) or candidate == self.path:
                continue
            try:
                moment = datetime.strptime(name[len(prefix):len(name) - len(suffix)], _BACKUP_TIME_FORMAT + ".%f")
            except ValueError:
                continue
            found.append((moment.replace(tzinfo=UTC), candidate))
        return sorted(found, key=lambda item: item[0], reverse=True)

    def _mill(self) -> None:
        if not (self.max_backups or self.max_age_days or self.compress):
            return
        files = self.backups()
        doomed: list[Path] = []
        if self.max_backups:
            kept: list[tuple[datetime, Path]] = []
            preserved: set[str] = set()
            for moment, path in files:
                preserved.add(path.name.removesuffix(".gz"))
                if len(preserved) > self.max_backups:
                    doomed.append(path)
                else:
                    kept.append((moment, path))
            files = kept
        if self.max_age_days:
            cutoff = self._clock() - timedelta(days=self.max_age_days)
            doomed += [path for moment, path in files if moment < cutoff]
            files = [(moment, path) for moment, path in files if moment >= cutoff]
        for path in doomed:
            path.unlink(missing_ok=True)
        if self.compress:
            for _, path in files:
                if path.suffix != ".gz":
                    _gzip(path)


def _gzip(path: Path) -> None:
    target = path.with_name(path.name + ".gz")
    with open(path, "rb") as source, gzip.open(target, "wb") as sink:
        shutil.copyfileobj(source, sink)
    shutil.copymode(path, target)
    path.unlink()


class _Flush:
    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


_STOP: Final = object()


class LogBackend:
    """Audit events as JSON lines in a rotating file (or stdout), written by a thread of its own.

    `start()` creates the file and the thread; `close()` writes what is queued and stops them (call it through
    `asyncio.to_thread` from the event loop). Counters: `written`, `dropped` (queue full; upstream's
    apiserver_audit_error_total{plugin="buffered"}) and `failed` (the write itself failed).
    `max_size_bytes` overrides `max_size_mb` (tests rotate small files through it).
    """

    def __init__(
        self, path: str, *, max_size_mb: int = 0, max_backups: int = 0, max_age_days: int = 0, compress: bool = False,
        buffer_size: int = DEFAULT_BUFFER_SIZE, max_size_bytes: int = 0, clock: Clock = utc_now,
        stdout: BinaryIO | None = None,
    ) -> None:
        if min(max_size_mb, max_backups, max_age_days, max_size_bytes) < 0 or buffer_size < 1:
            raise ValueError("audit log sizes, counts and ages must not be negative")
        self.path = path
        self._stdout = stdout
        self._file = None if path == STDOUT else RotatingFile(
            path, max_size_bytes=max_size_bytes or max_size_mb * MEGABYTE, max_backups=max_backups,
            max_age_days=max_age_days, compress=compress, clock=clock,
        )
        self._queue: queue.Queue[object] = queue.Queue(maxsize=buffer_size)
        self._thread: threading.Thread | None = None
        self._last_drop_log = 0.0
        self.written = 0
        self.dropped = 0
        self.failed = 0

    def start(self) -> None:
        """Create the log file (0600, directory 0700) as kube-apiserver does at start-up, and start writing."""
        if self._thread is not None:
            return
        if self._file is not None:
            self._file.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.close(os.open(self._file.path, os.O_CREAT | os.O_APPEND | os.O_RDWR, 0o600))
        self._thread = threading.Thread(target=self._run, name="audit-log-writer", daemon=True)
        self._thread.start()

    def process(self, event: AuditEvent) -> None:
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1
            now = time.monotonic()
            if now - self._last_drop_log > 1.0:
                self._last_drop_log = now
                logger.error("audit_buffer_queue_blocked", extra={"dropped": self.dropped})

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every event queued so far is written (True) or `timeout` passes (False)."""
        marker = _Flush()
        try:
            self._queue.put(marker, timeout=timeout)
        except queue.Full:
            return False
        return marker.done.wait(timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop the thread and close the file. Idempotent."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._queue.put(_STOP, timeout=timeout)
        thread.join(timeout)

    def _run(self) -> None:
        try:
            while self._write_batch():
                pass
        finally:
            if self._file is not None:
                self._file.close()

    def _write_batch(self) -> bool:
        """Write one batch of queued events; False once told to stop."""
        batch = [self._queue.get()]
        while len(batch) < _BATCH:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        for item in batch:
            if item is _STOP:
                self._sync()
                return False
            if isinstance(item, _Flush):
                self._sync()
                item.done.set()
            elif isinstance(item, AuditEvent):
                self._write(item)
        self._sync()
        return True

    def _write(self, event: AuditEvent) -> None:
        try:
            line = encode_event(event)
            if self._file is None:
                (self._stdout or sys.stdout.buffer).write(line)
            else:
                self._file.write(line)
            self.written += 1
        except (OSError, ValueError, TypeError, orjson.JSONEncodeError) as error:
            self.failed += 1
            logger.error("audit_log_write_failed", extra={"audit_id": event.audit_id, "error": str(error)})

    def _sync(self) -> None:
        try:
            if self._file is not None:
                self._file.flush()
            else:
                (self._stdout or sys.stdout.buffer).flush()
        except OSError as error:
            logger.error("audit_log_flush_failed", extra={"error": str(error)})
