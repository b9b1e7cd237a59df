"""A loaded model's vocabulary: text to token ids, and each id back to its bytes."""

from __future__ import annotations

import ctypes
from typing import Any

import llama_cpp


class Vocabulary:
    """Tokenizes prompts and spells tokens for one loaded ``llama_cpp.Llama``.

    Each token's bytes are cached: the vocabulary never changes, and a reply asks for the
    same few thousand pieces over and over.
    """

    def __init__(self, llama: Any, ignore_eos: bool = False) -> None:
        self._llama = llama
        self._vocab = llama._model.vocab
        self._ignore_eos = ignore_eos
        self._pieces: dict[int, bytes] = {}
        self._spelled: dict[int, bytes] = {}

    def tokenize(self, text: str) -> list[int]:
        """Token ids of rendered prompt text (special tokens as the tokenizer reads them)."""
        if not text:
            return []
        # The Jinja template writes the BOS token itself when the model wants one.
        tokens: list[int] = self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        return tokens

    def piece(self, token: int) -> bytes:
        """The raw bytes of one token, as a reply shows it."""
        piece = self._pieces.get(token)
        if piece is None:
            piece = self._pieces[token] = self._token_bytes(token, special=False)
        return piece

    def spelled(self, token: int) -> bytes:
        """One token's bytes with special tokens written out, as the tokenizer reads them."""
        piece = self._spelled.get(token)
        if piece is None:
            piece = self._spelled[token] = self._token_bytes(token, special=True)
        return piece

    def _token_bytes(self, token: int, special: bool) -> bytes:
        buffer = ctypes.create_string_buffer(64)
        size = llama_cpp.llama_token_to_piece(self._vocab, token, buffer, len(buffer), 0, special)
        return buffer.raw[: max(size, 0)]

    def is_end_of_generation(self, token: int) -> bool:
        """True for end-of-turn tokens (unless told to ignore them, for benchmarks)."""
        if self._ignore_eos:
            return False
        return bool(llama_cpp.llama_vocab_is_eog(self._vocab, token))
