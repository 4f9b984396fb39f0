"""gateway/audit/merkle.py against RFC 9162 as written (tests/audit/rfc9162.py).

Every root, audit path and consistency proof of every tree up to 70 leaves, then random ones
up to a few thousand, must equal the reference; the proofs must be built from the complete
subtrees a tree of that size has (what storage holds) and nothing else; the verifiers must
accept the reference's proofs and refuse every tampered one.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.audit import merkle
from gateway.audit.merkle import NodeId, ProofRangeError
from tests.audit import rfc9162

SMALL = 70
LARGE = 3000
DATA = [b"record %d" % i for i in range(LARGE)]
LEAVES = [merkle.leaf_hash(d) for d in DATA]


@cache
def mth(n: int) -> bytes:
    return rfc9162.MTH(DATA[:n])


@cache
def stored(size: int) -> dict[NodeId, bytes]:
    """The complete subtrees of the tree of `size` leaves: what storage holds at that size."""
    return merkle.append(0, [], LEAVES[:size]).nodes


def flip(value: bytes, bit: int) -> bytes:
    changed = bytearray(value)
    changed[bit // 8] ^= 1 << bit % 8
    return bytes(changed)


def test_hashes_are_rfc_9162s() -> None:
    assert merkle.EMPTY_ROOT == rfc9162.HASH(b"")
    assert merkle.leaf_hash(b"x") == rfc9162.HASH(b"\x00x")
    assert merkle.node_hash(b"a" * 32, b"b" * 32) == rfc9162.HASH(b"\x01" + b"a" * 32 + b"b" * 32)


@pytest.mark.parametrize("size", range(SMALL + 1))
def test_roots_equal_the_reference(size: int) -> None:
    assert merkle.root_of(LEAVES[:size]) == mth(size)
    tree = merkle.CompactRange()
    for leaf in LEAVES[:size]:
        tree.add(leaf)
    assert tree.size == size
    assert tree.root() == mth(size)
    hashes = [stored(size)[node] for node in merkle.frontier(size)]
    assert hashes == tree.frontier_hashes()
    assert merkle.root_from_frontier(hashes) == mth(size)


@pytest.mark.parametrize("size", range(SMALL + 1))
def test_the_frontier_covers_the_tree_left_to_right_with_complete_subtrees(size: int) -> None:
    covered = 0
    for level, index in merkle.frontier(size):
        begin = index << level
        assert begin == covered
        covered = begin + (1 << level)
        assert stored(size)[(level, index)] == rfc9162.MTH(DATA[begin:covered])
    assert covered == size
    assert len(merkle.frontier(size)) == size.bit_count()


@pytest.mark.parametrize("size", range(1, SMALL + 1))
def test_every_stored_node_is_the_reference_hash_of_its_leaves(size: int) -> None:
    nodes = stored(size)
    expected = {
        (level, index)
        for level in range(size.bit_length())
        for index in range(size >> level)  # the complete ones only
    }
    assert set(nodes) == expected
    for (level, index), value in nodes.items():
        assert value == rfc9162.MTH(DATA[index << level : (index + 1) << level])


@pytest.mark.parametrize("size", range(1, SMALL + 1))
def test_inclusion_proofs_equal_the_reference_for_every_index(size: int) -> None:
    for index in range(size):
        needed = merkle.inclusion_nodes(index, size)
        only = {node: stored(size)[node] for node in needed}  # KeyError: not stored
        proof = merkle.inclusion_proof(index, size, only)
        assert proof == rfc9162.PATH(index, DATA[:size]), (index, size)
        assert merkle.verify_inclusion(LEAVES[index], index, size, proof, mth(size))


@pytest.mark.parametrize("new", range(SMALL + 1))
def test_consistency_proofs_equal_the_reference_for_every_old_size(new: int) -> None:
    for old in range(new + 1):
        needed = merkle.consistency_nodes(old, new)
        only = {node: stored(new)[node] for node in needed}
        proof = merkle.consistency_proof(old, new, only)
        expected = rfc9162.PROOF(old, DATA[:new]) if 0 < old < new else []
        assert proof == expected, (old, new)
        assert merkle.verify_consistency(old, new, mth(old), mth(new), proof)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_random_proofs_in_larger_trees_equal_the_reference(data: st.DataObject) -> None:
    size = data.draw(st.integers(1, LARGE))
    index = data.draw(st.integers(0, size - 1))
    old = data.draw(st.integers(1, size))
    nodes = stored(size)
    path = merkle.inclusion_proof(index, size, nodes)
    assert path == rfc9162.PATH(index, DATA[:size])
    assert merkle.verify_inclusion(LEAVES[index], index, size, path, mth(size))
    proof = merkle.consistency_proof(old, size, nodes)
    assert proof == (rfc9162.PROOF(old, DATA[:size]) if old < size else [])
    assert merkle.verify_consistency(old, size, mth(old), mth(size), proof)


@pytest.mark.parametrize("size", range(1, 34))
def test_verify_inclusion_refuses_every_tampered_proof(size: int) -> None:
    root = mth(size)
    for index in range(size):
        leaf = LEAVES[index]
        proof = rfc9162.PATH(index, DATA[:size])
        for i, element in enumerate(proof):
            for bit in (0, 77, 255):
                bad = [*proof[:i], flip(element, bit), *proof[i + 1 :]]
                assert not merkle.verify_inclusion(leaf, index, size, bad, root)
        assert not merkle.verify_inclusion(flip(leaf, 3), index, size, proof, root)
        assert not merkle.verify_inclusion(leaf, index, size, proof, flip(root, 200))
        for other in range(size):
            if other != index:
                assert not merkle.verify_inclusion(leaf, other, size, proof, root)
                assert not merkle.verify_inclusion(LEAVES[other], index, size, proof, root)
        for other_size in range(index + 1, SMALL + 1):
            if other_size != size:
                bad_size = merkle.verify_inclusion(leaf, index, other_size, proof, mth(other_size))
                assert not bad_size, (index, size, other_size)
        if proof:
            assert not merkle.verify_inclusion(leaf, index, size, proof[:-1], root)
            assert not merkle.verify_inclusion(leaf, index, size, proof[1:], root)
        assert not merkle.verify_inclusion(leaf, index, size, [*proof, root], root)
        assert not merkle.verify_inclusion(leaf, index, size, [*proof, LEAVES[0]], root)


@pytest.mark.parametrize("new", range(2, 34))
def test_verify_consistency_refuses_every_tampered_proof(new: int) -> None:
    for old in range(1, new):
        proof = rfc9162.PROOF(old, DATA[:new])
        old_root, new_root = mth(old), mth(new)
        for i, element in enumerate(proof):
            for bit in (0, 100, 255):
                bad = [*proof[:i], flip(element, bit), *proof[i + 1 :]]
                assert not merkle.verify_consistency(old, new, old_root, new_root, bad)
        assert not merkle.verify_consistency(old, new, flip(old_root, 1), new_root, proof)
        assert not merkle.verify_consistency(old, new, old_root, flip(new_root, 1), proof)
        assert not merkle.verify_consistency(old, new, new_root, old_root, proof)
        assert not merkle.verify_consistency(old, new, old_root, new_root, proof[:-1])
        assert not merkle.verify_consistency(old, new, old_root, new_root, [*proof, new_root])
        assert not merkle.verify_consistency(old, new, old_root, new_root, [])
        for other in range(1, SMALL + 1):
            if other not in (old, new) and other < new:
                assert not merkle.verify_consistency(other, new, mth(other), new_root, proof)
            if other not in (old, new) and other > old:
                assert not merkle.verify_consistency(old, other, old_root, mth(other), proof)


def test_verify_consistency_at_the_edges() -> None:
    assert merkle.verify_consistency(0, 5, merkle.EMPTY_ROOT, mth(5), [])
    assert not merkle.verify_consistency(0, 5, mth(1), mth(5), [])
    assert not merkle.verify_consistency(0, 5, merkle.EMPTY_ROOT, mth(5), [mth(5)])
    assert merkle.verify_consistency(5, 5, mth(5), mth(5), [])
    assert not merkle.verify_consistency(5, 5, mth(5), mth(4), [])
    assert not merkle.verify_consistency(5, 5, mth(5), mth(5), [mth(5)])
    assert not merkle.verify_consistency(6, 5, mth(6), mth(5), [])
    assert not merkle.verify_consistency(-1, 5, mth(0), mth(5), [])


def test_a_proof_stops_at_its_trees_height() -> None:
    # RFC 9162's final "sn is 0" checks: the same hashes with a taller tree's size fail.
    assert merkle.verify_inclusion(LEAVES[0], 0, 2, rfc9162.PATH(0, DATA[:2]), mth(2))
    assert not merkle.verify_inclusion(LEAVES[0], 0, 3, rfc9162.PATH(0, DATA[:2]), mth(2))
    assert merkle.verify_consistency(1, 2, mth(1), mth(2), rfc9162.PROOF(1, DATA[:2]))
    assert not merkle.verify_consistency(1, 3, mth(1), mth(2), rfc9162.PROOF(1, DATA[:2]))


def test_verifiers_refuse_nonsense_without_raising() -> None:
    proof = rfc9162.PATH(2, DATA[:5])
    assert merkle.verify_inclusion(LEAVES[2], 2, 5, proof, mth(5))
    assert not merkle.verify_inclusion(LEAVES[2], 5, 5, proof, mth(5))
    assert not merkle.verify_inclusion(LEAVES[2], -1, 5, proof, mth(5))
    assert not merkle.verify_inclusion(LEAVES[2], 0, 0, [], merkle.EMPTY_ROOT)
    assert not merkle.verify_inclusion(LEAVES[2][:31], 2, 5, proof, mth(5))
    assert not merkle.verify_inclusion(LEAVES[2], 2, 5, [*proof[:-1], proof[-1] + b"x"], mth(5))
    consistency = rfc9162.PROOF(3, DATA[:7])
    assert not merkle.verify_consistency(3, 7, mth(3), mth(7), [*consistency[:-1], b""])


def test_appending_batches_stores_each_complete_subtree_once_with_the_reference_roots() -> None:
    rng = random.Random(9162)
    size, front = 0, list[bytes]()
    everything: dict[NodeId, bytes] = {}
    while size < LARGE:
        batch = LEAVES[size : size + rng.choice([1, 1, 2, 3, 7, 16, 33, rng.randrange(1, 300)])]
        result = merkle.append(size, front, batch)
        new = size + len(batch)
        assert result.root == mth(new)
        assert not set(result.nodes) & set(everything)  # nothing is written twice
        for level, index in result.nodes:
            assert (index + 1) << level <= new  # complete at the new size
            assert (index + 1) << level > size  # and not before
        everything.update(result.nodes)
        assert result.frontier == [everything[n] for n in merkle.frontier(new)]
        size, front = new, result.frontier
    assert everything == stored(LARGE)
    for (level, index), value in rng.sample(sorted(everything.items()), 200):
        assert value == rfc9162.MTH(DATA[index << level : (index + 1) << level])


def test_a_compact_range_resumes_from_a_stored_frontier() -> None:
    tree = merkle.CompactRange(1000, [stored(1000)[n] for n in merkle.frontier(1000)])
    tree.extend(LEAVES[1000:1500])
    assert (tree.size, tree.root()) == (1500, mth(1500))
    with pytest.raises(ValueError, match="frontier hashes"):
        merkle.CompactRange(1000, [])


def test_proofs_name_only_a_logarithmic_number_of_nodes() -> None:
    size = (1 << 40) + 12345
    for index in (0, 1, size // 3, size - 2, size - 1):
        assert len(merkle.inclusion_nodes(index, size)) <= 2 * 41
    assert len(merkle.consistency_nodes(size // 3, size)) <= 2 * 41


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: merkle.inclusion_nodes(5, 5), "leaf index 5 is not in a tree of 5 leaves"),
        (lambda: merkle.inclusion_proof(0, 0, {}), "leaf index 0 is not in the empty tree"),
        (lambda: merkle.inclusion_nodes(-1, 5), "leaf index must not be negative"),
        (lambda: merkle.inclusion_nodes(0, -5), "tree size must not be negative"),
        (lambda: merkle.consistency_nodes(6, 5), "old tree size 6 is larger than the new one, 5"),
        (lambda: merkle.consistency_proof(-1, 5, {}), "old tree size must not be negative"),
        (lambda: merkle.frontier(-1), "tree size must not be negative"),
        (lambda: merkle.append(-1, [], []), "tree size must not be negative"),
    ],
)
def test_bad_ranges_raise_a_value_error_that_says_what_is_wrong(
    call: Callable[[], object], message: str
) -> None:
    with pytest.raises(ProofRangeError, match=message) as raised:
        call()
    assert isinstance(raised.value, ValueError)


def test_a_node_missing_from_storage_is_a_lookup_error_naming_it() -> None:
    nodes = dict(stored(13))
    del nodes[(2, 2)]
    with pytest.raises(LookupError, match=r"\(2, 2\)"):
        merkle.inclusion_proof(12, 13, nodes)
    with pytest.raises(ValueError, match="3 frontier hashes, not 1"):
        merkle.append(13, [LEAVES[0]], [])
