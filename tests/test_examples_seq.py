"""The sequence-model examples (vision Transformer, character language model, seq2seq), each
run on a tiny budget (seeded, one thread, a few seconds): they run end to end and reach a
stated figure with a margin."""

import numpy as np
import pytest
from helpers import DATA_DIR, load_example, needs_mnist

import pynn

pytestmark = pytest.mark.usefixtures("restore_threads")


def run(name, *args):
    common = ["--threads", "1", "--seed", "0", "--quiet"]
    return load_example(name).main(common + [str(a) for a in args])


@needs_mnist
def test_mnist_transformer_short_run():
    # Chance is 0.1. A ViT learns slowly from little data (no convolutional prior): these
    # 94 batches of 32 reach about 0.5.
    acc = run("mnist_transformer", "--data-dir", DATA_DIR, "--train-size", 3000,
              "--test-size", 1000, "--epochs", 1, "--batch-size", 32)
    assert acc > 0.3


def test_mnist_transformer_patches_are_row_major_tiles():
    vit = load_example("mnist_transformer").ViT(patch=7)
    x = np.arange(28 * 28, dtype=np.float32).reshape(1, 1, 28, 28)
    patches = vit.patchify(pynn.tensor(x)).numpy()
    assert patches.shape == (1, 16, 49)
    # Patch 5 is row 1, column 1 of the 4x4 grid: pixels [7:14, 7:14].
    np.testing.assert_array_equal(patches[0, 5], x[0, 0, 7:14, 7:14].reshape(-1))


def test_char_lm_short_run():
    ppl = run("char_lm", "--steps", 100, "--corpus-chars", 30000, "--d-model", 48,
              "--layers", 2, "--context", 32, "--batch-size", 32, "--sample-chars", 0)
    # The uniform guess has a perplexity of 51 (the corpus's characters), the characters'
    # frequencies alone (a unigram model) 22; this run reaches about 8.5.
    assert ppl < 12


def test_char_lm_corpus_is_deterministic_and_causal_mask_hides_the_future():
    char_lm = load_example("char_lm")
    assert char_lm.make_corpus(5000) == char_lm.make_corpus(5000)
    pynn.manual_seed(0)
    model = char_lm.CharTransformer(vocab_size=10, context=8, d_model=16, num_layers=1)
    x = np.array([[1, 2, 3, 4, 5, 6]])
    y = x.copy()
    y[0, 4:] = [9, 0]
    with pynn.no_grad():
        a, b = model(pynn.tensor(x)).numpy(), model(pynn.tensor(y)).numpy()
    np.testing.assert_allclose(a[0, :4], b[0, :4], rtol=1e-5, atol=1e-6)
    assert not np.allclose(a[0, 4:], b[0, 4:])


def test_seq2seq_short_run():
    # Guessing a whole sequence of 2 to 5 digits succeeds at most 1% of the time; these
    # 150 batches reach about 0.9.
    acc = run("seq2seq", "--steps", 150, "--min-len", 2, "--max-len", 5, "--test-size", 300)
    assert acc > 0.6


def test_seq2seq_teacher_forcing_targets_and_sequence_keys():
    seq2seq = load_example("seq2seq")
    pad, eos, bos = seq2seq.PAD, seq2seq.EOS, seq2seq.BOS
    src = np.array([[1, 2, 3, pad], [4, 5, 6, 7]])
    tgt_in, tgt_out = seq2seq.decoder_io(src, np.array([3, 4]))
    np.testing.assert_array_equal(tgt_out, [[3, 2, 1, eos, pad], [7, 6, 5, 4, eos]])
    np.testing.assert_array_equal(tgt_in, [[bos, 3, 2, 1, pad], [bos, 7, 6, 5, 4]])
    # Every padded sequence of length <= 3 has its own key (padding included: "1" != "10").
    rng = np.random.default_rng(0)
    seqs, _ = seq2seq.random_sequences(rng, 5000, 1, 3)
    keys = seq2seq.sequence_keys(seqs)
    assert len(np.unique(keys)) == len(np.unique(seqs, axis=0))
