"""Encryption at rest: value transformers in kube-apiserver's stored format, and `EncryptedStorage` that applies them.

A stored value is `k8s:enc:<provider>:v1:<key name>:<ciphertext>` (k8s.io/apiserver/pkg/storage/value/encrypt),
byte for byte as kube-apiserver v1.32 writes it, so an etcd written by kube-apiserver can be read here:
- aescbc: a random 16-byte IV, then AES-CBC of the PKCS#7-padded value.
- aesgcm: a random 12-byte nonce, then AES-GCM ciphertext and 16-byte tag; the additional authenticated data is
  the storage key (`/registry/secrets/ns/name`), so a value copied to another key does not decrypt.
- secretbox: a random 24-byte nonce, then NaCl secretbox (XSalsa20-Poly1305: 16-byte tag, then ciphertext).
- identity: the plain value. It refuses to read a value that starts with `k8s:enc:`.

Reads follow upstream's prefix transformers (value/transformer.go): the providers of a resource are tried in
order, each on the values that carry its prefix; a failed identity read never stops the search, and a failed
prefixed read is remembered and the search goes on (two aescbc providers share one prefix during rotation).
The first provider (and its first key) writes. A value read through any other provider or key is *stale*:
`EncryptedStorage` returns it as a `StaleKeyValue` (see `is_stale`), so a no-op update is written anyway and the
value is re-encrypted with the current key, as upstream's GuaranteedUpdate does.

Resources the configuration does not name are read and written by identity (values stay plain).
"""
from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import nacl.exceptions
import nacl.secret
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM as _AESGCMCipher

from apiserver.meta.errors import go_quote
from apiserver.storage.errors import StorageError
from apiserver.storage.interface import Event, EventType, KeyValue, Page, Storage
from apiserver.storage.keys import DEFAULT_PREFIX
from apiserver.storage.metered import key_type

ENCRYPTED_PREFIX = b"k8s:enc:"
AESCBC_PREFIX = b"k8s:enc:aescbc:v1:"
AESGCM_PREFIX = b"k8s:enc:aesgcm:v1:"
SECRETBOX_PREFIX = b"k8s:enc:secretbox:v1:"

_BLOCK = 16
_GCM_NONCE = 12
_SECRETBOX_NONCE = nacl.secret.SecretBox.NONCE_SIZE
_SECRETBOX_OVERHEAD = nacl.secret.SecretBox.MACBYTES


class TransformError(Exception):
    """A value could not be turned back into plaintext; the message is upstream's."""


class DecryptionFailed(StorageError):
    """A stored value cannot be decrypted with any configured provider (wrong key, corrupt or foreign data).

    Upstream answers such an object with an internal error (500): "unable to transform key ...".
    """

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"unable to transform key {go_quote(key)}: {reason}")
        self.key = key
        self.reason = reason


class Transformer(Protocol):
    """Turns a value into its stored form and back.

    `context` is the authenticated data (the storage key). `from_storage` returns the plaintext and whether the
    value is stale (not in the form a write would produce now); it raises TransformError when it cannot read it.
    """

    def from_storage(self, data: bytes, context: bytes) -> tuple[bytes, bool]: ...

    def to_storage(self, data: bytes, context: bytes) -> bytes: ...


class AESCBC:
    """AES-CBC with a random IV and PKCS#7 padding (upstream's aes.NewCBCTransformer)."""

    def __init__(self, key: bytes) -> None:
        self._algorithm = algorithms.AES(key)

    def from_storage(self, data: bytes, context: bytes) -> tuple[bytes, bool]:
        if len(data) < _BLOCK:
            raise TransformError("the stored data was shorter than the required size")
        iv, body = data[:_BLOCK], data[_BLOCK:]
        if len(body) % _BLOCK:
            raise TransformError("the stored data is not a multiple of the block size")
        decryptor = Cipher(self._algorithm, modes.CBC(iv)).decryptor()
        padded = decryptor.update(body) + decryptor.finalize()
        return _unpad(padded), False

    def to_storage(self, data: bytes, context: bytes) -> bytes:
        iv = os.urandom(_BLOCK)
        padding = _BLOCK - len(data) % _BLOCK
        encryptor = Cipher(self._algorithm, modes.CBC(iv)).encryptor()
        return iv + encryptor.update(data + bytes([padding]) * padding) + encryptor.finalize()


def _unpad(padded: bytes) -> bytes:
    # Upstream's check, which accepts any padding length up to the whole value (not only up to one block).
    size = padded[-1] if padded else 0
    if size == 0 or size > len(padded):
        raise TransformError("invalid PKCS7 data (empty or not padded)")
    if padded[-size:] != bytes([size]) * size:
        raise TransformError("invalid padding on input")
    return padded[:-size]


class AESGCM:
    """AES-GCM with a random 96-bit nonce, authenticated with the storage key (aes.NewGCMTransformer)."""

    def __init__(self, key: bytes) -> None:
        self._cipher = _AESGCMCipher(key)

    def from_storage(self, data: bytes, context: bytes) -> tuple[bytes, bool]:
        if len(data) < _GCM_NONCE:
            raise TransformError("the stored data was shorter than the required size")
        try:
            return self._cipher.decrypt(data[:_GCM_NONCE], data[_GCM_NONCE:], context), False
        except InvalidTag:
            raise TransformError("cipher: message authentication failed") from None

    def to_storage(self, data: bytes, context: bytes) -> bytes:
        nonce = os.urandom(_GCM_NONCE)
        return nonce + self._cipher.encrypt(nonce, data, context)


class Secretbox:
    """NaCl secretbox (XSalsa20-Poly1305) with a random 24-byte nonce in front (secretbox.NewSecretboxTransformer)."""

    def __init__(self, key: bytes) -> None:
        self._box = nacl.secret.SecretBox(key)

    def from_storage(self, data: bytes, context: bytes) -> tuple[bytes, bool]:
        if len(data) < _SECRETBOX_NONCE + _SECRETBOX_OVERHEAD:
            raise TransformError("the stored data was shorter than the required size")
        try:
            return self._box.decrypt(data[_SECRETBOX_NONCE:], data[:_SECRETBOX_NONCE]), False
        except nacl.exceptions.CryptoError:
            # Upstream's (misleading) wording for a failed Open.
            raise TransformError("output array was not large enough for encryption") from None

    def to_storage(self, data: bytes, context: bytes) -> bytes:
        nonce = os.urandom(_SECRETBOX_NONCE)
        return bytes(self._box.encrypt(data, nonce))


class Identity:
    """No transformation; refuses values in the reserved encrypted format (identity.NewEncryptCheckTransformer)."""

    def from_storage(self, data: bytes, context: bytes) -> tuple[bytes, bool]:
        if data.startswith(ENCRYPTED_PREFIX):
            raise TransformError("identity transformer tried to read encrypted data")
        return data, False

    def to_storage(self, data: bytes, context: bytes) -> bytes:
        return data


@dataclass(frozen=True, slots=True)
class PrefixedTransformer:
    """A transformer for the values that start with `prefix` (empty: every value)."""

    prefix: bytes
    transformer: Transformer


class PrefixTransformers:
    """Several transformers chosen by prefix: the first writes, each reads its own prefix (value.PrefixTransformers).

    `no_match` is the message when no prefix matches and nothing failed on the way.
    """

    def __init__(self, entries: Sequence[PrefixedTransformer], no_match: str = "no matching prefix found") -> None:
        if not entries:
            raise ValueError("at least one transformer is required")
        self.entries = tuple(entries)
        self._no_match = no_match

    def from_storage(self, data: bytes, context: bytes) -> tuple[bytes, bool]:
        errors: list[str] = []
        for position, entry in enumerate(self.entries):
            if not data.startswith(entry.prefix):
                continue
            try:
                plaintext, stale = entry.transformer.from_storage(data[len(entry.prefix):], context)
            except TransformError as error:
                if entry.prefix:
                    errors.append(str(error))
                continue
            return plaintext, stale or position != 0
        if errors:
            distinct = list(dict.fromkeys(errors))
            raise TransformError(distinct[0] if len(distinct) == 1 else "[" + ", ".join(distinct) + "]")
        raise TransformError(self._no_match)

    def to_storage(self, data: bytes, context: bytes) -> bytes:
        first = self.entries[0]
        return first.prefix + first.transformer.to_storage(data, context)


IDENTITY = Identity()


def parse_group_resource(resource: str) -> tuple[str, str]:
    """schema.ParseGroupResource: `deployments.apps` → ("apps", "deployments"); `secrets` → ("", "secrets")."""
    name, dot, group = resource.partition(".")
    return (group, name) if dot else ("", resource)


class ResourceTransformers:
    """The transformer of every group-resource, with upstream's lookup: exact, then `*.<group>`, then `*.*`.

    `by_group_resource` maps (group, resource) pairs, wildcards as `*`, to transformers; resources it does not
    cover are read and written by identity.
    """

    def __init__(self, by_group_resource: Mapping[tuple[str, str], Transformer]) -> None:
        self._by_group_resource = dict(by_group_resource)

    def for_resource(self, resource: str) -> Transformer:
        """The transformer of `resource`, a group-resource string such as `secrets` or `deployments.apps`."""
        group, name = parse_group_resource(resource)
        for candidate in ((group, name), (group, "*"), ("*", "*")):
            if (found := self._by_group_resource.get(candidate)) is not None:
                return found
        return IDENTITY

    @property
    def configured(self) -> frozenset[tuple[str, str]]:
        return frozenset(self._by_group_resource)


@dataclass(frozen=True, slots=True)
class StaleKeyValue(KeyValue):
    """A KeyValue whose stored form was written with a provider or key other than the current first one."""


def is_stale(kv: KeyValue) -> bool:
    """Whether `kv` should be rewritten even when its content does not change (upstream's `stale` flag)."""
    return isinstance(kv, StaleKeyValue)


class EncryptedStorage:
    """A `Storage` that encrypts values on the way in and decrypts them on the way out.

    The transformer of a key is `transformers.for_resource(resource_of(key))`. `resource_of` names the
    group-resource stored under the key (`secrets`, `deployments.apps`); the default reads it from the key
    path as `metered.key_type` does, which cannot know the group of ungrouped paths such as
    `/registry/deployments`: pass a function built from the resource declarations.

    Raises DecryptionFailed (a StorageError) from get, list, delete and watch for a value no provider can read.
    Everything else behaves exactly as the wrapped storage, watch batch attributes (`progress_revision`) included.
    """

    def __init__(
        self, storage: Storage, transformers: ResourceTransformers, *, prefix: str = DEFAULT_PREFIX,
        resource_of: Callable[[str], str] | None = None,
    ) -> None:
        self._storage = storage
        self._transformers = transformers
        self._resource_of = resource_of if resource_of is not None else (lambda key: key_type(key, prefix))

    @property
    def inner(self) -> Storage:
        return self._storage

    def _transformer(self, key: str) -> Transformer:
        return self._transformers.for_resource(self._resource_of(key))

    def _encrypt(self, key: str, value: bytes) -> bytes:
        return self._transformer(key).to_storage(value, key.encode())

    def _decrypt(self, key: str, value: bytes) -> tuple[bytes, bool]:
        try:
            return self._transformer(key).from_storage(value, key.encode())
        except TransformError as error:
            raise DecryptionFailed(key, str(error)) from None

    def _plain(self, kv: KeyValue) -> KeyValue:
        value, stale = self._decrypt(kv.key, kv.value)
        kind = StaleKeyValue if stale else KeyValue
        return kind(kv.key, value, kv.create_revision, kv.mod_revision)

    async def get(self, key: str) -> KeyValue | None:
        kv = await self._storage.get(key)
        return None if kv is None else self._plain(kv)

    async def list(self, prefix: str, *, revision: int = 0, limit: int = 0, start: str = "") -> Page:
        page = await self._storage.list(prefix, revision=revision, limit=limit, start=start)
        return Page([self._plain(kv) for kv in page.items], page.revision, page.more, page.remaining)

    async def create(self, key: str, value: bytes) -> int:
        return await self._storage.create(key, self._encrypt(key, value))

    async def update(self, key: str, value: bytes, *, expected: int) -> int:
        return await self._storage.update(key, self._encrypt(key, value), expected=expected)

    async def delete(self, key: str, *, expected: int = 0) -> KeyValue:
        return self._plain(await self._storage.delete(key, expected=expected))

    def watch(self, prefix: str, *, after: int) -> AsyncIterator[Sequence[Event]]:
        return self._decrypted_watch(prefix, after)

    async def current_revision(self) -> int:
        return await self._storage.current_revision()

    async def compact(self, revision: int) -> None:
        await self._storage.compact(revision)

    async def check(self) -> None:
        await self._storage.check()

    async def close(self) -> None:
        await self._storage.close()

    def _plain_event(self, event: Event) -> Event:
        # A DELETE carries no value (b"" by contract), which must not be taken for a stored value.
        value = event.value if event.type is EventType.DELETE else self._decrypt(event.key, event.value)[0]
        previous = None if event.prev_value is None else self._decrypt(event.key, event.prev_value)[0]
        return Event(event.type, event.key, value, previous, event.revision, event.create_revision)

    async def _decrypted_watch(self, prefix: str, after: int) -> AsyncIterator[Sequence[Event]]:
        stream = self._storage.watch(prefix, after=after)
        try:
            async for batch in stream:
                yield _same_kind_of_batch(batch, [self._plain_event(event) for event in batch])
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()


class _ProgressBatch(list[Event]):
    __slots__ = ("progress_revision",)

    def __init__(self, events: Sequence[Event], progress_revision: int) -> None:
        super().__init__(events)
        self.progress_revision = progress_revision


def _same_kind_of_batch(original: Sequence[Event], events: list[Event]) -> Sequence[Event]:
    """`events`, carrying the original batch's progress promise when it made one (see watchcache)."""
    progress = getattr(original, "progress_revision", None)
    return events if progress is None else _ProgressBatch(events, progress)
