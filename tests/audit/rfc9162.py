"""RFC 9162's Merkle Tree Hash, audit paths and consistency proofs, as section 2.1 writes them.

An independent reference for tests/audit: recursive, slow (it rehashes whole subtrees) and
sharing no code with gateway/audit/merkle.py, so that a mistake there shows as a difference
here. D is a list of leaf inputs d[0..n-1] (bytes); every function follows the RFC's
definition line by line, with its names.
"""

from __future__ import annotations

import hashlib


def HASH(data: bytes) -> bytes:  # noqa: N802 (the RFC's name)
    return hashlib.sha256(data).digest()


def largest_power_of_two_below(n: int) -> int:
    """k: the largest power of two smaller than n (n > 1), as the RFC uses it."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def MTH(D: list[bytes]) -> bytes:  # noqa: N802, N803
    """2.1.1: MTH({}) = HASH(); MTH({d0}) = HASH(0x00 || d0); else split at k."""
    n = len(D)
    if n == 0:
        return HASH(b"")
    if n == 1:
        return HASH(b"\x00" + D[0])
    k = largest_power_of_two_below(n)
    return HASH(b"\x01" + MTH(D[0:k]) + MTH(D[k:n]))


def PATH(m: int, D: list[bytes]) -> list[bytes]:  # noqa: N802, N803
    """2.1.3.1: the audit path of leaf m in D_n, 0 <= m < n."""
    n = len(D)
    if n == 1 and m == 0:
        return []
    k = largest_power_of_two_below(n)
    if m < k:
        return PATH(m, D[0:k]) + [MTH(D[k:n])]
    return PATH(m - k, D[k:n]) + [MTH(D[0:k])]


def PROOF(m: int, D: list[bytes]) -> list[bytes]:  # noqa: N802, N803
    """2.1.4.1: the consistency proof of MTH(D[0:m]) to MTH(D_n), 0 < m < n."""
    return SUBPROOF(m, D, True)


def SUBPROOF(m: int, D: list[bytes], b: bool) -> list[bytes]:  # noqa: N802, N803
    n = len(D)
    if m == n:
        return [] if b else [MTH(D)]
    k = largest_power_of_two_below(n)
    if m <= k:
        return SUBPROOF(m, D[0:k], b) + [MTH(D[k:n])]
    return SUBPROOF(m - k, D[k:n], False) + [MTH(D[0:k])]
