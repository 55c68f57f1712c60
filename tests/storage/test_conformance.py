"""The `Storage` contract, run against every backend in conftest.BACKENDS.

Every test works under its own `prefix`, because the etcd behind the etcd3 backend is shared by the whole
session. Revisions are global there, so tests compare against the revisions their own writes returned and
never against absolute numbers.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence

import pytest

from apiserver.storage.errors import Compacted, FutureRevision, KeyExists, KeyNotFound, RevisionConflict
from apiserver.storage.interface import Event, EventType, KeyValue, Storage

WAIT = 10.0


@contextlib.asynccontextmanager
async def watching(storage: Storage, prefix: str, after: int) -> AsyncIterator[AsyncIterator[Sequence[Event]]]:
    stream = storage.watch(prefix, after=after)
    try:
        yield stream
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()


async def collect_until(stream: AsyncIterator[Sequence[Event]], last_key: str) -> list[Event]:
    """Every event up to and including the first one on `last_key`."""
    events: list[Event] = []
    async with asyncio.timeout(WAIT):
        async for batch in stream:
            events.extend(batch)
            if any(event.key == last_key for event in batch):
                break
    return events[: [event.key for event in events].index(last_key) + 1]


async def collect(stream: AsyncIterator[Sequence[Event]], count: int) -> list[Event]:
    events: list[Event] = []
    async with asyncio.timeout(WAIT):
        async for batch in stream:
            events.extend(batch)
            if len(events) >= count:
                break
    return events


async def expect_nothing_more(storage: Storage, stream: AsyncIterator[Sequence[Event]], prefix: str) -> None:
    """Write a marker and assert that it is the very next event: nothing was repeated or left over."""
    marker = await storage.create(prefix + "~marker", b"")
    events = await collect_until(stream, prefix + "~marker")
    assert [(event.key, event.revision) for event in events] == [(prefix + "~marker", marker)]


# Create and get


async def test_create_then_get_returns_value_with_create_and_mod_revision(storage: Storage, prefix: str) -> None:
    revision = await storage.create(prefix + "a", b"one")
    assert await storage.get(prefix + "a") == KeyValue(prefix + "a", b"one", revision, revision)


async def test_create_existing_key_raises_key_exists(storage: Storage, prefix: str) -> None:
    await storage.create(prefix + "a", b"one")
    with pytest.raises(KeyExists):
        await storage.create(prefix + "a", b"two")
    assert (await storage.get(prefix + "a")) is not None
    assert (await storage.get(prefix + "a")).value == b"one"  # type: ignore[union-attr]


async def test_get_missing_key_returns_none(storage: Storage, prefix: str) -> None:
    assert await storage.get(prefix + "missing") is None


async def test_empty_value_round_trips(storage: Storage, prefix: str) -> None:
    revision = await storage.create(prefix + "empty", b"")
    assert await storage.get(prefix + "empty") == KeyValue(prefix + "empty", b"", revision, revision)


# Revisions


async def test_every_write_returns_a_strictly_greater_revision(storage: Storage, prefix: str) -> None:
    created = await storage.create(prefix + "a", b"1")
    updated = await storage.update(prefix + "a", b"2", expected=created)
    deleted = (await storage.delete(prefix + "a")).mod_revision
    recreated = await storage.create(prefix + "a", b"3")
    assert created < updated < deleted < recreated
    assert await storage.current_revision() >= recreated


async def test_current_revision_is_monotonic_and_covers_every_write(storage: Storage, prefix: str) -> None:
    seen = [await storage.current_revision()]
    for index in range(5):
        revision = await storage.create(f"{prefix}{index}", b"v")
        current = await storage.current_revision()
        assert current >= revision
        seen.append(current)
    assert seen == sorted(seen)
    assert len(set(seen)) == len(seen)


async def test_failed_writes_do_not_consume_a_revision(storage: Storage, prefix: str) -> None:
    revision = await storage.create(prefix + "a", b"1")
    with pytest.raises(KeyExists):
        await storage.create(prefix + "a", b"again")
    with pytest.raises(RevisionConflict):
        await storage.update(prefix + "a", b"stale", expected=revision - 1)
    with pytest.raises(KeyNotFound):
        await storage.update(prefix + "missing", b"x", expected=revision)
    with pytest.raises(KeyNotFound):
        await storage.delete(prefix + "missing")
    with pytest.raises(RevisionConflict):
        await storage.delete(prefix + "a", expected=revision + 1)
    assert await storage.current_revision() == revision
    assert await storage.create(prefix + "b", b"2") == revision + 1


# Update and delete


async def test_update_with_expected_revision_replaces_value_and_keeps_create_revision(
    storage: Storage, prefix: str
) -> None:
    created = await storage.create(prefix + "a", b"1")
    updated = await storage.update(prefix + "a", b"2", expected=created)
    assert await storage.get(prefix + "a") == KeyValue(prefix + "a", b"2", created, updated)


async def test_update_with_stale_revision_conflicts(storage: Storage, prefix: str) -> None:
    created = await storage.create(prefix + "a", b"1")
    updated = await storage.update(prefix + "a", b"2", expected=created)
    with pytest.raises(RevisionConflict) as raised:
        await storage.update(prefix + "a", b"3", expected=created)
    assert (raised.value.expected, raised.value.actual) == (created, updated)
    assert (await storage.get(prefix + "a")) == KeyValue(prefix + "a", b"2", created, updated)


async def test_update_of_missing_key_raises_key_not_found(storage: Storage, prefix: str) -> None:
    with pytest.raises(KeyNotFound):
        await storage.update(prefix + "missing", b"1", expected=1)


async def test_delete_returns_previous_value_with_delete_revision(storage: Storage, prefix: str) -> None:
    created = await storage.create(prefix + "a", b"1")
    updated = await storage.update(prefix + "a", b"2", expected=created)
    deleted = await storage.delete(prefix + "a")
    assert deleted.key == prefix + "a"
    assert deleted.value == b"2"
    assert deleted.create_revision == created
    assert deleted.mod_revision > updated
    assert await storage.current_revision() >= deleted.mod_revision
    assert await storage.get(prefix + "a") is None


async def test_delete_with_expected_revision(storage: Storage, prefix: str) -> None:
    created = await storage.create(prefix + "a", b"1")
    updated = await storage.update(prefix + "a", b"2", expected=created)
    with pytest.raises(RevisionConflict):
        await storage.delete(prefix + "a", expected=created)
    assert (await storage.delete(prefix + "a", expected=updated)).value == b"2"


async def test_delete_of_missing_key_raises_key_not_found(storage: Storage, prefix: str) -> None:
    with pytest.raises(KeyNotFound):
        await storage.delete(prefix + "missing")
    await storage.create(prefix + "a", b"1")
    await storage.delete(prefix + "a")
    with pytest.raises(KeyNotFound):
        await storage.delete(prefix + "a")


async def test_create_after_delete_starts_a_new_create_revision(storage: Storage, prefix: str) -> None:
    await storage.create(prefix + "a", b"1")
    await storage.delete(prefix + "a")
    recreated = await storage.create(prefix + "a", b"2")
    assert await storage.get(prefix + "a") == KeyValue(prefix + "a", b"2", recreated, recreated)


# List


async def test_list_returns_keys_in_bytewise_order(storage: Storage, prefix: str) -> None:
    names = ["b", "B", "a", "a-b", "a/b", "é", "z", "~", "中", "\U0001f600", "a\x7f"]
    for name in names:
        await storage.create(prefix + name, name.encode())
    page = await storage.list(prefix)
    assert [item.key for item in page.items] == sorted((prefix + name for name in names), key=str.encode)
    assert [item.value for item in page.items] == [item.key[len(prefix):].encode() for item in page.items]
    assert (page.more, page.remaining) == (False, 0)


async def test_list_is_isolated_by_prefix(storage: Storage, prefix: str) -> None:
    for name in ("a/1", "a/2", "ab/1", "a", "b/1"):
        await storage.create(prefix + name, b"v")
    page = await storage.list(prefix + "a/")
    assert [item.key for item in page.items] == [prefix + "a/1", prefix + "a/2"]


async def test_list_items_carry_create_and_mod_revisions(storage: Storage, prefix: str) -> None:
    created = await storage.create(prefix + "a", b"1")
    updated = await storage.update(prefix + "a", b"2", expected=created)
    page = await storage.list(prefix)
    assert list(page.items) == [KeyValue(prefix + "a", b"2", created, updated)]
    assert page.revision >= updated


async def test_list_omits_deleted_keys(storage: Storage, prefix: str) -> None:
    await storage.create(prefix + "a", b"1")
    await storage.create(prefix + "b", b"2")
    await storage.delete(prefix + "a")
    assert [item.key for item in (await storage.list(prefix)).items] == [prefix + "b"]


async def test_list_with_limit_reports_more_and_remaining(storage: Storage, prefix: str) -> None:
    for index in range(5):
        await storage.create(f"{prefix}{index}", b"v")
    page = await storage.list(prefix, limit=2)
    assert [item.key for item in page.items] == [prefix + "0", prefix + "1"]
    assert (page.more, page.remaining) == (True, 3)
    whole = await storage.list(prefix, limit=5)
    assert (len(whole.items), whole.more, whole.remaining) == (5, False, 0)


async def test_list_pages_give_a_consistent_snapshot_despite_later_writes(storage: Storage, prefix: str) -> None:
    originals = {}
    for index in range(5):
        originals[f"{prefix}{index}"] = await storage.create(f"{prefix}{index}", f"v{index}".encode())
    first = await storage.list(prefix, limit=2)
    await storage.update(prefix + "3", b"changed", expected=originals[prefix + "3"])
    await storage.delete(prefix + "4")
    await storage.create(prefix + "5", b"new")
    pages = [first]
    while pages[-1].more:
        start = pages[-1].items[-1].key + "\x00"
        pages.append(await storage.list(prefix, revision=first.revision, limit=2, start=start))
    assert [(page.more, page.remaining) for page in pages] == [(True, 3), (True, 1), (False, 0)]
    assert all(page.revision == first.revision for page in pages)
    items = [item for page in pages for item in page.items]
    assert [(item.key, item.value, item.mod_revision) for item in items] == [
        (key, f"v{index}".encode(), originals[key]) for index, key in enumerate(originals)
    ]
    current = await storage.list(prefix)
    assert [item.key for item in current.items] == [f"{prefix}{index}" for index in (0, 1, 2, 3, 5)]


async def test_list_at_a_past_revision_sees_values_of_then(storage: Storage, prefix: str) -> None:
    created = await storage.create(prefix + "a", b"old")
    await storage.update(prefix + "a", b"new", expected=created)
    await storage.delete(prefix + "a")
    page = await storage.list(prefix, revision=created)
    assert list(page.items) == [KeyValue(prefix + "a", b"old", created, created)]
    assert page.revision == created


async def test_list_at_a_future_revision_raises_future_revision(storage: Storage, prefix: str) -> None:
    revision = await storage.create(prefix + "a", b"1")
    with pytest.raises(FutureRevision):
        await storage.list(prefix, revision=revision + 1000)


async def test_list_start_skips_earlier_keys(storage: Storage, prefix: str) -> None:
    for name in ("a", "b", "c"):
        await storage.create(prefix + name, b"v")
    page = await storage.list(prefix, start=prefix + "a\x00")
    assert [item.key for item in page.items] == [prefix + "b", prefix + "c"]


# Watch


async def test_watch_opened_before_writes_sees_them(storage: Storage, prefix: str) -> None:
    after = await storage.current_revision()
    async with watching(storage, prefix, after) as stream:
        first = asyncio.ensure_future(anext(stream))
        for _ in range(5):
            await asyncio.sleep(0)  # let the watch start; correctness does not depend on it
        revision = await storage.create(prefix + "a", b"1")
        async with asyncio.timeout(WAIT):
            batch = await first
    assert [(event.type, event.key, event.revision) for event in batch] == [(EventType.CREATE, prefix + "a", revision)]


async def test_watch_events_carry_values_and_previous_values(storage: Storage, prefix: str) -> None:
    after = await storage.current_revision()
    created = await storage.create(prefix + "a", b"1")
    updated = await storage.update(prefix + "a", b"2", expected=created)
    deleted = await storage.delete(prefix + "a")
    async with watching(storage, prefix, after) as stream:
        events = await collect(stream, 3)
        await expect_nothing_more(storage, stream, prefix)
    assert events == [
        Event(EventType.CREATE, prefix + "a", b"1", None, created, created),
        Event(EventType.UPDATE, prefix + "a", b"2", b"1", updated, created),
        Event(EventType.DELETE, prefix + "a", b"", b"2", deleted.mod_revision, created),
    ]


async def test_watch_from_an_old_revision_replays_history_then_follows(storage: Storage, prefix: str) -> None:
    first = await storage.create(prefix + "a", b"1")
    second = await storage.create(prefix + "b", b"2")
    third = await storage.update(prefix + "a", b"3", expected=first)
    async with watching(storage, prefix, second - 1) as stream:
        replayed = await collect(stream, 2)
        live = await storage.create(prefix + "c", b"4")
        following = await collect(stream, 1)
        await expect_nothing_more(storage, stream, prefix)
    assert [event.revision for event in replayed] == [second, third]
    assert [event.revision for event in following] == [live]


async def test_watch_only_sees_its_prefix(storage: Storage, prefix: str) -> None:
    after = await storage.current_revision()
    await storage.create(prefix + "ab/1", b"x")
    await storage.create(prefix + "a/1", b"x")
    await storage.create(prefix + "b/1", b"x")
    await storage.create(prefix + "a/2", b"x")
    async with watching(storage, prefix + "a/", after) as stream:
        events = await collect_until(stream, prefix + "a/2")
    assert [event.key for event in events] == [prefix + "a/1", prefix + "a/2"]


async def test_concurrent_writes_are_each_observed_once_in_revision_order(storage: Storage, prefix: str) -> None:
    after = await storage.current_revision()

    async def write(index: int) -> list[int]:
        created = await storage.create(f"{prefix}k{index:03}", b"1")
        updated = await storage.update(f"{prefix}k{index:03}", b"2", expected=created)
        return [created, updated]

    async with watching(storage, prefix, after) as stream:
        pending = asyncio.ensure_future(collect(stream, 80))
        pairs = await asyncio.gather(*(write(index) for index in range(40)))
        written = [revision for pair in pairs for revision in pair]
        events = await pending
        await expect_nothing_more(storage, stream, prefix)
    assert len(set(written)) == len(written) == 80
    assert [event.revision for event in events] == sorted(written)
    for index in range(40):
        kinds = [event.type for event in events if event.key == f"{prefix}k{index:03}"]
        assert kinds == [EventType.CREATE, EventType.UPDATE]


async def test_two_watches_each_get_every_event(storage: Storage, prefix: str) -> None:
    after = await storage.current_revision()
    async with watching(storage, prefix, after) as one, watching(storage, prefix, after) as two:
        revisions = [await storage.create(f"{prefix}{index}", b"v") for index in range(3)]
        marker = await storage.create(prefix + "~marker", b"")
        assert [event.revision for event in await collect_until(one, prefix + "~marker")] == [*revisions, marker]
        assert [event.revision for event in await collect_until(two, prefix + "~marker")] == [*revisions, marker]


async def test_close_ends_open_watches(storage: Storage, prefix: str) -> None:
    after = await storage.current_revision()
    stream = storage.watch(prefix, after=after)
    await storage.create(prefix + "a", b"1")
    assert len(await collect(stream, 1)) == 1
    leftover: list[Event] = []

    async def drain() -> None:
        async for batch in stream:
            leftover.extend(batch)

    draining = asyncio.ensure_future(drain())
    await storage.close()
    async with asyncio.timeout(WAIT):
        await draining
    assert leftover == []
    await storage.close()  # idempotent


# Compaction


async def test_compaction_makes_older_revisions_raise_compacted(storage: Storage, prefix: str) -> None:
    first = await storage.create(prefix + "a", b"1")
    second = await storage.update(prefix + "a", b"2", expected=first)
    third = await storage.create(prefix + "b", b"3")
    await storage.compact(second)
    with pytest.raises(Compacted):
        await storage.list(prefix, revision=first)
    at_compaction = await storage.list(prefix, revision=second)
    assert list(at_compaction.items) == [KeyValue(prefix + "a", b"2", first, second)]
    current = await storage.list(prefix)
    assert [(item.key, item.mod_revision) for item in current.items] == [(prefix + "a", second), (prefix + "b", third)]
    assert await storage.get(prefix + "a") == KeyValue(prefix + "a", b"2", first, second)


async def test_watch_below_compaction_raises_compacted(storage: Storage, prefix: str) -> None:
    first = await storage.create(prefix + "a", b"1")
    second = await storage.update(prefix + "a", b"2", expected=first)
    await storage.create(prefix + "b", b"3")
    await storage.compact(second)
    with pytest.raises(Compacted):
        async with watching(storage, prefix, first - 1) as stream, asyncio.timeout(WAIT):
            await anext(stream)


async def test_watch_from_the_compacted_revision_still_works(storage: Storage, prefix: str) -> None:
    first = await storage.create(prefix + "a", b"1")
    second = await storage.update(prefix + "a", b"2", expected=first)
    third = await storage.create(prefix + "b", b"3")
    await storage.compact(second)
    async with watching(storage, prefix, second - 1) as stream:
        events = await collect(stream, 2)
    assert [(event.type, event.revision) for event in events] == [(EventType.UPDATE, second), (EventType.CREATE, third)]


async def test_an_open_watch_never_skips_events_across_a_compaction(storage: Storage, prefix: str) -> None:
    """A watcher behind a compaction gets every event it had not taken yet, or Compacted (etcd cancels it):
    never a silent gap."""
    first = await storage.create(prefix + "a", b"1")
    async with watching(storage, prefix, first - 1) as stream:
        assert [event.revision for event in await collect(stream, 1)] == [first]
        second = await storage.create(prefix + "b", b"2")
        third = await storage.create(prefix + "c", b"3")
        await storage.compact(third)
        seen: list[int] = []
        try:
            async with asyncio.timeout(WAIT):
                while len(seen) < 2:
                    seen.extend(event.revision for event in await anext(stream))
        except Compacted:
            assert second not in seen or seen == [second], seen
        else:
            assert seen == [second, third]


async def test_compaction_keeps_deleted_and_recreated_keys_right(storage: Storage, prefix: str) -> None:
    gone = await storage.create(prefix + "gone", b"1")
    await storage.delete(prefix + "gone", expected=gone)
    back = await storage.create(prefix + "back", b"1")
    back_deleted = await storage.delete(prefix + "back")
    back_again = await storage.create(prefix + "back", b"2")
    await storage.compact(back_again)
    assert await storage.get(prefix + "gone") is None
    assert await storage.get(prefix + "back") == KeyValue(prefix + "back", b"2", back_again, back_again)
    page = await storage.list(prefix, revision=back_again)
    assert [item.key for item in page.items] == [prefix + "back"]
    assert back < back_deleted.mod_revision < back_again
    updated = await storage.update(prefix + "back", b"3", expected=back_again)
    assert (await storage.delete(prefix + "back", expected=updated)).value == b"3"


async def test_compacting_again_at_or_below_the_compacted_revision_is_a_no_op(storage: Storage, prefix: str) -> None:
    first = await storage.create(prefix + "a", b"1")
    second = await storage.update(prefix + "a", b"2", expected=first)
    await storage.compact(second)
    await storage.compact(second)
    await storage.compact(first)
    assert [item.value for item in (await storage.list(prefix, revision=second)).items] == [b"2"]


async def test_check_passes_while_open(storage: Storage) -> None:
    await storage.check()
