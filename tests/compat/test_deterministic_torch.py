"""use_deterministic_algorithms and its queries against PyTorch: the flags after each call,
warn_only kept even with mode off, and the TypeError for a non-bool argument."""

import pytest

import pynn

torch = pytest.importorskip("torch")


@pytest.fixture
def restore():
    ours = (pynn.are_deterministic_algorithms_enabled(),
            pynn.is_deterministic_algorithms_warn_only_enabled())
    theirs = (torch.are_deterministic_algorithms_enabled(),
              torch.is_deterministic_algorithms_warn_only_enabled())
    yield
    pynn.use_deterministic_algorithms(ours[0], warn_only=ours[1])
    torch.use_deterministic_algorithms(theirs[0], warn_only=theirs[1])


@pytest.mark.parametrize("mode, warn_only", [(True, False), (False, True), (True, True),
                                             (False, False)])
def test_flags_follow_the_call(restore, mode, warn_only):
    for lib in (pynn, torch):
        lib.use_deterministic_algorithms(mode, warn_only=warn_only)
    assert pynn.are_deterministic_algorithms_enabled() == \
        torch.are_deterministic_algorithms_enabled() == mode
    assert pynn.is_deterministic_algorithms_warn_only_enabled() == \
        torch.is_deterministic_algorithms_warn_only_enabled() == warn_only


@pytest.mark.parametrize("args", [("yes",), (1,), (True, "no")])
def test_non_bool_is_a_type_error(restore, args):
    kwargs = {"warn_only": args[1]} if len(args) > 1 else {}
    with pytest.raises(TypeError, match="must be bool"):
        torch.use_deterministic_algorithms(args[0], **kwargs)
    with pytest.raises(TypeError, match="must be bool"):
        pynn.use_deterministic_algorithms(args[0], **kwargs)
