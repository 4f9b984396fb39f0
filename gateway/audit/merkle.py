"""RFC 9162 Merkle tree hashing and proofs over stored complete subtrees, with no storage.

Why this shape: the log stores the hash of every *complete* subtree (perfect and aligned)
once, when it is completed, and never changes it. Node (level L, index i) covers leaves
[i·2^L, (i+1)·2^L); level 0 holds the leaf hashes. Every hash a tree of any size needs is
either such a node or the hash of a few of them (the right edge of a tree whose size is not
a power of two), so:

- appending needs only the hashes of the current `frontier` (O(log n) nodes) and yields the
  nodes it completes (`append`);
- a proof names the stored nodes it needs (`inclusion_nodes`, `consistency_nodes`), which
  storage fetches in one query, and is then built from them (`inclusion_proof`,
  `consistency_proof`);
- an auditor checks proofs with the algorithms of RFC 9162 as written (`verify_inclusion`,
  `verify_consistency`) and recomputes a root from leaves with O(log n) memory
  (`CompactRange`).

Hashes (RFC 9162, section 2.1.1): leaf = SHA-256(0x00 || leaf bytes), node = SHA-256(0x01 ||
left || right), and the root of the empty tree is SHA-256 of the empty string. The per-leaf
paths (`CompactRange.add`, `append`) are written for speed: the offline verifier recomputes
every leaf of an export, and should do hundreds of thousands a second.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

NodeId = tuple[int, int]
"""A complete subtree: (level, index); it covers leaves [index·2^level, (index+1)·2^level)."""

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

_sha256 = hashlib.sha256
_LEAF, _NODE = b"\x00", b"\x01"


class ProofRangeError(ValueError):
    """A size, index or pair of sizes no tree or proof exists for (e.g. index >= size).

    A ValueError, so a caller may treat it as bad input: the API answers 422 or 404 with the
    message, which says what was asked and what the tree allows.
    """


def leaf_hash(leaf: bytes) -> bytes:
    """Return the RFC 9162 hash of a leaf: SHA-256(0x00 || leaf)."""
    return _sha256(_LEAF + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 9162 hash of an interior node: SHA-256(0x01 || left || right)."""
    return _sha256(_NODE + left + right).digest()


def _check_size(size: int, what: str = "tree size") -> None:
    if size < 0:
        raise ProofRangeError(f"the {what} must not be negative, got {size}")


def _range_nodes(begin: int, end: int) -> list[NodeId]:
    """Return the complete subtrees covering leaves [begin, end), left to right.

    Used for a range that starts at a multiple of a power of two larger than its length (the
    whole tree, or the part of a tree's right edge under one ephemeral node), which is what
    makes the greedy split by the bits of the length aligned.
    """
    nodes: list[NodeId] = []
    length = end - begin
    for level in range(length.bit_length() - 1, -1, -1):
        if length >> level & 1:
            nodes.append((level, begin >> level))
            begin += 1 << level
    return nodes


def frontier(size: int) -> list[NodeId]:
    """Return the complete subtrees whose hashes make up a tree of `size` leaves.

    Left to right, one per bit set in `size`, largest first: the "compact range" [0, size).
    A tree of 13 leaves is (3, 0), (2, 2), (0, 12). The empty tree has none.
    """
    _check_size(size)
    return _range_nodes(0, size)


def root_from_frontier(hashes: Sequence[bytes]) -> bytes:
    """Return the root of a tree given the hashes of its `frontier`, left to right.

    RFC 9162 splits a tree at the largest power of two below its size, so the root hashes
    the frontier from the right: node(f0, node(f1, ... node(fk-1, fk))).
    """
    if not hashes:
        return EMPTY_ROOT
    root = hashes[-1]
    for left in reversed(hashes[:-1]):
        root = _sha256(_NODE + left + root).digest()
    return root


class Appended(NamedTuple):
    """What appending a batch of leaves made: store `nodes`, keep `frontier`, sign `root`."""

    nodes: dict[NodeId, bytes]
    """Every complete subtree the batch completed, the new leaf hashes (level 0) included."""
    frontier: list[bytes]
    """The hashes of `frontier(new size)`, left to right."""
    root: bytes


def append(
    size: int, frontier_hashes: Sequence[bytes], new_leaf_hashes: Iterable[bytes]
) -> Appended:
    """Append leaf hashes to a tree of `size` leaves whose frontier hashes are given.

    The appender reads `frontier(size)` from storage (O(log n) nodes), calls this, writes
    `nodes` (each is final: a complete subtree never changes) and signs `root`. The result's
    `frontier` is that of the new size, ready for the next batch without reading storage.
    """
    _check_size(size)
    if len(frontier_hashes) != size.bit_count():
        raise ValueError(
            f"a tree of {size} leaves has {size.bit_count()} frontier hashes,"
            f" not {len(frontier_hashes)}"
        )
    stack = list(frontier_hashes)
    nodes: dict[NodeId, bytes] = {}
    index = size
    sha256, node = _sha256, _NODE
    for value in new_leaf_hashes:
        nodes[(0, index)] = value
        # Leaf `index` completes one subtree per trailing one bit of `index`.
        n, level = index, 0
        while n & 1:
            value = sha256(node + stack.pop() + value).digest()
            n >>= 1
            level += 1
            nodes[(level, n)] = value
        stack.append(value)
        index += 1
    return Appended(nodes, stack, root_from_frontier(stack))


class CompactRange:
    """A tree of leaf hashes added one at a time, kept as its frontier: O(log n) memory.

    The offline verifier streams an export's leaves through one of these and compares
    `root()` with each signed checkpoint as the stream reaches its size.
    """

    __slots__ = ("size", "_stack")

    def __init__(self, size: int = 0, frontier_hashes: Sequence[bytes] = ()) -> None:
        """Start empty, or from a tree of `size` leaves given its frontier hashes."""
        _check_size(size)
        if len(frontier_hashes) != size.bit_count():
            raise ValueError(
                f"a tree of {size} leaves has {size.bit_count()} frontier hashes,"
                f" not {len(frontier_hashes)}"
            )
        self.size = size
        self._stack = list(frontier_hashes)

    def add(self, value: bytes) -> None:
        """Add one leaf hash (see `leaf_hash`)."""
        stack = self._stack
        n = self.size
        self.size = n + 1
        while n & 1:
            value = _sha256(_NODE + stack.pop() + value).digest()
            n >>= 1
        stack.append(value)

    def extend(self, values: Iterable[bytes]) -> None:
        """Add leaf hashes in order."""
        stack, n, sha256, node = self._stack, self.size, _sha256, _NODE
        for value in values:
            m = n
            n += 1
            while m & 1:
                value = sha256(node + stack.pop() + value).digest()
                m >>= 1
            stack.append(value)
        self.size = n

    def frontier_hashes(self) -> list[bytes]:
        """Return the hashes of `frontier(self.size)`, left to right."""
        return list(self._stack)

    def root(self) -> bytes:
        return root_from_frontier(self._stack)


Tree = CompactRange


def root_of(leaf_hashes: Iterable[bytes]) -> bytes:
    """Return the root of the tree of these leaf hashes (all of them in memory: small trees)."""
    tree = CompactRange()
    tree.extend(leaf_hashes)
    return tree.root()


# A proof's path, bottom-up: each step is one stored node, or the nodes under an ephemeral
# (incomplete) right subtree, left to right, whose hash is computed from them.
_Step = tuple[NodeId, ...]


def _path(level: int, index: int, size: int) -> list[_Step]:
    """Return the RFC 9162 audit path of complete node (level, index) in a tree of `size`.

    Below the level where the node's path from the root parts from the last leaf's (the
    fork), every sibling is complete; at the fork the right sibling is the ephemeral subtree
    [begin, size); above it, the node's ancestors lie on the right edge and each has a
    complete left sibling where the node's position has a one bit (a zero bit means an empty
    right sibling: RFC 9162's tree has no node there).
    """
    first = index << level
    inner = (index ^ ((size - 1) >> level)).bit_length()
    steps: list[_Step] = []
    for up in range(level, level + inner - 1):
        steps.append(((up, (first >> up) ^ 1),))
    if inner:
        fork = level + inner - 1
        begin = ((first >> fork) | 1) << fork
        steps.append(tuple(_range_nodes(begin, size)))
    for up in range(level + inner, size.bit_length()):
        if first >> up & 1:
            steps.append(((up, (first >> up) ^ 1),))
    return steps


def _flatten(steps: list[_Step]) -> list[NodeId]:
    return [node for step in steps for node in step]


def _build(steps: list[_Step], hashes: Mapping[NodeId, bytes]) -> list[bytes]:
    try:
        return [
            hashes[step[0]] if len(step) == 1 else root_from_frontier([hashes[n] for n in step])
            for step in steps
        ]
    except KeyError as missing:
        raise LookupError(f"the hash of node {missing.args[0]} was not given") from None


def _check_index(index: int, size: int) -> None:
    _check_size(size)
    if index < 0:
        raise ProofRangeError(f"the leaf index must not be negative, got {index}")
    if index >= size:
        raise ProofRangeError(
            f"leaf index {index} is not in a tree of {size} leaves (indexes 0 to {size - 1})"
            if size
            else f"leaf index {index} is not in the empty tree"
        )


def inclusion_nodes(index: int, size: int) -> list[NodeId]:
    """Return the stored nodes the inclusion proof of leaf `index` in a tree of `size` needs.

    Fetch them all in one query and pass them to `inclusion_proof`. Raise ProofRangeError if
    the tree holds no such leaf.
    """
    _check_index(index, size)
    return _flatten(_path(0, index, size))


def inclusion_proof(index: int, size: int, hashes: Mapping[NodeId, bytes]) -> list[bytes]:
    """Return the RFC 9162 inclusion proof (audit path) of leaf `index` in a tree of `size`.

    `hashes` must hold at least the nodes `inclusion_nodes(index, size)` names; a missing one
    raises LookupError (storage lost a node: not the caller's fault). Bottom-up, as the RFC
    orders it and `verify_inclusion` reads it.
    """
    _check_index(index, size)
    return _build(_path(0, index, size), hashes)


def _consistency_steps(old: int, new: int) -> list[_Step]:
    _check_size(old, "old tree size")
    _check_size(new, "new tree size")
    if old > new:
        raise ProofRangeError(f"the old tree size {old} is larger than the new one, {new}")
    if old == 0 or old == new:
        return []
    # The largest complete subtree ending at `old`, then its path in the tree of `new`:
    # RFC 9162's SUBPROOF, whose first hash is left out when `old` is a power of two (the
    # verifier holds it: it is the old root).
    level = (old & -old).bit_length() - 1
    index = (old - 1) >> level
    steps = _path(level, index, new)
    return steps if index == 0 else [((level, index),), *steps]


def consistency_nodes(old: int, new: int) -> list[NodeId]:
    """Return the stored nodes the consistency proof from `old` to `new` leaves needs.

    None when `old` is 0 or equals `new` (the proof is empty). Raise ProofRangeError if
    `old` > `new` or either is negative.
    """
    return _flatten(_consistency_steps(old, new))


def consistency_proof(old: int, new: int, hashes: Mapping[NodeId, bytes]) -> list[bytes]:
    """Return the RFC 9162 consistency proof from a tree of `old` leaves to one of `new`.

    `hashes` must hold the nodes `consistency_nodes(old, new)` names (LookupError if not).
    Empty when `old` is 0 or equals `new`.
    """
    return _build(_consistency_steps(old, new), hashes)


def _hashes_ok(*values: bytes) -> bool:
    return all(isinstance(v, bytes) and len(v) == HASH_SIZE for v in values)


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Check an inclusion proof by RFC 9162, section 2.1.3.2; False for anything wrong.

    `leaf` is the leaf's hash. Untrusted input never raises: an index outside the tree, a
    hash of the wrong length or a proof of the wrong length is simply a failed proof.
    Take `size` and `root` together from one signed checkpoint: the algorithm does not bind
    the size to the root (the same proof and root also pass at some other sizes).
    """
    if index < 0 or index >= size or not _hashes_ok(leaf, root, *proof):
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _sha256(_NODE + p + r).digest()
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _sha256(_NODE + r + p).digest()
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Check a consistency proof by RFC 9162, section 2.1.4.2; False for anything wrong.

    The RFC defines proofs for 0 < old < new. At the edges: `old` == `new` holds with an
    empty proof and equal roots; `old` == 0 holds with an empty proof when `old_root` is the
    empty tree's root. Untrusted input never raises. As with `verify_inclusion`, each size
    must come with its root from a signed checkpoint: the algorithm does not bind them.
    """
    if old < 0 or old > new or not _hashes_ok(old_root, new_root, *proof):
        return False
    if old == new:
        return not proof and old_root == new_root
    if old == 0:
        return not proof and old_root == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if old & (old - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = _sha256(_NODE + c + fr).digest()
            sr = _sha256(_NODE + c + sr).digest()
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = _sha256(_NODE + sr + c).digest()
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0
