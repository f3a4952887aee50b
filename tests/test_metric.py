import torch
from hypothesis import given, settings, strategies as st

from models.metric import measure, monosemanticity, sfa_order


def test_hand_made_activations():
    A = torch.tensor([
        [1.0, 0.0, 0.0, 0.0],    # mono on 0
        [0.0, 2.0, 0.0, 1e-4],   # r = 2 / 2.0001 > 0.999: mono on 1
        [0.0, 1.0, 0.01, 0.0],   # r = 0.990: poly
        [0.0, 0.0, 0.0, 0.0],    # dead
        [0.0, 0.0, 0.0, 3.0],    # mono on 3
        [0.0, 0.5, 0.0, 0.0],    # second mono neuron on 1
    ])
    m = monosemanticity(A)
    assert m.mono.tolist() == [True, True, False, False, True, True]
    assert m.dead.tolist() == [False, False, False, True, False, False]
    assert m.mono_count == 4 and m.dead_count == 1
    assert m.per_feature.tolist() == [1, 2, 0, 1]
    assert m.feature_histogram() == {"0": 1, "1": 2, "2+": 1}
    assert m.mono_per_neuron() == [0, 1, None, None, 3, 1]
    assert m.preferred.tolist()[3] == -1


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 40), n=st.integers(1, 30))
def test_metric_is_permutation_equivariant(seed, k, n):
    g = torch.Generator().manual_seed(seed)
    A = torch.relu(torch.randn(k, n, generator=g)) * (torch.rand(k, n, generator=g) < 0.3)
    pk, pn = torch.randperm(k, generator=g), torch.randperm(n, generator=g)
    m, m2 = monosemanticity(A), monosemanticity(A[pk][:, pn])
    assert m2.mono_count == m.mono_count and m2.dead_count == m.dead_count
    assert torch.equal(m2.mono, m.mono[pk])
    assert torch.equal(m2.per_feature, m.per_feature[pn])
    neurons = sfa_order(A)
    assert sorted(neurons.tolist()) == list(range(k))
    order = m.mono[neurons].tolist()
    assert order == sorted(order, reverse=True)  # monosemantic neurons first


def test_metric_refuses_non_relu():
    p = {"W1": torch.randn(4, 2), "b1": torch.zeros(4), "W2": torch.randn(3, 4)}
    assert measure(p, torch.randn(3, 2), "gelu") is None
    assert measure(p, torch.randn(3, 2), "relu") is not None
