"""Every distillation loss against hand-computed values (2 rows x 2 labels), masks, -100 and gradients."""

import math

import pytest
import torch

from kdbench.distill.losses import get_loss, list_losses
from kdbench.errors import KdbenchError

LN3 = math.log(3.0)
# softmax([ln 3, 0]) = [3/4, 1/4]; softmax([0, 0]) = [1/2, 1/2]
# KL([3/4, 1/4] || [1/2, 1/2]) = 3/4 ln(3/2) + 1/4 ln(1/2)
KL_ROW = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)  # ~0.130812
CE_34 = -math.log(0.75)  # gold prob 3/4, ~0.287682
CE_12 = math.log(2.0)  # gold prob 1/2


def t(rows):
    return torch.tensor(rows, dtype=torch.float32)


def call(name, s, te, y, mask=None, **kw):
    mask = torch.ones(len(s), dtype=torch.bool) if mask is None else torch.tensor(mask)
    return get_loss(name)(s, te, torch.tensor(y), mask, **kw).item()


def test_mse():
    s, te = t([[1, 0], [0, 2]]), t([[0, 0], [1, 1]])
    # differences [1, 0], [-1, 1] -> squares 1, 0, 1, 1 -> mean 3/4
    assert call("mse", s, te, [0, 1]) == pytest.approx(0.75)
    # row 0 only: squares 1, 0 -> 1/2; the temperature is ignored
    assert call("mse", s, te, [0, 1], [True, False], temperature=4.0) == pytest.approx(0.5)


def test_kl():
    s, te = t([[0, 0], [0, 0]]), t([[LN3, 0], [0, 0]])
    # row 0: KL_ROW, row 1: identical -> 0; batchmean over 2 rows
    assert call("kl", s, te, [0, 1]) == pytest.approx(KL_ROW / 2)
    assert call("kl", s, te, [0, 1], [True, False]) == pytest.approx(KL_ROW)  # batchmean over 1 row
    # T = 2: teacher [2 ln 3, 0] / 2 = [ln 3, 0] -> the same KL_ROW per row, times T^2 = 4
    te2 = t([[2 * LN3, 0], [0, 0]])
    assert call("kl", s, te2, [0, 1], temperature=2.0) == pytest.approx(4 * KL_ROW / 2)


def test_ce_ignores_teacher_and_unlabeled_rows():
    s = t([[LN3, 0], [0, 0]])
    # row 0: -ln 3/4, row 1: -ln 1/2 -> mean
    assert get_loss("ce")(s, None, torch.tensor([0, 1]), torch.ones(2, dtype=torch.bool)).item() == \
        pytest.approx((CE_34 + CE_12) / 2)
    assert call("ce", s, s, [0, -100]) == pytest.approx(CE_34)  # the pool row has no gold
    assert call("ce", s, s, [0, 1], [False, True]) == pytest.approx(CE_12)


def test_mse_ce():
    s, te = t([[LN3, 0], [0, 0]]), t([[LN3, 0], [1, -1]])
    # mse over both rows: squares 0, 0, 1, 1 -> 1/2; ce on row 0 only (row 1 is a pool row): -ln 3/4
    # 0.25 * 0.287682 + 0.75 * 0.5 = 0.446921
    assert call("mse+ce", s, te, [0, -100], alpha=0.25) == pytest.approx(0.25 * CE_34 + 0.75 * 0.5)


def test_kl_ce():
    s, te = t([[LN3, 0], [0, 0]]), t([[LN3, 0], [LN3, 0]])
    # kl: row 0 identical -> 0, row 1 KL_ROW -> batchmean KL_ROW / 2; ce on row 0 only: -ln 3/4
    assert call("kl+ce", s, te, [0, -100], alpha=0.5) == pytest.approx(0.5 * CE_34 + 0.5 * KL_ROW / 2)
    assert call("kl+ce", s, te, [0, -100], alpha=1.0) == pytest.approx(CE_34)


def test_masked_rows_are_ignored():
    s, te = t([[1, 0], [100, -100]]), t([[0, 0], [0, 0]])
    for name in list_losses():
        a = call(name, s[:1], te[:1], [0])
        b = call(name, s, te, [0, 1], [True, False])
        assert a == pytest.approx(b), name


@pytest.mark.parametrize("name", list_losses())
def test_gradients_flow(name):
    torch.manual_seed(0)
    s = torch.randn(5, 3, requires_grad=True)
    te = torch.randn(5, 3, requires_grad=True)
    y = torch.tensor([0, 2, -100, 1, -100])
    mask = torch.tensor([True, True, True, False, True])
    loss = get_loss(name)(s, te, y, mask, temperature=2.0, alpha=0.3)
    loss.backward()
    assert loss.dim() == 0 and torch.isfinite(loss)
    assert torch.isfinite(s.grad).all() and s.grad[:3].abs().sum() > 0
    assert s.grad[3].abs().sum() == 0  # masked row
    assert te.grad is None  # the teacher is a fixed target


@pytest.mark.parametrize("name", list_losses())
def test_no_usable_rows_gives_zero_not_nan(name):
    s = torch.randn(2, 3, requires_grad=True)
    loss = get_loss(name)(s, torch.randn(2, 3), torch.tensor([-100, -100]), torch.tensor([False, False]))
    loss.backward()
    assert loss.item() == 0.0 and torch.isfinite(s.grad).all()


def test_unknown_loss_lists_names():
    with pytest.raises(KdbenchError, match="mse, kl, ce, mse\\+ce, kl\\+ce"):
        get_loss("l1")
