"""What the commands that work on a server's storage share: `manage.py serve`'s flags and its view of storage.

`exportobjects` and `importobjects` take the very flags `serve` takes (so a server's command line can be reused
as it is) plus their own; only the storage and encryption flags matter, and `--help` lists just those. Storage is
opened as the server opens it: the same backend options, and Secrets (or whatever the configuration names)
through the `--encryption-provider-config` transformers.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence

from apiserver.registry.catalog import ResourceCatalog, builtin_specs
from apiserver.server.assembly import describe_storage, storage_metric_types, storage_options
from apiserver.server.config import SERVE_FLAGS, ServerConfig
from apiserver.server.flags import Flag, FlagError, HelpRequested, format_usage, parse_flags
from apiserver.storage.backends import open_storage
from apiserver.storage.encryption import EncryptedStorage
from apiserver.storage.encryption_config import load_encryption_config
from apiserver.storage.interface import Storage

FLAG_ERROR_EXIT_CODE = 2
FAILURE_EXIT_CODE = 1
DJANGO_OPTIONS = ("--settings", "--pythonpath")
STORAGE_FLAG_NAMES = (
    "data-dir", "storage-backend", "etcd-servers", "etcd-prefix", "etcd-cafile", "etcd-certfile", "etcd-keyfile",
    "encryption-provider-config",
)


def say(line: str) -> None:
    """Progress goes to stderr, so a dump written to stdout stays clean."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def fail(message: str) -> None:
    sys.stderr.write(f"Error: {message}\n")
    sys.stderr.flush()


def parse_command_line(
    argv: Sequence[str], own_flags: Sequence[Flag], *, command: str, summary: str
) -> tuple[ServerConfig, dict[str, object]]:
    """(config, values) from `manage.py <command> ...`; prints the usage and exits 0 on --help, exits 2 on a
    flag error with pflag's wording."""
    own_names = {flag.name for flag in own_flags}
    flags = [*own_flags, *(flag for flag in SERVE_FLAGS if flag.name not in own_names)]
    try:
        values = parse_flags(flags, without_django_options(argv[2:]), command=command)
        return ServerConfig.from_flags(values), values
    except HelpRequested:
        sys.stdout.write(usage(own_flags, command=command, summary=summary))
        raise SystemExit(0) from None
    except FlagError as error:
        fail(str(error))
        raise SystemExit(FLAG_ERROR_EXIT_CODE) from None


def usage(own_flags: Sequence[Flag], *, command: str, summary: str) -> str:
    storage_flags = [flag for flag in SERVE_FLAGS if flag.name in STORAGE_FLAG_NAMES]
    text = format_usage([*own_flags, *storage_flags], usage_line=f"manage.py {command} [flags]")
    text = text.replace("help for serve", f"help for {command}")
    return f"{summary}\n\n{text}\nEvery other flag of `manage.py serve` is accepted and ignored.\n"


def without_django_options(args: Sequence[str]) -> list[str]:
    """The command line without the options Django applied before the command ran (`--settings`, ...)."""
    kept: list[str] = []
    skip_next = False
    for arg in args:
        if skip_next:
            skip_next = False
        elif arg in DJANGO_OPTIONS:
            skip_next = True
        elif not arg.startswith(tuple(option + "=" for option in DJANGO_OPTIONS)):
            kept.append(arg)
    return kept


async def open_server_storage(config: ServerConfig) -> Storage:
    """The server's storage as the server sees it: decrypting on reads and encrypting on writes when
    --encryption-provider-config is given. Raises ValueError (EncryptionConfigError) or StorageError."""
    transformers = load_encryption_config(config.encryption_provider_config) \
        if config.encryption_provider_config else None
    storage = await open_storage(storage_options(config))
    if transformers is None:
        return storage
    catalog = ResourceCatalog(builtin_specs())
    return EncryptedStorage(storage, transformers, prefix=config.etcd_prefix,
                            resource_of=storage_metric_types(catalog, config.etcd_prefix))


def describe(config: ServerConfig) -> str:
    encryption = f", encryption {config.encryption_provider_config}" if config.encryption_provider_config else ""
    return describe_storage(config) + encryption
