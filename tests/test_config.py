import pytest
from hypothesis import given, strategies as st

from models.config import PRESETS, ConfigError, TrainConfig, coerce, preset


def test_defaults_are_the_paper_shape():
    c = TrainConfig()
    assert (c.n_features, c.d_embed, c.k, c.eps) == (512, 64, 1024, 1 / 64)
    assert c.out_dim == 512 and TrainConfig(task="reprojector").out_dim == 64


@pytest.mark.parametrize("field,value", [
    ("task", "foo"), ("k", 0), ("n_features", -3), ("d_embed", 0), ("steps", 0), ("batch", -1),
    ("eps", 0.0), ("eps", 1.5), ("lr", 0.0), ("lr", -1e-3), ("nonlinearity", "tanh"), ("optimizer", "sgd"),
    ("schedule", "linear"), ("bias_init", "zero"), ("bias_decay", -1.0), ("l1", -0.1), ("freq", "zipf"),
    ("device", "tpu"), ("d_embed", 1024), ("seed", -1),
])
def test_bad_values_are_refused_with_a_one_line_message(field, value):
    with pytest.raises(ConfigError) as e:
        TrainConfig(**{field: value})
    assert "\n" not in str(e.value) and str(e.value)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_eps_valid_exactly_in_unit_interval(eps):
    if 0 < eps <= 1:
        assert TrainConfig(eps=eps).eps == eps
    else:
        with pytest.raises(ConfigError):
            TrainConfig(eps=eps)


def test_roundtrip_and_unknown_keys():
    c = TrainConfig(lr=0.01, bias_init="data")
    assert TrainConfig.from_dict(c.to_dict()) == c
    with pytest.raises(ConfigError):
        TrainConfig.from_dict(c.to_dict() | {"colour": 1})


def test_presets_are_valid_and_unknown_is_refused():
    for name in PRESETS:
        TrainConfig(**preset(name))
    assert preset("paper")["batch"] == 8192 and preset("paper")["steps"] == 2**17
    with pytest.raises(ConfigError):
        preset("nope")


def test_coerce():
    assert coerce("lr", "0.5") == 0.5 and coerce("k", "7") == 7 and coerce("bias_init", "data") == "data"
    assert coerce("bias_init", "-1") == -1.0
    with pytest.raises(ConfigError):
        coerce("k", "seven")
    with pytest.raises(ConfigError):
        coerce("colour", "1")
