"""Answer fragments (ciq.store.fragments) and their splicing into a deflate answer (ciq.web.spliced),
without a table: the pieces, the zlib framing, the Adler-32 combination, the answer form's pin."""

from __future__ import annotations

import gzip
import hashlib
import random
import zlib
from typing import Any

import pytest

from ciq.contracts.entities import (
    Agent,
    Connection,
    Family,
    Group,
    KbDraftState,
    KnowledgeBase,
    NodePosition,
    Profile,
    UserData,
    Workspace,
)
from ciq.domain.account import Account
from ciq.domain.derive import derive
from ciq.ports import StoredAnswer
from ciq.store import fragments
from ciq.store.codec import CorruptItem, encode_body
from ciq.store.records import workspace_records
from ciq.web import render, spliced
from ciq.web.api import accepts_encoding
from tests.conftest import ROOT

# The source the answer form depends on, and its hash when ANSWER_FORM got its current value.
ANSWER_FORM_SOURCES = (
    "layers/shared/ciq/domain/derive.py",
    "layers/shared/ciq/domain/kb_validation.py",
    "layers/shared/ciq/contracts/entities.py",
)
PINNED = {
    1: "1b60e07f43d737e4a3cfb59b0c4c308a36dfbbaa269d20c9b626dd827f45e2d4",
    2: "1b60e07f43d737e4a3cfb59b0c4c308a36dfbbaa269d20c9b626dd827f45e2d4",  # the index gained CRC-32s
}
T0 = "2026-01-01T00:00:00.000Z"


def test_the_answer_form_is_bumped_when_its_sources_change() -> None:
    # Given the source of the derive rules, the KB validation and the entity models
    digest = hashlib.sha256()
    for path in ANSWER_FORM_SOURCES:
        digest.update((ROOT / path).read_bytes())
    # When it is compared with the hash pinned for the current answer form
    # Then it is the same: a change to them may change an entity's answer JSON, so stored
    # fragments of the old form must not be spliced any more
    assert PINNED.get(fragments.ANSWER_FORM) == digest.hexdigest(), (
        "ciq/domain/derive.py, kb_validation.py or contracts/entities.py changed: bump ANSWER_FORM in "
        f"ciq/store/fragments.py and pin {digest.hexdigest()} for it here"
    )


def _account(rng: random.Random, workspaces: int) -> Account:
    """A derived account: workspaces with KBs, agents, connections created at interleaving (and
    tied) times, some node positions, non-ASCII text."""
    profile = Profile(user_id="u-1", email="u@example.com", first_name="Zoë", created_at=T0)
    account = Account(user_id="u-1", profile=profile, groups=[Group(id="default", name="Default ☕")])
    account.initialized = True
    for w in range(workspaces):
        ws_id = f"ws-{w}"
        account.workspaces.append(
            Workspace(
                id=ws_id,
                name=f"Café {w}",
                group_id="default",
                owner_id="u-1",
                default_kb_id=f"kb-{w}-0",
                default_agent_id=f"agent-{w}-0",
                created_at=T0,
                updated_at=T0,
            )
        )
        for k in range(rng.randint(1, 4)):
            stamp = f"2026-01-0{rng.randint(1, 3)}T00:00:00.000Z"
            draft = {"greetings": {"presets": [], "customText": "¡Hola! " * rng.randint(0, 40)}}
            account.knowledge_bases.append(
                KnowledgeBase(
                    id=f"kb-{w}-{k}",
                    workspace_id=ws_id,
                    name=f"KB {k}",
                    draft=KbDraftState.model_validate(draft),
                    created_at=stamp,
                    updated_at=stamp,
                )
            )
            account.agents.append(
                Agent(
                    id=f"agent-{w}-{k}",
                    workspace_id=ws_id,
                    knowledge_base_id=f"kb-{w}-{k}",
                    name="My Agent",
                    created_at=stamp,
                    updated_at=stamp,
                )
            )
        for c in range(rng.randint(0, 3)):
            stamp = f"2026-01-0{rng.randint(1, 3)}T00:00:00.000Z"
            account.connections.append(
                Connection(
                    id=f"conn-{w}-{c}",
                    workspace_id=ws_id,
                    family=Family.WEB_CHAT,
                    label=f"Site {c}",
                    agent_id=f"agent-{w}-0",
                    created_at=stamp,
                    updated_at=stamp,
                )
            )
        if rng.random() < 0.5:
            account.node_positions[ws_id] = {"n1": NodePosition(x=rng.random() * 100, y=-1.5)}
    account.sort_by_creation()
    derive(account)
    return account


def _stored_answer(account: Account, version: int) -> StoredAnswer:
    """The account as the store reads it back from fragments (items encoded and parsed again)."""
    stored = []
    for ws_id, record in workspace_records(account).items():
        item = fragments.encode_workspace(record, fragments.fingerprint(record.to_json_bytes()), ws_id)
        stored.append(fragments.stored_workspace(ws_id, dict(item)))
    return StoredAnswer(version, account.schema_version, account.profile, account.groups, stored)


@pytest.mark.parametrize("seed", range(12))
def test_a_spliced_answer_inflates_to_the_answer_rendered_from_the_data(seed: int) -> None:
    # Given a random derived account, stored as fragments
    account = _account(random.Random(seed), workspaces=1 + seed % 5)
    expected = render.data_answer(render_answer(account, 7)).encode()
    # When its answer is spliced from the stored fragments
    stream = spliced.splice(_stored_answer(account, 7))
    # Then zlib and gzip inflate it (headers, blocks, Adler-32, CRC-32 and size all valid) to the
    # very bytes of the answer
    assert zlib.decompress(stream.zlib()) == expected
    assert gzip.decompress(stream.gzip()) == expected
    assert stream.inflated() == expected
    assert stream.length == len(expected)


def render_answer(account: Account, version: int) -> object:
    from ciq.services.user_data import DataAnswer

    return DataAnswer(account.to_user_data(), version)


def test_a_workspace_item_round_trips_to_the_same_record_and_fingerprint() -> None:
    # Given a derived workspace record
    account = _account(random.Random(1), workspaces=2)
    record = workspace_records(account)["ws-1"]
    print_ = fragments.fingerprint(record.to_json_bytes())
    # When it is encoded as fragments and decoded back
    item = dict(fragments.encode_workspace(record, print_, "ws-1"))
    decoded, decoded_print, fresh = fragments.decode_workspace(item)
    # Then the record, its fingerprint and freshness are what was stored
    assert decoded == record
    assert decoded_print == print_
    assert fresh


def test_an_item_of_the_older_format_decodes_with_the_same_fingerprint_but_stale() -> None:
    # Given a workspace item in the single-body format written before fragments
    record = workspace_records(_account(random.Random(2), workspaces=1))["ws-0"]
    item = dict(encode_body(record.to_json_bytes(), "ws-0"))
    # When it is decoded
    decoded, print_, fresh = fragments.decode_workspace(item)
    # Then it is the same record, compared on writes like a fragment item, and not spliceable
    assert decoded.to_json_bytes() == record.to_json_bytes()
    assert print_ == fragments.fingerprint(record.to_json_bytes())
    assert not fresh
    assert not fragments.is_fresh(item)


def test_an_item_of_another_answer_form_is_not_fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an item written under answer form 1
    record = workspace_records(_account(random.Random(3), workspaces=1))["ws-0"]
    item = dict(fragments.encode_workspace(record, b"x" * 16, "ws-0"))
    # When the code's answer form is another one
    monkeypatch.setattr(fragments, "ANSWER_FORM", fragments.ANSWER_FORM + 1)
    # Then the item is still readable, but not spliceable
    assert not fragments.is_fresh(item)
    assert fragments.decode_workspace(item)[0] == record


def test_a_damaged_fragment_item_is_a_corrupt_item() -> None:
    # Given a fragment item whose pieces were damaged
    record = workspace_records(_account(random.Random(4), workspaces=1))["ws-0"]
    item = dict(fragments.encode_workspace(record, b"x" * 16, "ws-0"))
    item["pz"] = {"B": b"\xff" * len(item["pz"]["B"])}  # type: ignore[typeddict-item]
    # When it is decoded, or read to be spliced / Then it is refused as corrupt (a logged 500, never
    # a wrong answer)
    for read in (fragments.decode_workspace, lambda damaged: fragments.stored_workspace("ws-0", damaged)):
        with pytest.raises(CorruptItem) as refused:
            read(item)
        assert "checksum" in refused.value.log_fields["reason"]


def test_a_workspace_too_large_for_fragments_keeps_the_single_body_form(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a workspace whose pieces would pass the item limit while one compressed body would not
    record = workspace_records(_account(random.Random(5), workspaces=1))["ws-0"]
    body = zlib.compress(record.to_json_bytes(), 6)
    monkeypatch.setattr(fragments, "MAX_BODY_BYTES", len(body) + 1)
    # When it is encoded
    item = fragments.encode_workspace(record, b"x" * 16, "ws-0")
    # Then it is stored as before (never refused for the form alone), and is never spliced
    assert set(item) <= {"j", "z"}


@pytest.mark.parametrize("split", [0, 1, 100, 70_000])
def test_crc32_combine_matches_the_checksum_of_the_whole(split: int) -> None:
    # Given a text cut in two anywhere, shorter or longer than the zero chunk
    text = bytes(random.Random(split).getrandbits(8) for _ in range(140_000))
    first, second = text[:split], text[split:]
    # When the halves' CRC-32s are combined / Then it is the CRC-32 of the whole
    assert spliced.crc32_combine(zlib.crc32(first), zlib.crc32(second), len(second)) == zlib.crc32(text)


@pytest.mark.parametrize("split", [0, 1, 7, 5552, 65521, 70000])
def test_adler32_combine_matches_the_checksum_of_the_whole(split: int) -> None:
    # Given some bytes cut in two
    data = random.Random(split).randbytes(80_000)
    first, second = data[:split], data[split:]
    # When the checksums of the parts are combined / Then it is the checksum of the whole
    assert spliced.adler32_combine(zlib.adler32(first), zlib.adler32(second), len(second)) == zlib.adler32(
        data
    )


def test_glue_longer_than_one_stored_block_is_split_across_blocks() -> None:
    # Given an account whose profile text is over 64 KB of glue (many groups)
    account = _account(random.Random(6), workspaces=1)
    account.groups = [Group(id=f"grp-{n}", name="g" * 100) for n in range(800)]
    expected = render.data_answer(render_answer(account, 3)).encode()
    # When it is spliced / Then it still inflates to the answer
    stream = spliced.splice(_stored_answer(account, 3))
    assert zlib.decompress(stream.zlib()) == expected
    assert gzip.decompress(stream.gzip()) == expected


@pytest.mark.parametrize(
    ("accept", "coding", "accepted"),
    [
        ("gzip, deflate, br", "deflate", True),
        ("gzip, deflate, br", "gzip", True),
        ("gzip", "deflate", False),
        ("DEFLATE", "deflate", True),
        ("deflate;q=0, gzip", "deflate", False),
        ("deflate; q=0.5", "deflate", True),
        ("deflate;q=nonsense", "deflate", False),
        ("x-deflate", "deflate", False),
        (None, "gzip", False),
    ],
)
def test_accept_encoding_names_a_coding_unless_refused(
    accept: str | None, coding: str, accepted: bool
) -> None:
    # Given an Accept-Encoding value / When a coding is looked up / Then q=0 refuses it
    assert accepts_encoding(accept, coding) is accepted


def test_user_data_field_order_is_the_one_spliced() -> None:
    # Given the answer's model / Then its fields are the ones the splicer writes, in that order
    assert [f.alias for f in UserData.model_fields.values()] == [
        "schemaVersion",
        "profile",
        "groups",
        "workspaces",
        "knowledgeBases",
        "agents",
        "connections",
        "nodePositions",
    ]


def test_stale_items_are_rewritten_in_transactions_that_fit_dynamodb_limits() -> None:
    # Given 250 item rewrites of 30 KB each (more than 100 items and more than 4 MB in all)
    from ciq.store import user_store
    from ciq.store.dynamo import MAX_TRANSACTION_BYTES, MAX_TRANSACTION_ITEMS

    puts: list[Any] = [({"Put": {"n": n}}, 30 * 1024) for n in range(250)]
    # When they are grouped into transactions (each also holds the root's condition check)
    chunks = list(user_store._chunks(puts))
    # Then every transaction fits both limits, and every rewrite is in one, in order
    assert all(len(chunk) + 1 <= MAX_TRANSACTION_ITEMS for chunk in chunks)
    assert all(len(chunk) * 30 * 1024 < MAX_TRANSACTION_BYTES for chunk in chunks)
    assert [put["Put"]["n"] for chunk in chunks for put in chunk] == list(range(250))
