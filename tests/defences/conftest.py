"""Fixtures of the defence tests: a tiny embedded image-to-video target trained in seconds."""
import pytest


@pytest.fixture(scope="session")
def tiny_target(tmp_path_factory):
    """The embedded target with a few training steps, cached in a temporary folder."""
    from benchmark.generation.embedded_i2v import load_embedded_target

    return load_embedded_target(cache_dir=tmp_path_factory.mktemp("i2v"), stills=48,
                                encoder_steps=40, autoencoder_steps=40, batch=16)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models run faster on one thread than on two busy ones (benchmark.defences.runtime);
    restored after each module, so tests elsewhere keep the usual threads."""
    from benchmark.defences.runtime import single_thread

    with single_thread():
        yield
