"""Sentence embeddings: all-MiniLM-L6-v2 as int8 ONNX (models/, made by
scripts/convert_embedding_model.py), run with onnxruntime. Nothing is downloaded: the model
ships inside the package. Vectors are L2-normalised, so a dot product is a cosine."""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

MODELS = Path(__file__).parent / "models"
MODEL_FILE = MODELS / "minilm-l6-v2-int8.onnx"
TOKENIZER_FILE = MODELS / "tokenizer.json"
DIMENSIONS = 384
# The model was trained on 128-token inputs; longer text is cut (a question's start says
# what it is about; a 50,000-character paste costs no more than its first tokens).
MAX_TOKENS = 128
# Characters kept before tokenising: enough for MAX_TOKENS tokens in any script, and it keeps
# the tokenizer's own work small on huge messages.
MAX_CHARS = 2_000
BATCH = 32

Vectors = npt.NDArray[np.float32]


class Embedder:
    """Turns texts into unit vectors. Thread-safe; one per process is enough (see shared())."""

    def __init__(self, threads: int = 1) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(MODEL_FILE), options, providers=["CPUExecutionProvider"]
        )
        tokenizer = Tokenizer.from_file(str(TOKENIZER_FILE))
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.no_padding()
        self._tokenizer = tokenizer
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> Vectors:
        """One row per text, in order. Texts are batched by length: the int8 model scales its
        activations per batch, and a short text padded beside long ones loses accuracy."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch([_clip(t) for t in texts])
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), BATCH):
            chunk = order[start : start + BATCH]
            width = max(len(encodings[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.int64)
            for row, i in enumerate(chunk):
                tokens = encodings[i].ids
                ids[row, : len(tokens)] = tokens
                mask[row, : len(tokens)] = 1
            with self._lock:
                result = self._session.run(None, {"input_ids": ids, "attention_mask": mask})
            out[chunk] = np.asarray(result[0], dtype=np.float32)
        return out

    def embed_one(self, text: str) -> Vectors:
        vector: Vectors = self.embed([text])[0]
        return vector


def _clip(text: str) -> str:
    # An empty input still gets [CLS] [SEP]: a defined vector, never an error.
    return text[:MAX_CHARS]


@functools.cache
def shared() -> Embedder:
    """The process's embedder, loaded on first use (about 100 MB of memory)."""
    return Embedder()


def to_blob(vector: Vectors) -> bytes:
    """int8 storage: unit vectors scaled by 127 (one byte a dimension; cosine error below
    0.01)."""
    quantised: bytes = np.clip(np.rint(vector * 127.0), -127, 127).astype(np.int8).tobytes()
    return quantised


def from_blobs(blobs: Sequence[bytes], dimensions: int = DIMENSIONS) -> Vectors:
    """Stored vectors back as float32 rows, renormalised."""
    if not blobs:
        return np.zeros((0, dimensions), dtype=np.float32)
    matrix = np.frombuffer(b"".join(blobs), dtype=np.int8).reshape(len(blobs), dimensions)
    return normalise(matrix.astype(np.float32))


def normalise(matrix: Vectors) -> Vectors:
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    scaled: Vectors = (matrix / np.maximum(norms, 1e-9)).astype(np.float32)
    return scaled
