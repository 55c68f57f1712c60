"""Encryption at rest: upstream's stored format, provider order, key rotation, configuration errors, and the whole
Storage contract through EncryptedStorage."""
from __future__ import annotations

import base64
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import nacl.bindings
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM as ReferenceGCM

from apiserver.storage.backends import StorageOptions, open_storage
from apiserver.storage.encryption import DecryptionFailed, EncryptedStorage, ResourceTransformers, is_stale
from apiserver.storage.encryption_config import (
    EncryptionConfigError,
    load_encryption_config,
    parse_encryption_config,
    transformers_from_config,
)
from apiserver.storage.interface import EventType, Storage
from apiserver.storage.memory.backend import MemoryStorage

# The storage conformance suite, run again with every value encrypted on the way in and decrypted on the way out.
from tests.storage.test_conformance import *  # noqa: F403
from tests.storage.test_conformance import collect, watching

KEY_A = bytes(range(32))
KEY_B = bytes(range(32, 64))
PLAINTEXT = b'{"kind":"Secret","data":{"k":"dg=="}}'
SECRET_KEY = "/registry/secrets/default/s1"


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def config(providers: str, resources: str = "[secrets]") -> ResourceTransformers:
    text = f"""
apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: {resources}
  providers:
{providers}
"""
    return transformers_from_config(parse_encryption_config(text))


def keyed(provider: str, *keys: tuple[str, bytes]) -> str:
    lines = [f"  - {provider}:", "      keys:"]
    for name, secret in keys:
        lines += [f"      - name: {name}", f"        secret: {b64(secret)}"]
    return "\n".join(lines)


IDENTITY = "  - identity: {}"


@pytest.fixture(params=["memory"])
async def storage(request: pytest.FixtureRequest) -> AsyncIterator[Storage]:
    """Overrides the conformance suite's backends: every key is encrypted as a Secret with aescbc."""
    transformers = config(keyed("aescbc", ("key1", KEY_A)))
    opened = EncryptedStorage(MemoryStorage(), transformers, resource_of=lambda key: "secrets")
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def prefix() -> str:
    return f"/t{uuid.uuid4().hex}/"


@pytest.fixture
def backend() -> MemoryStorage:
    return MemoryStorage()


# The stored format


@pytest.mark.parametrize(
    "provider",
    [keyed("aescbc", ("key1", KEY_A)), keyed("aesgcm", ("key1", KEY_A)), keyed("secretbox", ("key1", KEY_A))],
    ids=["aescbc", "aesgcm", "secretbox"],
)
async def test_values_round_trip_and_are_stored_with_the_provider_prefix(backend: MemoryStorage, provider: str) -> None:
    encrypted = EncryptedStorage(backend, config(provider))
    revision = await encrypted.create(SECRET_KEY, PLAINTEXT)
    name = provider.split(":")[0].strip(" -")
    raw = await backend.get(SECRET_KEY)
    assert raw is not None and raw.value.startswith(f"k8s:enc:{name}:v1:key1:".encode())
    assert b"Secret" not in raw.value
    kv = await encrypted.get(SECRET_KEY)
    assert kv is not None and (kv.value, kv.mod_revision, is_stale(kv)) == (PLAINTEXT, revision, False)


async def test_identity_stores_plain_values(backend: MemoryStorage) -> None:
    encrypted = EncryptedStorage(backend, config(IDENTITY))
    await encrypted.create(SECRET_KEY, PLAINTEXT)
    assert (await backend.get(SECRET_KEY)).value == PLAINTEXT  # type: ignore[union-attr]


async def test_each_write_uses_a_fresh_nonce(backend: MemoryStorage) -> None:
    encrypted = EncryptedStorage(backend, config(keyed("aesgcm", ("key1", KEY_A))))
    await encrypted.create("/registry/secrets/ns/a", PLAINTEXT)
    await encrypted.create("/registry/secrets/ns/b", PLAINTEXT)
    first, second = (await backend.list("/registry/secrets/ns/")).items
    assert first.value != second.value


async def test_empty_values_encrypt_to_a_whole_block(backend: MemoryStorage) -> None:
    encrypted = EncryptedStorage(backend, config(keyed("aescbc", ("key1", KEY_A))))
    await encrypted.create(SECRET_KEY, b"")
    raw = await backend.get(SECRET_KEY)
    assert raw is not None and len(raw.value) == len(b"k8s:enc:aescbc:v1:key1:") + 32
    assert (await encrypted.get(SECRET_KEY)).value == b""  # type: ignore[union-attr]


# Values written by kube-apiserver, built by hand from the documented layout


def upstream_aescbc(key: bytes, iv: bytes, plaintext: bytes) -> bytes:
    padding = 16 - len(plaintext) % 16
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return iv + encryptor.update(plaintext + bytes([padding]) * padding) + encryptor.finalize()


async def test_reads_an_aescbc_value_in_the_layout_openssl_produces(backend: MemoryStorage) -> None:
    # `openssl enc -aes-256-cbc -K 0001..1f -iv a0a1..af` of PLAINTEXT: IV first, then the PKCS#7-padded blocks.
    iv = bytes.fromhex("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf")
    ciphertext = bytes.fromhex(
        "da54e881eafae68f34aa2ddb00e56b52f87d466eaaa5e08510a40f0629d1c742"
        "3eddde9ce75097cf6cc68abdbfb453f7"
    )
    assert upstream_aescbc(KEY_A, iv, PLAINTEXT) == iv + ciphertext
    await backend.create(SECRET_KEY, b"k8s:enc:aescbc:v1:key1:" + iv + ciphertext)
    encrypted = EncryptedStorage(backend, config(keyed("aescbc", ("key1", KEY_A))))
    assert (await encrypted.get(SECRET_KEY)).value == PLAINTEXT  # type: ignore[union-attr]


async def test_reads_an_aesgcm_value_authenticated_with_its_key(backend: MemoryStorage) -> None:
    nonce = bytes(range(12))
    sealed = ReferenceGCM(KEY_A[:16]).encrypt(nonce, PLAINTEXT, SECRET_KEY.encode())
    await backend.create(SECRET_KEY, b"k8s:enc:aesgcm:v1:k:" + nonce + sealed)
    encrypted = EncryptedStorage(backend, config(keyed("aesgcm", ("k", KEY_A[:16]))))
    assert (await encrypted.get(SECRET_KEY)).value == PLAINTEXT  # type: ignore[union-attr]


async def test_reads_a_secretbox_value_with_the_nonce_in_front(backend: MemoryStorage) -> None:
    nonce = bytes(range(24))
    boxed = nacl.bindings.crypto_secretbox(PLAINTEXT, nonce, KEY_B)  # Poly1305 tag, then XSalsa20 ciphertext
    await backend.create(SECRET_KEY, b"k8s:enc:secretbox:v1:sb:" + nonce + boxed)
    encrypted = EncryptedStorage(backend, config(keyed("secretbox", ("sb", KEY_B))))
    assert (await encrypted.get(SECRET_KEY)).value == PLAINTEXT  # type: ignore[union-attr]


async def test_an_aesgcm_value_copied_to_another_key_does_not_decrypt(backend: MemoryStorage) -> None:
    encrypted = EncryptedStorage(backend, config(keyed("aesgcm", ("key1", KEY_A))))
    await encrypted.create(SECRET_KEY, PLAINTEXT)
    await backend.create("/registry/secrets/default/copy", (await backend.get(SECRET_KEY)).value)  # type: ignore[union-attr]
    with pytest.raises(DecryptionFailed) as failure:
        await encrypted.get("/registry/secrets/default/copy")
    assert str(failure.value) == (
        'unable to transform key "/registry/secrets/default/copy": cipher: message authentication failed'
    )


# Provider order, rotation and failures


async def test_key_rotation_reads_with_the_old_key_and_rewrites_with_the_new(backend: MemoryStorage) -> None:
    before = EncryptedStorage(backend, config(keyed("aescbc", ("key1", KEY_A))))
    await before.create(SECRET_KEY, PLAINTEXT)
    after = EncryptedStorage(backend, config(keyed("aescbc", ("key2", KEY_B), ("key1", KEY_A))))
    old = await after.get(SECRET_KEY)
    assert old is not None and old.value == PLAINTEXT and is_stale(old)
    await after.update(SECRET_KEY, old.value, expected=old.mod_revision)
    assert (await backend.get(SECRET_KEY)).value.startswith(b"k8s:enc:aescbc:v1:key2:")  # type: ignore[union-attr]
    rewritten = await after.get(SECRET_KEY)
    assert rewritten is not None and rewritten.value == PLAINTEXT and not is_stale(rewritten)


async def test_a_later_provider_reads_and_marks_the_value_stale(backend: MemoryStorage) -> None:
    await EncryptedStorage(backend, config(keyed("secretbox", ("old", KEY_B)))).create(SECRET_KEY, PLAINTEXT)
    providers = keyed("aesgcm", ("new", KEY_A)) + "\n" + keyed("secretbox", ("old", KEY_B))
    rotated = EncryptedStorage(backend, config(providers))
    kv = await rotated.get(SECRET_KEY)
    assert kv is not None and kv.value == PLAINTEXT and is_stale(kv)


async def test_identity_first_still_reads_encrypted_values(backend: MemoryStorage) -> None:
    await EncryptedStorage(backend, config(keyed("aescbc", ("key1", KEY_A)))).create(SECRET_KEY, PLAINTEXT)
    decrypting = EncryptedStorage(backend, config(IDENTITY + "\n" + keyed("aescbc", ("key1", KEY_A))))
    kv = await decrypting.get(SECRET_KEY)
    assert kv is not None and kv.value == PLAINTEXT and is_stale(kv)
    await decrypting.update(SECRET_KEY, kv.value, expected=kv.mod_revision)
    assert (await backend.get(SECRET_KEY)).value == PLAINTEXT  # type: ignore[union-attr]


async def test_plain_values_are_read_when_identity_is_listed_after_an_encrypting_provider(
    backend: MemoryStorage,
) -> None:
    await backend.create(SECRET_KEY, PLAINTEXT)
    encrypted = EncryptedStorage(backend, config(keyed("aescbc", ("key1", KEY_A)) + "\n" + IDENTITY))
    kv = await encrypted.get(SECRET_KEY)
    assert kv is not None and kv.value == PLAINTEXT and is_stale(kv)


async def test_plain_values_are_refused_without_identity(backend: MemoryStorage) -> None:
    await backend.create(SECRET_KEY, PLAINTEXT)
    encrypted = EncryptedStorage(backend, config(keyed("aescbc", ("key1", KEY_A))))
    with pytest.raises(DecryptionFailed, match=r"no matching prefix found$"):
        await encrypted.get(SECRET_KEY)


@pytest.mark.parametrize(
    ("reader", "message"),
    [
        (keyed("aescbc", ("other", KEY_A)), "no matching key was found for the provided AES transformer"),
        (keyed("secretbox", ("key1", KEY_A)), "no matching prefix found"),
        (IDENTITY, "no matching prefix found"),
    ],
    ids=["unknown-key-name", "other-provider", "identity-only"],
)
async def test_a_value_no_provider_can_read_raises_decryption_failed(
    backend: MemoryStorage, reader: str, message: str
) -> None:
    await EncryptedStorage(backend, config(keyed("aescbc", ("key1", KEY_A)))).create(SECRET_KEY, PLAINTEXT)
    with pytest.raises(DecryptionFailed, match=message):
        await EncryptedStorage(backend, config(reader)).get(SECRET_KEY)


async def test_a_wrong_aescbc_secret_never_yields_the_plaintext(backend: MemoryStorage) -> None:
    await EncryptedStorage(backend, config(keyed("aescbc", ("key1", KEY_A)))).create(SECRET_KEY, PLAINTEXT)
    reader = EncryptedStorage(backend, config(keyed("aescbc", ("key1", KEY_B))))
    try:
        kv = await reader.get(SECRET_KEY)
    except DecryptionFailed as error:
        assert re.search("invalid padding on input|invalid PKCS7 data", str(error))
    else:
        # CBC is not authenticated: about one wrong key in 256 leaves valid padding, as with upstream's aescbc.
        assert kv is not None and kv.value != PLAINTEXT


async def test_list_and_delete_fail_on_an_undecryptable_value(backend: MemoryStorage) -> None:
    await backend.create(SECRET_KEY, b"k8s:enc:aescbc:v1:key1:garbage")
    encrypted = EncryptedStorage(backend, config(keyed("aescbc", ("key1", KEY_A))))
    with pytest.raises(DecryptionFailed):
        await encrypted.list("/registry/secrets/")
    with pytest.raises(DecryptionFailed):
        await encrypted.delete(SECRET_KEY)


async def test_watch_decrypts_values_and_previous_values(backend: MemoryStorage) -> None:
    encrypted = EncryptedStorage(backend, config(keyed("aesgcm", ("key1", KEY_A))))
    async with watching(encrypted, "/registry/secrets/", 0) as stream:
        revision = await encrypted.create(SECRET_KEY, b"one")
        await encrypted.update(SECRET_KEY, b"two", expected=revision)
        await encrypted.delete(SECRET_KEY)
        events = await collect(stream, 3)
    assert [(event.type, event.value, event.prev_value) for event in events] == [
        (EventType.CREATE, b"one", None), (EventType.UPDATE, b"two", b"one"), (EventType.DELETE, b"", b"two"),
    ]


# Which resources are encrypted


async def test_resources_outside_the_configuration_stay_plain(backend: MemoryStorage) -> None:
    encrypted = EncryptedStorage(backend, config(keyed("aescbc", ("key1", KEY_A))))
    await encrypted.create("/registry/configmaps/ns/c", PLAINTEXT)
    assert (await backend.get("/registry/configmaps/ns/c")).value == PLAINTEXT  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("resources", "resource", "encrypted"),
    [
        ('["*.apps"]', "deployments.apps", True),
        ('["*.apps"]', "secrets", False),
        ('["*."]', "configmaps", True),
        ('["*."]', "deployments.apps", False),
        ('["*.*"]', "widgets.example.com", True),
        ('["deployments.apps"]', "deployments", False),
    ],
    ids=["group-wildcard", "group-wildcard-other-group", "core-wildcard", "core-wildcard-other-group", "any",
         "group-qualified-only"],
)
async def test_wildcard_rules_choose_the_resources(
    backend: MemoryStorage, resources: str, resource: str, encrypted: bool
) -> None:
    transformers = config(keyed("aescbc", ("key1", KEY_A)), resources)
    storage = EncryptedStorage(backend, transformers, resource_of=lambda _: resource)
    await storage.create("/registry/x/y", PLAINTEXT)
    assert (await backend.get("/registry/x/y")).value.startswith(b"k8s:enc:") is encrypted  # type: ignore[union-attr]


async def test_the_default_resource_of_a_key_reads_group_qualified_paths(backend: MemoryStorage) -> None:
    storage = EncryptedStorage(backend, config(keyed("aescbc", ("key1", KEY_A)), '["*.example.com"]'))
    await storage.create("/registry/example.com/widgets/ns/w", PLAINTEXT)
    await storage.create("/registry/widgets/ns/w", PLAINTEXT)
    assert (await backend.get("/registry/example.com/widgets/ns/w")).value.startswith(b"k8s:enc:")  # type: ignore[union-attr]
    assert (await backend.get("/registry/widgets/ns/w")).value == PLAINTEXT  # type: ignore[union-attr]


async def test_an_earlier_entry_wins_for_a_resource(backend: MemoryStorage) -> None:
    text = f"""
apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: [events]
  providers: [{{identity: {{}}}}]
- resources: ["*.*"]
  providers: [{{aescbc: {{keys: [{{name: k, secret: "{b64(KEY_A)}"}}]}}}}]
"""
    transformers = transformers_from_config(parse_encryption_config(text))
    storage = EncryptedStorage(backend, transformers)
    await storage.create("/registry/events/ns/e", PLAINTEXT)
    await storage.create("/registry/pods/ns/p", PLAINTEXT)
    assert (await backend.get("/registry/events/ns/e")).value == PLAINTEXT  # type: ignore[union-attr]
    assert (await backend.get("/registry/pods/ns/p")).value.startswith(b"k8s:enc:aescbc:v1:k:")  # type: ignore[union-attr]


# The raw value in a real backend


async def test_a_secret_is_ciphertext_in_sqlite(tmp_path: Path) -> None:
    inner = await open_storage(StorageOptions(backend="sqlite", sqlite_path=str(tmp_path / "state.db")))
    encrypted = EncryptedStorage(inner, config(keyed("aescbc", ("key1", KEY_A))))
    try:
        await encrypted.create(SECRET_KEY, PLAINTEXT)
        raw = await inner.get(SECRET_KEY)
        assert raw is not None and raw.value.startswith(b"k8s:enc:aescbc:v1:key1:")
        assert PLAINTEXT not in raw.value and b"dg==" not in raw.value
        assert (await encrypted.get(SECRET_KEY)).value == PLAINTEXT  # type: ignore[union-attr]
    finally:
        await encrypted.close()


# The configuration file

HEADER = "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\n"


def entry(provider: str) -> str:
    """One resources entry for secrets with one provider, written inline."""
    return f"resources:\n- resources: [secrets]\n  providers:\n  - {provider}"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("resources: []",
         "resources: Required value: at least one resources is required"),
        (entry(f"aescbc: {{keys: [{{name: k, secret: {b64(b'short')}}}]}}"),
         'resources[0].providers[0].aescbc.keys[0].secret: Invalid value: "REDACTED": secret is not of the expected '
         "length, got 5, expected one of [16 24 32]"),
        (entry(f"secretbox: {{keys: [{{name: k, secret: {b64(KEY_A[:16])}}}]}}"),
         'resources[0].providers[0].secretbox.keys[0].secret: Invalid value: "REDACTED": secret is not of the '
         "expected length, got 16, expected one of [32]"),
        ("resources:\n- resources: [secrets]\n  providers:\n  - aesgcm: {keys: [{name: k, secret: '%%%'}]}",
         'resources[0].providers[0].aesgcm.keys[0].secret: Invalid value: "REDACTED": secrets must be base64 encoded'),
        ("resources:\n- resources: [secrets]\n  providers:\n  - aescbc: {keys: [{secret: ''}]}",
         "[resources[0].providers[0].aescbc.keys[0].name: Required value: name is a mandatory field for a key, "
         "resources[0].providers[0].aescbc.keys[0].secret: Required value: secret is a mandatory field for a key]"),
        ("resources:\n- resources: [secrets]\n  providers:\n  - aescbc: {}",
         "resources[0].providers[0].aescbc.keys: Required value: at least one keys is required"),
        ("resources:\n- resources: [secrets, secrets]\n  providers: [{identity: {}}]",
         'resources[0].resources: Invalid value: []string{"secrets", "secrets"}: the same resource cannot be '
         "specified multiple times"),
        ("resources:\n- resources: [secrets, '*.']\n  providers: [{identity: {}}]",
         'resources[0].resources: Invalid value: []string{"secrets", "*."}: using overlapping resources such as '
         "'secrets' and '*.' in the same resource list is not allowed as they will be masked"),
        ("resources:\n- resources: ['*']\n  providers: [{identity: {}}]",
         'resources[0].resources[0]: Invalid value: "*": use \'*.\' to encrypt all the resources from core API group '
         "or *.* to encrypt all resources"),
        ("resources:\n- resources: ['secrets.*']\n  providers: [{identity: {}}]",
         'resources[0].resources[0]: Invalid value: "secrets.*": encrypting the same resource across groups is not '
         "supported"),
        ("resources:\n- resources: [Secrets]\n  providers: [{identity: {}}]",
         'resources[0].resources[0]: Invalid value: "Secrets": resource name should not contain capital letters'),
        ("resources:\n- resources: [events.events.k8s.io]\n  providers: [{identity: {}}]",
         "resources[0].resources[0]: Invalid value: \"events.events.k8s.io\": '*.events.k8s.io' objects are stored "
         "using the 'events' API group in etcd. Use 'events' instead in the config file"),
        ("resources:\n- resources: [secrets]\n  providers: []",
         "resources[0].providers: Required value: at least one resources[0].providers is required"),
        ("resources:\n- resources: [secrets]\n  providers: [{identity: }]",
         "resources[0].providers[0]: Invalid value: {\"identity\":null}: provider does not contain any of the "
         "expected providers: KMS, AESGCM, AESCBC, Secretbox, Identity"),
        ("resources:\n- resources: [secrets]\n  providers: [{kms: {apiVersion: v2, name: k, endpoint: unix:///k}}]",
         'resources[0].providers[0].kms: Invalid value: "REDACTED": KMS providers are not supported'),
    ],
    ids=["no-resources", "aes-key-length", "secretbox-key-length", "not-base64", "nameless-secretless-key",
         "no-keys", "duplicate", "overlap", "star", "across-groups", "capitals", "events-group", "no-providers",
         "null-provider", "kms"],
)
def test_invalid_configurations_are_refused_with_upstream_messages(body: str, message: str) -> None:
    with pytest.raises(EncryptionConfigError) as failure:
        parse_encryption_config(HEADER + body)
    assert str(failure.value) == "error while parsing file: " + message


def test_two_providers_in_one_element_are_refused() -> None:
    body = entry(f"{{identity: {{}}, aescbc: {{keys: [{{name: k, secret: {b64(KEY_A)}}}]}}}}")
    with pytest.raises(EncryptionConfigError, match="more than one provider specified in a single element"):
        parse_encryption_config(HEADER + body)


def test_a_resource_masked_by_an_earlier_wildcard_is_refused() -> None:
    body = "resources:\n- resources: ['*.apps']\n  providers: [{identity: {}}]\n" \
           "- resources: [deployments.apps]\n  providers: [{identity: {}}]"
    with pytest.raises(EncryptionConfigError) as failure:
        transformers_from_config(parse_encryption_config(HEADER + body))
    assert str(failure.value) == (
        'error while building transformers: resource "deployments.apps" is masked by earlier rule "*.apps"'
    )


def test_unknown_fields_are_refused() -> None:
    body = entry(f"aescbc: {{kyes: [{{name: k, secret: {b64(KEY_A)}}}]}}")
    with pytest.raises(EncryptionConfigError) as failure:
        parse_encryption_config(HEADER + body, source="enc.yaml")
    assert str(failure.value) == (
        'error while parsing file: error decoding encryption provider configuration file "enc.yaml": strict decoding '
        'error: unknown field "resources[0].providers[0].aescbc.kyes"'
    )


def test_the_wrong_kind_is_refused() -> None:
    with pytest.raises(EncryptionConfigError, match='no kind "EncryptionConfig" is registered'):
        parse_encryption_config("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfig\nresources: []")


def test_an_empty_or_missing_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_bytes(b"")
    with pytest.raises(EncryptionConfigError, match=f'configuration file "{empty}" is empty'):
        load_encryption_config(str(empty))
    with pytest.raises(EncryptionConfigError, match="error reading encryption provider configuration file"):
        load_encryption_config(str(tmp_path / "missing.yaml"))


async def test_a_configuration_file_is_loaded(tmp_path: Path, backend: MemoryStorage) -> None:
    path = tmp_path / "encryption.yaml"
    path.write_text(HEADER + "resources:\n- resources: [secrets, configmaps]\n  providers:\n" + keyed(
        "aescbc", ("key1", KEY_A)) + "\n" + IDENTITY + "\n")
    storage = EncryptedStorage(backend, load_encryption_config(str(path)))
    await storage.create("/registry/configmaps/ns/c", PLAINTEXT)
    assert (await backend.get("/registry/configmaps/ns/c")).value.startswith(b"k8s:enc:aescbc:v1:key1:")  # type: ignore[union-attr]
