"""`manage.py exportobjects`: write every object of a server's storage to a dump file (JSON lines).

Takes `manage.py serve`'s flags (the storage and encryption ones matter) plus `--output`. Run it against a
stopped server, or accept that writes made during the export may be missing from it: the dump is one consistent
revision of the store. The format and what it preserves are described in apiserver/management/objectdump.py.
Exit codes: 0 done, 1 storage or dump failure, 2 flag error.
"""
from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import IO, Any, NoReturn

from django.core.management.base import BaseCommand

from apiserver.management.objectdump import DumpError, ExportResult, export_objects
from apiserver.management.storagecommand import (
    FAILURE_EXIT_CODE,
    describe,
    fail,
    open_server_storage,
    parse_command_line,
    say,
)
from apiserver.server.config import ServerConfig
from apiserver.server.flags import STRING, Flag
from apiserver.storage.encryption_config import EncryptionConfigError
from apiserver.storage.errors import StorageError

SUMMARY = ("Write every object of the server's storage (built-in and custom resources, Secrets decrypted, "
           "service IP and node-port allocations) to a JSON-lines dump, for `manage.py importobjects`.")
FLAGS = (
    Flag("output", STRING, "-",
         "The dump file to write (created with mode 0600; it holds Secrets in clear). '-' means standard out."),
)


class Command(BaseCommand):
    help = SUMMARY

    def run_from_argv(self, argv: list[str]) -> NoReturn:
        config, values = parse_command_line(argv, FLAGS, command="exportobjects", summary=SUMMARY)
        raise SystemExit(run(config, str(values["output"])))

    def handle(self, *args: Any, **options: Any) -> None:  # call_command() is not supported: flags are pflag's
        raise SystemExit(2)


def run(config: ServerConfig, output: str) -> int:
    if config.storage_backend == "sqlite" and not config.sqlite_path.exists():
        fail(f"{config.sqlite_path}: no such store (check --data-dir)")
        return FAILURE_EXIT_CODE
    try:
        if output == "-":
            result = asyncio.run(_export(config, sys.stdout.buffer))
        else:
            result = _export_to_file(config, Path(output))
    except (DumpError, StorageError, EncryptionConfigError, OSError) as error:
        fail(str(error))
        return FAILURE_EXIT_CODE
    destination = "standard out" if output == "-" else output
    say(f"exported {result.count} objects at revision {result.revision} to {destination}"
        f" ({result.skipped} master leases left out)")
    return 0


def _export_to_file(config: ServerConfig, path: Path) -> ExportResult:
    """Write to a temporary file beside `path` and rename it, so a failed export leaves no partial dump."""
    partial = path.with_name(path.name + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as file:
            result = asyncio.run(_export(config, file))
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return result


async def _export(config: ServerConfig, out: IO[bytes]) -> ExportResult:
    say(f"storage: {describe(config)}")
    storage = await open_server_storage(config)
    try:
        return await export_objects(storage, config.etcd_prefix, out)
    finally:
        await storage.close()
