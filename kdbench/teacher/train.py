"""Fine-tune a teacher on one task, with early stopping on validation loss."""

import copy
import math
import random
import time

import numpy as np
import torch
from torch.nn import functional as F
from tqdm import tqdm
from transformers import AutoModel, AutoTokenizer, get_linear_schedule_with_warmup

from kdbench import metrics
from kdbench.tasks import decode, gold_labels
from kdbench.teacher.model import Teacher


def resolve_device(device):
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def record_length(r):
    return len(r["tokens"]) if "tokens" in r else len(r["text"]) + len(r.get("text_b", ""))


def length_batches(records, batch_size, rng):
    """Shuffled batches of similar length: on a CPU, padding is most of the cost of a batch."""
    order = list(range(len(records)))
    rng.shuffle(order)
    batches = []
    for start in range(0, len(order), batch_size * 50):
        chunk = sorted(order[start:start + batch_size * 50], key=lambda i: record_length(records[i]))
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def loss_fn(logits, targets):
    """Cross-entropy for every kind: (B, L), (B, aspects, L) and (B, W, L) all flatten to rows."""
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-100)


@torch.no_grad()
def predict(model, records, batch_size=64, desc="predict"):
    """Logits per record, in input order: (L,), (aspects, L) or (words, L) numpy arrays. Tagging words
    cut off by max_length get all-zero logits (see `truncated`)."""
    model.eval()
    device = next(model.parameters()).device
    out = [None] * len(records)
    order = sorted(range(len(records)), key=lambda i: record_length(records[i]))
    for start in tqdm(range(0, len(order), batch_size), desc=desc, leave=False):
        idx = order[start:start + batch_size]
        batch = [records[i] for i in idx]
        enc, word_pos = model.encode(batch)
        logits = model(enc.to(device), None if word_pos is None else word_pos.to(device)).float().cpu().numpy()
        for j, i in enumerate(idx):
            out[i] = logits[j, : len(records[i]["tokens"])] if model.is_tagging else logits[j]
    return out


def evaluate(model, records, labels, kind, batch_size=64):
    """Loss and scores of `model` on prepared records; also returns the logits."""
    logits = predict(model, records, batch_size)
    gold = [gold_labels(r, kind) for r in records]
    index = {label: i for i, label in enumerate(labels)}
    gold_ids = torch.tensor([index[g] for item in gold for g in ([item] if isinstance(item, str) else item)])
    flat_logits = torch.from_numpy(np.concatenate([np.reshape(x, (-1, len(labels))) for x in logits]))
    loss = float(F.cross_entropy(flat_logits, gold_ids))
    pred = [decode(x, labels, kind) for x in logits]
    return dict(loss=loss, **metrics.score(kind, gold, pred)), logits


def build(backbone_dir, meta, cfg):
    encoder = AutoModel.from_pretrained(backbone_dir)
    tokenizer = AutoTokenizer.from_pretrained(backbone_dir)
    if cfg.num_layers and cfg.num_layers < encoder.config.num_hidden_layers:
        # keep only the lowest layers: a cheaper teacher (the study's teacher keeps all 12)
        encoder.encoder.layer = encoder.encoder.layer[: cfg.num_layers]
        encoder.config.num_hidden_layers = cfg.num_layers
    model = Teacher(encoder, tokenizer, meta["kind"], meta["labels"], meta.get("aspects"), cfg.pooling,
                    cfg.prefix, cfg.max_length)
    if cfg.freeze_embeddings:
        encoder.embeddings.requires_grad_(False)
    for layer in encoder.encoder.layer[: cfg.freeze_layers]:
        layer.requires_grad_(False)
    return model


def train_teacher(backbone_dir, meta, train, valid, cfg, log=print):
    """Fine-tune; returns (best model by validation loss, history)."""
    seed_everything(cfg.seed)
    device = resolve_device(cfg.device)
    model = build(backbone_dir, meta, cfg).to(device)
    head = list(model.head.parameters())
    body = [p for n, p in model.named_parameters() if p.requires_grad and not n.startswith("head.")]
    # the new head learns faster than the pretrained body (taggers stalled with one small lr in probes)
    optimizer = torch.optim.AdamW([{"params": body, "lr": cfg.lr}, {"params": head, "lr": cfg.head_lr}],
                                  weight_decay=cfg.weight_decay)
    steps = cfg.epochs * math.ceil(len(train) / cfg.batch_size)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(cfg.warmup * steps), steps)
    rng = random.Random(cfg.seed)
    best, best_loss, bad_epochs, history = None, math.inf, 0, []
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        t0, total = time.time(), 0.0
        bar = tqdm(length_batches(train, cfg.batch_size, rng), desc=f"teacher epoch {epoch}/{cfg.epochs}")
        for batch_idx in bar:
            batch = [train[i] for i in batch_idx]
            enc, word_pos = model.encode(batch)
            targets = model.targets(batch, word_pos)
            logits = model(enc.to(device), None if word_pos is None else word_pos.to(device))
            loss = loss_fn(logits, targets.to(device))
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            total += loss.item()
            bar.set_postfix(loss=f"{loss.item():.3f}")
        scores, _ = evaluate(model, valid, meta["labels"], meta["kind"])
        row = dict(epoch=epoch, train_loss=total / max(1, len(bar)), seconds=round(time.time() - t0, 1),
                   **{f"valid_{k}": v for k, v in scores.items()})
        history.append(row)
        log(f"epoch {epoch}: " + ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                                           for k, v in row.items()))
        if scores["loss"] < best_loss:
            best, best_loss, bad_epochs = copy.deepcopy(model.state_dict()), scores["loss"], 0
        else:
            bad_epochs += 1
            if bad_epochs >= cfg.patience:
                break
    model.load_state_dict(best)
    return model.eval(), history


def resolve_auto(cfg, backbone_dir):
    """Fill `auto` prefix/pooling with what the backbone was trained with."""
    from kdbench.teacher.backbone import backbone_defaults
    defaults = backbone_defaults(backbone_dir)
    if cfg.prefix == "auto":
        cfg.prefix = defaults["prefix"]
    if cfg.pooling == "auto":
        cfg.pooling = defaults["pooling"]
    return cfg


def run_teacher(task, cfg, prepared_dir, backbone_dir, out_dir, metrics_path):
    """The `teacher` stage: fine-tune on train, select on valid loss, score valid and test against the
    non-neural reference, write the model directory and the metrics JSON."""
    import dataclasses

    from kdbench import reference
    from kdbench.data.prepare import load_prepared
    from kdbench.io import atomic_path, write_json

    meta, splits = load_prepared(prepared_dir)
    cfg = resolve_auto(cfg, backbone_dir)
    t0 = time.time()
    model, history = train_teacher(backbone_dir, meta, splits["train"], splits["valid"], cfg)
    seconds = time.time() - t0
    scores = {s: evaluate(model, splits[s], meta["labels"], meta["kind"])[0] for s in ("valid", "test")}
    ref = reference.reference_scores(meta["kind"], splits["train"], splits["test"])
    with atomic_path(out_dir, is_dir=True) as tmp:
        model.save(tmp)
        write_json(tmp / "training_config.json", dataclasses.asdict(cfg))  # the resolved recipe, with the model
    report = {
        "task": task, "kind": meta["kind"], "backbone": cfg.backbone, "train_size": len(splits["train"]),
        "valid": scores["valid"], "test": scores["test"],
        "reference": {"name": ref["name"], "test_macro_f1": ref["macro_f1"], "test_accuracy": ref["accuracy"]},
        # the teacher is only worth distilling when it beats the non-neural reference on the same split
        "beats_reference": scores["test"]["macro_f1"] > ref["macro_f1"],
        "epochs_run": len(history), "train_seconds": round(seconds, 1), "device": resolve_device(cfg.device),
        "history": history,
    }
    write_json(metrics_path, report)
    return report
