"""The one training loop and the one batched predict-and-score routine, shared by teacher fine-tuning,
distillation and the benchmark. A model here is anything with `forward(input_ids, attention_mask,
word_pos=None) -> logits` (kdbench.encoding gives the inputs); what differs between callers comes in as
functions: how a batch's loss is computed, how validation is scored.
"""

import copy
import math
import random
import time

import numpy as np
import torch
from torch.nn import functional as F
from tqdm import tqdm

from kdbench import metrics
from kdbench.errors import KdbenchError
from kdbench.tasks import decode, gold_labels, record_labels


def seed_everything(seed, threads):
    """Seeds, intra-op threads and deterministic kernels: with the same params and seed, a CPU run gives the
    same bytes (reductions split over another number of threads round differently, so threads is fixed)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    # torch.use_deterministic_algorithms(True, warn_only=True) without its other half, Inductor's deterministic
    # mode: importing Inductor costs a second a process, and nothing here compiles with it
    torch._C._set_deterministic_algorithms(True, warn_only=True)


def record_length(r):
    """A prepared record's length: words for tagging, characters for text (what batches are sorted by, and
    what the unlabeled pool's length filter compares)."""
    return len(r["tokens"]) if "tokens" in r else len(r["text"]) + len(r.get("text_b", ""))


def length_batches(lengths, batch_size, rng):
    """Shuffled batches of indices of similar length: on a CPU, padding is most of the cost of a batch."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    batches = []
    for start in range(0, len(order), batch_size * 50):
        chunk = sorted(order[start:start + batch_size * 50], key=lambda i: lengths[i])
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def budget(examples, batch_size, epochs, min_steps):
    """Epochs to train: `epochs`, or more when that many passes over `examples` give fewer than `min_steps`
    optimizer steps. A budget counted in epochs alone starves a task of 71 sentences (15 steps in 3 epochs)
    while fitting one of 11,000; the floor lets the small task reach what the large one gets."""
    per_epoch = math.ceil(examples / batch_size)
    return max(epochs, math.ceil(min_steps / per_epoch)) if per_epoch else epochs


class Diverged(KdbenchError):
    """A NaN or infinite training or validation loss: `fit` stops at once (the learning rate is too high,
    most likely). One line naming the run, the epoch and the step; `detail` is the line without the run and
    the hint (what an lr sweep logs for a rate that lost)."""

    def __init__(self, run, what, value, epoch, step, hint):
        self.run, self.what, self.value, self.epoch, self.step, self.hint = run, what, value, epoch, step, hint
        self.detail = f"the {what} is {value} at epoch {epoch} (step {step})"
        super().__init__(f"{run}: {self.detail}: {hint}" if hint else f"{run}: {self.detail}")


MAXIMISED = frozenset({"macro_f1"})  # validation scores early stopping maximises; it minimises the others


def improves(monitor, value, best):
    """Whether `value` of the validation score `monitor` is better than `best` (None: nothing yet)."""
    return best is None or (value > best if monitor in MAXIMISED else value < best)


def fit(model, lengths, batch_loss, validate, optimizer, *, epochs, patience, batch_size, seed, scheduler=None,
        monitor="loss", also=(), desc="train", log=print, run=None, hint="lower the learning rate"):
    """Train `model` with early stopping on a validation score and restore its best weights; returns the history
    (one dict per epoch: train_loss and every validation score as valid_<name>).

    lengths: one per training example; batch_loss(indices) -> the scalar loss of those examples;
    validate() -> validation scores, `monitor` (the one early stopping watches: a loss, or a task score of
    MAXIMISED) among them, and those of `also`: scores that keep training going while they improve (patience
    runs out only when none of them nor `monitor` improved for `patience` epochs), though the weights kept are
    still those of the best `monitor`. Gradients are clipped to norm 1.
    A NaN or infinite loss, in training or validation, raises Diverged naming `run` (default: desc), the
    epoch and the step, with `hint` (what to change) at the end."""
    rng = random.Random(seed)
    best, bests, bad_epochs, history, step = None, {}, 0, [], 0
    for epoch in range(1, epochs + 1):
        model.train()
        total, batches = 0.0, length_batches(lengths, batch_size, rng)
        bar = tqdm(batches, desc=f"{desc} epoch {epoch}/{epochs}", leave=False, disable=None)
        for idx in bar:
            step += 1
            loss = batch_loss(idx)
            if not torch.isfinite(loss.detach()).all():  # reads the loss only: no op or RNG draw changes
                bar.close()
                raise Diverged(run or desc, "loss", loss.item(), epoch, step, hint)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            total += loss.item()
            bar.set_postfix(loss=f"{loss.item():.3f}")
        scores = validate()
        if not math.isfinite(scores[monitor]):
            raise Diverged(run or desc, f"validation {monitor.replace('_', ' ')}", scores[monitor], epoch, step, hint)
        history.append(dict(epoch=epoch, train_loss=total / max(1, len(batches)),
                            **{f"valid_{k}": v for k, v in scores.items()}))
        watched = "" if monitor == "macro_f1" else f"valid {monitor.replace('_', ' ')} {scores[monitor]:.4f}, "
        log(f"{desc} epoch {epoch}: train loss {history[-1]['train_loss']:.4f}, {watched}"
            f"valid macro F1 {scores['macro_f1']:.4f}")
        improved = [k for k in (monitor, *also) if improves(k, scores[k], bests.get(k))]
        bests.update({k: scores[k] for k in improved})
        if monitor in improved:
            best = copy.deepcopy(model.state_dict())
        if improved:
            bad_epochs = 0
        else:
            bad_epochs += 1
            if bad_epochs >= patience:
                break
    model.load_state_dict(best)
    model.eval()
    return history


def torch_forward(model, device="cpu"):
    """`forward(*inputs) -> numpy logits` of a torch model, in eval mode and without autograd."""
    def forward(*inputs):
        model.eval()
        with torch.inference_mode():
            return model(*(None if x is None else x.to(device) for x in inputs)).float().cpu().numpy()
    return forward


def predict(encode, forward, records, batch_size, desc=None):
    """(per-record logits in input order, seconds spent in `forward`). Batches are sorted by length;
    encode(records) -> model inputs; forward(*inputs) -> numpy logits (B, L), (B, aspects, L) or (B, W, L).
    A tagging record keeps one row per word (words cut off by max_length have all-zero rows)."""
    out, seconds = [None] * len(records), 0.0
    order = sorted(range(len(records)), key=lambda i: record_length(records[i]))
    for start in tqdm(range(0, len(order), batch_size), desc=desc, leave=False, disable=None if desc else True):
        idx = order[start:start + batch_size]
        inputs = encode([records[i] for i in idx])
        t0 = time.perf_counter()
        logits = forward(*inputs)
        seconds += time.perf_counter() - t0
        for j, i in enumerate(idx):
            out[i] = logits[j, : len(records[i]["tokens"])] if "tokens" in records[i] else logits[j]
    return out, seconds


def evaluate(logits, records, kind, labels):
    """(scores, predicted labels) of per-record logits: cross-entropy against the gold labels (`loss`, what
    early stopping watches) and the task's metrics (macro F1, accuracy)."""
    index = {label: i for i, label in enumerate(labels)}
    flat = torch.from_numpy(np.concatenate([np.reshape(x, (-1, len(labels))) for x in logits]))
    gold_ids = torch.tensor([index[g] for r in records for g in record_labels(kind, r)])
    loss = float(F.cross_entropy(flat, gold_ids))
    pred = [decode(x, labels, kind) for x in logits]
    return dict(loss=loss, **metrics.score(kind, [gold_labels(r, kind) for r in records], pred)), pred
