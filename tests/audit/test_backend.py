"""The audit log: JSON lines written by a thread, rotated, pruned and compressed as lumberjack does."""
from __future__ import annotations

import gzip
import io
import re
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from apiserver.audit.backend import LogBackend, RotatingFile
from apiserver.audit.events import (
    AuditContext,
    AuditEvent,
    RequestMetadata,
    encode_event,
    object_reference,
    user_info_dict,
)
from apiserver.audit.policy import Level, RequestAuditConfig, Stage
from apiserver.meta.requestinfo import parse_request_info
from tests.audit import User

START = datetime(2026, 11, 22, 1, 2, 3, tzinfo=UTC)
BACKUP = re.compile(r"audit-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d{3}\.log")


class SteppingClock:
    """A clock that moves one second forward each time it is read."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def event(number: int, stage: Stage = Stage.RESPONSE_COMPLETE) -> AuditEvent:
    info = parse_request_info("GET", f"/api/v1/namespaces/ns/pods/p{number}", {})
    metadata = RequestMetadata(f"id-{number:04d}", info.path, info.verb, "test", ("127.0.0.1",), START)
    ctx = AuditContext(RequestAuditConfig(Level.METADATA), metadata, user_info_dict(User("alice")),
                       object_reference(info), response_code=200)
    return ctx.event(stage, START)


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    return tmp_path / "audit"


@pytest.fixture
def started() -> Iterator[list[LogBackend]]:
    backends: list[LogBackend] = []
    yield backends
    for backend in backends:
        backend.close()


def start(started: list[LogBackend], backend: LogBackend) -> LogBackend:
    backend.start()
    started.append(backend)
    return backend


def lines(path: Path) -> list[dict[str, object]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as file:
        return [orjson.loads(line) for line in file.read().splitlines()]


def audit_ids(paths: list[Path]) -> list[str]:
    return [str(line["auditID"]) for path in paths for line in lines(path)]


def test_events_are_written_as_json_lines(log_dir: Path, started: list[LogBackend]) -> None:
    backend = start(started, LogBackend(str(log_dir / "audit.log")))
    for number in range(3):
        backend.process(event(number))
    assert backend.flush()
    written = lines(log_dir / "audit.log")
    assert [line["auditID"] for line in written] == ["id-0000", "id-0001", "id-0002"]
    assert written[0]["kind"] == "Event" and written[0]["level"] == "Metadata"
    assert backend.written == 3


def test_the_log_file_is_created_private_at_start(log_dir: Path, started: list[LogBackend]) -> None:
    start(started, LogBackend(str(log_dir / "audit.log")))
    assert (log_dir / "audit.log").exists()
    assert stat.S_IMODE((log_dir / "audit.log").stat().st_mode) == 0o600
    assert stat.S_IMODE(log_dir.stat().st_mode) == 0o700


def test_a_dash_writes_to_stdout(started: list[LogBackend]) -> None:
    stdout = io.BytesIO()
    backend = start(started, LogBackend("-", stdout=stdout))
    backend.process(event(1))
    assert backend.flush()
    assert orjson.loads(stdout.getvalue())["auditID"] == "id-0001"


def test_a_full_queue_drops_events_instead_of_blocking(log_dir: Path) -> None:
    backend = LogBackend(str(log_dir / "audit.log"), buffer_size=2)
    for number in range(5):
        backend.process(event(number))
    assert backend.dropped == 3
    backend.start()
    backend.close()
    assert audit_ids([log_dir / "audit.log"]) == ["id-0000", "id-0001"]


def test_close_writes_what_is_queued(log_dir: Path) -> None:
    backend = LogBackend(str(log_dir / "audit.log"))
    backend.start()
    for number in range(50):
        backend.process(event(number))
    backend.close()
    assert len(lines(log_dir / "audit.log")) == 50


# Rotation


def test_the_file_rotates_before_it_would_grow_past_max_size(log_dir: Path, started: list[LogBackend]) -> None:
    size = len(encode_event(event(0)))
    clock = SteppingClock()
    backend = start(started, LogBackend(str(log_dir / "audit.log"), max_size_bytes=size * 2, clock=clock))
    for number in range(5):
        backend.process(event(number))
    assert backend.flush()
    backups = sorted(path for path in log_dir.iterdir() if path.name != "audit.log")
    assert [path.name for path in backups] == ["audit-2026-11-22T01-02-04.000.log", "audit-2026-11-22T01-02-05.000.log"]
    assert all(BACKUP.fullmatch(path.name) for path in backups)
    assert all(path.stat().st_size <= size * 2 for path in [*backups, log_dir / "audit.log"])
    assert audit_ids([*backups, log_dir / "audit.log"]) == [f"id-{number:04d}" for number in range(5)]


def test_an_event_larger_than_max_size_is_refused(log_dir: Path, started: list[LogBackend]) -> None:
    backend = start(started, LogBackend(str(log_dir / "audit.log"), max_size_bytes=10))
    backend.process(event(1))
    assert backend.flush()
    assert (backend.failed, backend.written) == (1, 0)


def test_an_existing_file_is_appended_to_until_full(log_dir: Path) -> None:
    log_dir.mkdir()
    (log_dir / "audit.log").write_bytes(b"x" * 10 + b"\n")
    rotating = RotatingFile(str(log_dir / "audit.log"), max_size_bytes=100, clock=SteppingClock())
    rotating.write(b"y" * 20 + b"\n")
    rotating.write(b"z" * 80 + b"\n")
    rotating.close()
    assert (log_dir / "audit.log").read_bytes() == b"z" * 80 + b"\n"
    assert (log_dir / "audit-2026-11-22T01-02-04.000.log").read_bytes() == b"x" * 10 + b"\n" + b"y" * 20 + b"\n"


def test_rotation_keeps_the_file_mode(log_dir: Path) -> None:
    log_dir.mkdir()
    (log_dir / "audit.log").write_bytes(b"old\n")
    (log_dir / "audit.log").chmod(0o640)
    rotating = RotatingFile(str(log_dir / "audit.log"), max_size_bytes=4, clock=SteppingClock())
    rotating.write(b"new\n")
    rotating.close()
    assert stat.S_IMODE((log_dir / "audit.log").stat().st_mode) == 0o640


def test_only_max_backups_backups_are_kept(log_dir: Path) -> None:
    rotating = RotatingFile(str(log_dir / "audit.log"), max_size_bytes=4, max_backups=2, clock=SteppingClock())
    for number in range(6):
        rotating.write(b"%03d\n" % number)
    rotating.close()
    assert sorted(path.read_bytes() for path in log_dir.iterdir()) == [b"003\n", b"004\n", b"005\n"]


def test_backups_older_than_max_age_are_removed(log_dir: Path) -> None:
    log_dir.mkdir()
    old = START - timedelta(days=3)
    rotating = RotatingFile(str(log_dir / "audit.log"), max_size_bytes=4, max_age_days=2, clock=SteppingClock())
    rotating.backup_name(old).write_bytes(b"old\n")
    rotating.backup_name(START - timedelta(days=1)).write_bytes(b"new\n")
    (log_dir / "unrelated-2020-01-01T00-00-00.000.log").write_bytes(b"keep\n")
    rotating.write(b"abc\n")
    rotating.close()
    assert not rotating.backup_name(old).exists()
    assert rotating.backup_name(START - timedelta(days=1)).exists()
    assert (log_dir / "unrelated-2020-01-01T00-00-00.000.log").exists()


def test_backups_are_compressed_when_asked(log_dir: Path) -> None:
    rotating = RotatingFile(str(log_dir / "audit.log"), max_size_bytes=4, compress=True, clock=SteppingClock())
    for number in range(3):
        rotating.write(b"%03d\n" % number)
    rotating.close()
    compressed = sorted(path for path in log_dir.iterdir() if path.suffix == ".gz")
    assert [gzip.decompress(path.read_bytes()) for path in compressed] == [b"000\n", b"001\n"]
    assert [path.name for path in log_dir.iterdir() if path.suffix == ".log"] == ["audit.log"]


def test_backups_made_in_the_same_millisecond_do_not_overwrite_each_other(log_dir: Path) -> None:
    rotating = RotatingFile(str(log_dir / "audit.log"), max_size_bytes=4, clock=lambda: START)
    for number in range(3):
        rotating.write(b"%03d\n" % number)
    rotating.close()
    assert sorted(path.read_bytes() for path in log_dir.iterdir()) == [b"000\n", b"001\n", b"002\n"]


def test_zero_max_size_means_lumberjack_s_100_megabytes(log_dir: Path) -> None:
    assert RotatingFile(str(log_dir / "audit.log"), max_size_bytes=0).max_size == 100 * 1024 * 1024
