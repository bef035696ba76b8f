"""Hadamard matrices as R's survey package makes them for BRR (``R/surveyrep.R``
``hadamard()``, ``R/paley.R`` ``paley()``, survey 4.1-1), so that balanced repeated replicates
equal R's column for column.

Matrices are 0/1 (R's convention: 1 where a +-1 Hadamard matrix has +1). R keeps four
precooked matrices (orders 4, 16, 28 and 36, its ``hadamard.list``, copied below from
``survey:::hadamard.list`` of survey 4.1-1), builds others by Paley's construction or by
doubling ``H -> [[H, H], [H, 1 - H]]``.
"""

from __future__ import annotations

import numpy as np

# survey:::hadamard.list (survey 4.1-1), one string per row
_PRECOOKED_ROWS = (
    (
        "1111",
        "1010",
        "1100",
        "1001",
    ),
    (
        "1111111111111111",
        "1010101010101010",
        "1100110011001100",
        "1001100110011001",
        "1111000011110000",
        "1010010110100101",
        "1100001111000011",
        "1001011010010110",
        "1111111100000000",
        "1010101001010101",
        "1100110000110011",
        "1001100101100110",
        "1111000000001111",
        "1010010101011010",
        "1100001100111100",
        "1001011001101001",
    ),
    (
        "1111111111111111111111111111",
        "1001110001110001110001111000",
        "1000001111001101001101111000",
        "1000001110110010111001100110",
        "1001101000001111100011010110",
        "1001010100101100010110101110",
        "1000110011010010001110011110",
        "0101100010101010011111110000",
        "0100010110110101100111010100",
        "0100011011001011110010101100",
        "0101011000010111011101001010",
        "0100101101100100111010011010",
        "0101100101011001101100100110",
        "0010110100011110101011101000",
        "0011011001100110101100110100",
        "0010101100111011010100011100",
        "0011000111010111010010110010",
        "0011001011111000100111001010",
        "0010110011101101011001000110",
        "1110101001010100010111100100",
        "1111000101100011001011001100",
        "1111000010011100111000011100",
        "1110010101001010110101010010",
        "1110011000111001001010110010",
        "1110100010100111100100101010",
        "1101111111111110000000000000",
        "1011111110000001111110000000",
        "0111111110000000000001111110",
    ),
    (
        "111111111111111111111111111111111111",
        "010111000111110111001000010101100100",
        "101110001111101110010000101011001000",
        "011100011111011100100001010110010010",
        "111000111110111001000010101100100100",
        "110001111101110010000101011001001010",
        "100011111011100100001010110010010110",
        "000111110111001000010101100100101110",
        "001111101110010000101011001001011100",
        "011111011100100001010110010010111000",
        "111110111001000010101100100101110000",
        "111101110010000101011001001011100010",
        "111011100100001010110010010111000110",
        "110111001000010101100100101110001110",
        "101110010000101011001001011100011110",
        "011100100001010110010010111000111110",
        "111001000010101100100101110001111100",
        "110010000101011001001011100011111010",
        "100100001010110010010111000111110110",
        "001000010101100100101110001111101110",
        "010000101011001001011100011111011100",
        "100001010110010010111000111110111000",
        "000010101100100101110001111101110010",
        "000101011001001011100011111011100100",
        "001010110010010111000111110111001000",
        "010101100100101110001111101110010000",
        "101011001001011100011111011100100000",
        "010110010010111000111110111001000010",
        "101100100101110001111101110010000100",
        "011001001011100011111011100100001010",
        "110010010111000111110111001000010100",
        "100100101110001111101110010000101010",
        "001001011100011111011100100001010110",
        "010010111000111110111001000010101100",
        "100101110001111101110010000101011000",
        "001011100011111011100100001010110010",
    ),
)
PRECOOKED = tuple(np.array([[int(c) for c in row] for row in rows], dtype=np.int64)
                  for rows in _PRECOOKED_ROWS)
SIZES = np.array([len(h) for h in PRECOOKED])

# primes p with p + 1 a multiple of 4, up to 7919 (R's paley() list: those are all there are)
_PALEY_MAX = 7919


def _paley_primes() -> np.ndarray:
    sieve = np.ones(_PALEY_MAX + 1, dtype=bool)
    sieve[:2] = False
    for i in range(2, int(_PALEY_MAX ** 0.5) + 1):
        if sieve[i]:
            sieve[i * i::i] = False
    primes = np.flatnonzero(sieve)
    return primes[(primes + 1) % 4 == 0]


PALEY_PRIMES = _paley_primes()


def double(h: np.ndarray) -> np.ndarray:
    """R's ``hadamard.doubler``: ``[[H, H], [H, 1 - H]]``."""
    return np.block([[h, h], [h, 1 - h]])


def hadamard(n: int) -> np.ndarray:
    """R's ``hadamard(n)``: a 0/1 Hadamard matrix with more than ``n`` rows (row 1 and column
    1 all ones; BRR uses rows ``2..n+1``)."""
    m = n - n % 4
    precooked = np.flatnonzero((m < SIZES) & (m + 4 >= SIZES))
    if len(precooked):
        return PRECOOKED[int(precooked.min())].copy()
    if (m < SIZES).all():
        return PRECOOKED[0].copy()
    with np.errstate(divide="ignore"):
        exponent = np.maximum(0, np.ceil(np.log2((n + 1) / SIZES)))
    sizes = SIZES * 2 ** exponent.astype(np.int64)
    best = int(np.argmin(sizes - n))
    h = None
    if sizes[best] - n > 4:
        h = paley(n, int(sizes[best]))
    if h is None:
        doublings = int(np.ceil(np.log2(sizes[best] / SIZES[best])))
        h = PRECOOKED[best].copy()
        for _ in range(doublings):
            h = double(h)
    return h


def paley(n: int, nmax: int | None = None, prime: int | None = None) -> np.ndarray | None:
    """R's ``paley(n, nmax)``: Paley's construction over GF(p), doubled as R does; ``None``
    where R returns ``NULL``."""
    nmax = 2 * n if nmax is None else nmax
    if prime is None:
        nceil = nn = n + 4 - n % 4
        if n % 4 + 4 == n % 8:
            while nn % 8 == 0:
                nn //= 2
            if nn - 1 in PALEY_PRIMES:
                m = paley(nn - 1, prime=nn - 1)
                while nn < nceil:
                    m = double(m)
                    nn *= 2
                return m
        if n > PALEY_PRIMES.max():
            return None
        p = int(PALEY_PRIMES[PALEY_PRIMES >= n].min())
        if p + 1 > nceil + 4 and nceil + 4 < nmax:
            return paley(nceil + 3)
        if p > nmax:
            return None
    else:
        p = prime
    m = np.add.outer(np.arange(p), np.arange(p)) % p
    residues = [0, 1] + [(i * i) % p for i in range(2, (p - 1) // 2 + 1)]
    m = np.where(np.isin(m, residues), 0, 1)
    out = np.ones((p + 1, p + 1), dtype=np.int64)
    out[1:, 1:] = m
    return out
