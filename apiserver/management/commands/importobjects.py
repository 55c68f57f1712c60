"""`manage.py importobjects`: load a dump written by `manage.py exportobjects` into a server's storage.

Takes `manage.py serve`'s flags (the storage and encryption ones matter) plus `--input` and `--force`. Import
before any server starts on the target: the target must hold nothing under its prefix unless `--force` is given
(then the dump's keys overwrite the target's, and keys the dump lacks stay). Every key is read back afterwards and
compared with the dump. Exit codes: 0 done, 1 unusable dump, non-empty target or storage failure, 2 flag error.
"""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, NoReturn

from django.core.management.base import BaseCommand

from apiserver.management.objectdump import DumpError, ImportResult, import_objects
from apiserver.management.storagecommand import (
    FAILURE_EXIT_CODE,
    FLAG_ERROR_EXIT_CODE,
    describe,
    fail,
    open_server_storage,
    parse_command_line,
    say,
)
from apiserver.server.config import ServerConfig
from apiserver.server.flags import BOOL, STRING, Flag
from apiserver.storage.encryption_config import EncryptionConfigError
from apiserver.storage.errors import StorageError

SUMMARY = ("Load a dump written by `manage.py exportobjects` into the server's storage, keeping keys, UIDs, "
           "creationTimestamps and allocations; Secrets are encrypted with --encryption-provider-config.")
FLAGS = (
    Flag("input", STRING, "", "The dump file to load (required)."),
    Flag("force", BOOL, False,
         "Import into a storage that already holds objects: the dump's keys overwrite the stored ones."),
)


class Command(BaseCommand):
    help = SUMMARY

    def run_from_argv(self, argv: list[str]) -> NoReturn:
        config, values = parse_command_line(argv, FLAGS, command="importobjects", summary=SUMMARY)
        if not values["input"]:
            fail("--input is required")
            raise SystemExit(FLAG_ERROR_EXIT_CODE)
        raise SystemExit(run(config, Path(str(values["input"])), force=bool(values["force"])))

    def handle(self, *args: Any, **options: Any) -> None:  # call_command() is not supported: flags are pflag's
        raise SystemExit(FLAG_ERROR_EXIT_CODE)


def run(config: ServerConfig, path: Path, *, force: bool) -> int:
    try:
        result = asyncio.run(_import(config, path, force=force))
    except (DumpError, StorageError, EncryptionConfigError, OSError) as error:
        fail(str(error))
        return FAILURE_EXIT_CODE
    replaced = f", {result.replaced} replaced" if result.replaced else ""
    say(f"imported {result.count} objects from {path}{replaced}; {result.verified} verified")
    return 0


async def _import(config: ServerConfig, path: Path, *, force: bool) -> ImportResult:
    say(f"storage: {describe(config)}")
    storage = await open_server_storage(config)
    try:
        return await import_objects(storage, config.etcd_prefix, path, force=force)
    finally:
        await storage.close()
