"""Principals, confidentiality levels, grants and the hashed keys file."""

import pytest

from kb.access import LOCAL, anonymous, normalize_level, principal_for
from kb.errors import InvalidFilterError, NotFoundError, PermissionDeniedError
from kb.keys import KeyStore, hash_key

BACKENDS = ["sqlite", "milvus"]  # tests with a library run on index files and on Milvus

SECRET = {"confidentiality": "confidential", "client": "某银行", "industry": "金融"}


@pytest.mark.parametrize(
    ("value", "level"),
    [
        ("public", "public"),
        ("公开", "public"),
        ("內部", "internal"),
        (None, "internal"),
        ("機密", "confidential"),
        ("SECRET", "confidential"),
        ("绝密-A", "confidential"),
    ],
)
def test_levels_are_normalised_and_unknown_ones_are_the_strictest(value, level):
    assert normalize_level(value) == level


def test_what_each_principal_sees():
    reader = principal_for("r", "reader")
    assert reader.can_see("A", {"confidentiality": "internal"})
    assert not reader.can_see("A", SECRET)
    assert principal_for("r", "reader", ["A"]).can_see("A", SECRET)
    assert not principal_for("r", "reader", ["B"]).can_see("A", SECRET)
    assert principal_for("r", "reader", ["client=某银行"]).can_see("A", SECRET)
    assert principal_for("r", "reader", ["*"]).sees_everything
    assert principal_for("a", "admin").can_see("A", SECRET) and LOCAL.sees_everything
    public_only = anonymous("public")
    assert public_only.can_see("A", {"confidentiality": "public"})
    assert not public_only.can_see("A", {"confidentiality": "internal"})
    assert anonymous("off") is None


def test_roles_are_ordered():
    editor = principal_for("e", "editor")
    editor.require("reader")
    editor.require("editor")
    with pytest.raises(PermissionDeniedError, match="admin"):
        editor.require("admin")
    with pytest.raises(PermissionDeniedError, match="匿名"):
        anonymous("internal").require("reader")


def test_the_keys_file_keeps_hashes_and_follows_changes(tmp_path):
    keys = KeyStore(tmp_path / "keys.json")
    raw = keys.add("wang", "editor", ["industry=金融"])
    assert hash_key(raw) in keys.path.read_text() and raw not in keys.path.read_text()
    assert keys.find(raw).principal().has_role("editor")
    assert keys.find(raw + "x") is None
    other_process = KeyStore(tmp_path / "keys.json")
    other_process.revoke("wang")
    assert keys.find(raw) is None
    with pytest.raises(NotFoundError):
        keys.revoke("wang")
    with pytest.raises(InvalidFilterError):
        keys.add("zhao", "reader", ["industry="])
