"""The `teacher` stage: fine-tune a pretrained encoder on one task with early stopping on validation loss,
then score it, and a non-neural reference, on valid and test."""

import dataclasses
import math
from pathlib import Path

import torch
from torch.nn import functional as F
from transformers import AutoModel, get_linear_schedule_with_warmup

from kdbench import reference, stats
from kdbench.data.prepare import load_prepared
from kdbench.encoding import load_tokenizer
from kdbench.io import atomic_path, write_json
from kdbench.tasks import gold_labels
from kdbench.teacher.backbone import backbone_defaults
from kdbench.teacher.model import Teacher
from kdbench.trainer import budget, evaluate, fit, predict, record_length, seed_everything, torch_forward

EVAL_BATCH = 64


def resolve_device(device):
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def loss_fn(logits, targets):
    """Cross-entropy for every kind: (B, L), (B, aspects, L) and (B, W, L) all flatten to rows."""
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-100)


def score(model, records, device="cpu", desc=None):
    """(scores, predicted labels) of the teacher on prepared records."""
    logits, _ = predict(model.encode, torch_forward(model, device), records, EVAL_BATCH, desc)
    return evaluate(logits, records, model.kind, model.labels)


def build(backbone_dir, meta, cfg):
    encoder = AutoModel.from_pretrained(backbone_dir)
    tokenizer = load_tokenizer(backbone_dir)
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


def lr_hint(task):
    """What to change when the teacher's loss diverges."""
    return f"lower the learning rate (teacher.lr and teacher.head_lr, or tasks.{task}.teacher.lr)"


def train_teacher(backbone_dir, meta, train, valid, cfg, log=print, run="teacher", hint="lower the learning rate"):
    """Fine-tune; returns (best model by validation loss, history). A NaN or infinite loss raises
    kdbench.trainer.Diverged naming `run`, with `hint`."""
    seed_everything(cfg.seed, cfg.threads)
    device = resolve_device(cfg.device)
    model = build(backbone_dir, meta, cfg).to(device)
    head = list(model.head.parameters())
    body = [p for n, p in model.named_parameters() if p.requires_grad and not n.startswith("head.")]
    # the new head learns faster than the pretrained body (taggers stalled with one small lr in probes)
    optimizer = torch.optim.AdamW([{"params": body, "lr": cfg.lr}, {"params": head, "lr": cfg.head_lr}],
                                  weight_decay=cfg.weight_decay)
    epochs = budget(len(train), cfg.batch_size, cfg.epochs, cfg.min_steps)
    steps = epochs * math.ceil(len(train) / cfg.batch_size)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(cfg.warmup * steps), steps)

    def batch_loss(idx):
        batch = [train[i] for i in idx]
        input_ids, attention_mask, word_pos = model.encode(batch)
        targets = model.targets(batch, word_pos)
        word_pos = None if word_pos is None else word_pos.to(device)
        return loss_fn(model(input_ids.to(device), attention_mask.to(device), word_pos), targets.to(device))

    history = fit(model, [record_length(r) for r in train], batch_loss, lambda: score(model, valid, device)[0],
                  optimizer, epochs=epochs, patience=cfg.patience, batch_size=cfg.batch_size, seed=cfg.seed,
                  scheduler=scheduler, desc="teacher", log=log, run=run, hint=hint)
    return model, history


def resolve_auto(cfg, backbone_dir):
    """Fill `auto` prefix/pooling with what the backbone was trained with."""
    defaults = backbone_defaults(backbone_dir)
    return dataclasses.replace(cfg, prefix=defaults["prefix"] if cfg.prefix == "auto" else cfg.prefix,
                               pooling=defaults["pooling"] if cfg.pooling == "auto" else cfg.pooling)


def recipe(cfg):
    """The teacher block as run, without the checkpoint and logits keys when they are unused: a fine-tuned
    teacher's files stay byte for byte what they were before either existed."""
    settings = dataclasses.asdict(cfg)
    if not cfg.logits:  # likewise for a logits file
        del settings["logits"]
    if not cfg.checkpoint and not cfg.logits:
        del settings["checkpoint"], settings["label_map"]
    return settings


def run_teacher(task, cfg, prepared_dir, backbone_dir, out_dir, metrics_path, predictions_path, reference_dir,
                checkpoints_dir=None):
    """The `teacher` stage: fine-tune on train, select on valid loss (or take `teacher.checkpoint` as it is, or
    the logits of `teacher.logits`), score valid and test against the non-neural reference (test scores with
    bootstrap intervals), write the model directory, the reference's (benchmarked like a student), the metrics
    JSON and the test predictions of both. Nothing time-dependent is written: the same params and seed give the
    same bytes."""
    meta, splits = load_prepared(prepared_dir)
    logits = None
    if cfg.logits:
        from kdbench.teacher.logits import load_teacher
        model, logits = load_teacher(cfg.logits, checkpoints_dir, meta, splits, cfg.label_map)
        history, checkpoint = [], None
    elif cfg.checkpoint:
        from kdbench.teacher.checkpoint import files_digest, load_checkpoint, locate
        source = locate(cfg.checkpoint, checkpoints_dir)
        seed_everything(cfg.seed, cfg.threads)
        model, history = load_checkpoint(source, meta, cfg), []
        checkpoint = {"source": cfg.checkpoint, "label_map": dict(zip(
            [model.task_model.config.id2label[i] for i in model.order], meta["labels"])),
            "files_sha256": files_digest(source) if Path(source).is_dir() else None}
    else:
        cfg = resolve_auto(cfg, backbone_dir)
        model, history = train_teacher(backbone_dir, meta, splits["train"], splits["valid"], cfg,
                                       run=f"teacher {task}", hint=lr_hint(task))
        checkpoint = None
    device = resolve_device(cfg.device)
    model = model.to(device)
    scores, pred = {}, {}
    for s in ("valid", "test"):
        scores[s], pred[s] = score(model, splits[s], device)
    gold = [gold_labels(r, meta["kind"]) for r in splits["test"]]
    scores["test"]["interval"] = stats.interval(meta["kind"], gold, pred["test"])
    ref_model = reference.fit_reference(meta["kind"], splits["train"])
    ref = reference.reference_scores(ref_model, splits["test"])
    with atomic_path(out_dir, is_dir=True) as tmp:
        model.save(tmp, backbone_dir, final_dir=out_dir)  # a frozen word table stays the backbone's
        write_json(tmp / "training_config.json", recipe(cfg))  # the resolved recipe, with the model
    report = {
        "task": task, "kind": meta["kind"], "backbone": None if checkpoint or logits else cfg.backbone,
        **({"checkpoint": checkpoint} if checkpoint else {}), **({"logits": logits} if logits else {}),
        "train_size": len(splits["train"]),
        "valid": scores["valid"], "test": scores["test"],
        "reference": {"name": ref["name"], "test_macro_f1": ref["macro_f1"], "test_accuracy": ref["accuracy"],
                      "test_interval": ref["interval"]},
        # the teacher is only worth distilling when it beats the non-neural reference on the same split
        "beats_reference": scores["test"]["macro_f1"] > ref["macro_f1"],
        "epochs_run": len(history), "device": device, "settings": recipe(cfg), "history": history,
    }
    reference.save_reference(ref_model, reference_dir)
    write_json(metrics_path, report)
    write_json(predictions_path, {"gold": gold, "teacher": pred["test"], "reference": ref["pred"]})
    return report
