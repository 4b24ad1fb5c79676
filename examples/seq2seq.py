"""Sequence to sequence: an encoder-decoder Transformer (``nn.Transformer``) that learns to
reverse a sequence of digits, decoded greedily.

Target: >= 99% exact-sequence accuracy on held-out sequences::

    source "3 1 4 1 5"  ->  target "5 1 4 1 3" <eos>        (lengths 4 to 12, padded)

    tokens -> Embedding(13, 64) + sinusoidal position -> nn.Transformer(d_model 64, 4 heads,
    2 encoder + 2 decoder layers, feed-forward 256, pre-norm) -> Linear(64, 13)

trained with teacher forcing (the decoder reads <bos> and the target shifted right, under a
causal mask; padded source positions are hidden by key-padding masks; padded target
positions are ignored by the loss) and AdamW with a linear warm-up then cosine annealing
(SequentialLR of LinearLR and CosineAnnealingLR, stepped every batch) and gradient clipping
to norm 1. Every batch is freshly generated; the 2,000 test sequences are drawn first and
any training sequence equal to one of them is drawn again, so the test set is unseen.
Decoding is greedy: the encoder runs once, then the decoder once per output position over
the prefix decoded so far, 500 test sequences at a time::

    python examples/seq2seq.py [--steps 2000] [--batch-size 64] [--lr 1e-3]
        [--min-len 4] [--max-len 12] [--threads 1]

A separate file from ``char_lm.py`` because the two share nothing but the layers: this one
is an encoder-decoder with padding masks and a decoding loop, that one a decoder-only model.

Measured on this machine (1 thread, one core of a 2-core AMD EPYC VM, AVX2): 2000 steps in
159 s (80 ms a step; the loss, 1.25 over the first 250 steps, is below 0.01 from step 1000),
greedy decoding of the 2,000 test sequences 4.5 s, exact-sequence accuracy 100.00%; wall
time 164 s.
"""

import argparse
import time

import numpy as np
from _common import warmup_cosine

import pynn
from pynn import functional as F
from pynn import nn
from pynn.optim import AdamW

TARGET = 0.99
PAD, BOS, EOS = 10, 11, 12  # digits are their own tokens 0-9
VOCAB = 13


# --------------------------------------------------------------------------------- data
def random_sequences(rng, n, min_len, max_len):
    """``n`` digit sequences of random lengths in [min_len, max_len], right-padded with PAD:
    int64 (n, max_len) and their lengths (n,)."""
    lengths = rng.integers(min_len, max_len + 1, n)
    digits = rng.integers(0, 10, (n, max_len))
    digits[np.arange(max_len) >= lengths[:, None]] = PAD
    return digits, lengths


def reverse_padded(src, lengths):
    """Each row's first ``length`` entries reversed, the padding left in place."""
    cols = np.arange(src.shape[1])
    # Position j of the answer reads position length-1-j of the source while j < length.
    index = np.where(cols < lengths[:, None], lengths[:, None] - 1 - cols, cols)
    return np.take_along_axis(src, index, axis=1)


def decoder_io(src, lengths):
    """Teacher forcing: decoder input ``<bos> y`` and output ``y <eos>`` (PAD after), both
    (n, max_len + 1), where ``y`` is the reversed source."""
    n, max_len = src.shape
    out = np.full((n, max_len + 1), PAD, dtype=np.int64)
    out[:, :max_len] = reverse_padded(src, lengths)
    out[np.arange(n), lengths] = EOS
    inp = np.concatenate([np.full((n, 1), BOS, dtype=np.int64), out[:, :-1]], axis=1)
    inp[inp == EOS] = PAD  # <eos> is never an input: the decoder stops there
    return inp, out


def sequence_keys(src):
    """One integer per padded sequence (PAD is digit 10 in base 11): equal keys, equal
    sequences."""
    return src @ (11 ** np.arange(src.shape[1], dtype=np.int64))


# -------------------------------------------------------------------------------- model
class Seq2SeqTransformer(nn.Module):
    """``nn.Transformer`` between a token embedding with sinusoidal positions and a linear
    head over the vocabulary.

    Shape: forward(src (N, S) int64, tgt (N, T) int64) -> logits (N, T, VOCAB).
    """

    def __init__(self, d_model=64, nhead=4, num_layers=2, max_len=64):
        super().__init__()
        self.d_model = d_model
        self.embed = nn.Embedding(VOCAB, d_model)
        self.pos = nn.SinusoidalPositionalEncoding(d_model, max_len=max_len, batch_first=True)
        self.transformer = nn.Transformer(d_model, nhead, num_layers, num_layers,
                                          4 * d_model, dropout=0.0, batch_first=True,
                                          norm_first=True)
        self.head = nn.Linear(d_model, VOCAB)

    def _tokens(self, ids):
        # No sqrt(d_model) factor as in "Attention Is All You Need": pynn's Embedding starts
        # N(0, 1), already the size of the sinusoids.
        return self.pos(self.embed(pynn.tensor(ids)))

    def encode(self, src):
        """(N, S) -> memory (N, S, d_model)."""
        return self.transformer.encoder(self._tokens(src),
                                        src_key_padding_mask=pynn.tensor(src == PAD))

    def decode(self, tgt, memory, src):
        """Logits (N, T, VOCAB) of the token after each prefix of ``tgt`` (N, T)."""
        length = tgt.shape[1]
        h = self.transformer.decoder(self._tokens(tgt), memory,
                                     tgt_mask=nn.generate_square_subsequent_mask(length),
                                     tgt_is_causal=True,
                                     memory_key_padding_mask=pynn.tensor(src == PAD))
        return self.head(h)

    def forward(self, src, tgt):
        return self.decode(tgt, self.encode(src), src)

    def greedy(self, src):
        """The argmax decoding of every row of ``src`` (N, S): int64 (N, S + 1), with EOS
        where a row's answer ends and PAD after it."""
        n, steps = src.shape[0], src.shape[1] + 1
        was_training = self.training
        self.eval()
        with pynn.no_grad():
            memory = self.encode(src)
            out = np.full((n, 1), BOS, dtype=np.int64)
            done = np.zeros(n, dtype=bool)
            for _ in range(steps):
                nxt = self.decode(out, memory, src).numpy()[:, -1].argmax(axis=-1)
                nxt[done] = PAD
                done |= nxt == EOS
                out = np.concatenate([out, nxt[:, None]], axis=1)
                if done.all():
                    break
        self.train(was_training)
        pred = np.full((n, steps), PAD, dtype=np.int64)
        pred[:, :out.shape[1] - 1] = out[:, 1:]
        return pred


def exact_accuracy(model, src, lengths, batch_size=500):
    """Fraction of rows whose greedy decoding is exactly the reversed sequence then EOS."""
    _, want = decoder_io(src, lengths)
    correct = 0
    for i in range(0, len(src), batch_size):
        pred = model.greedy(src[i:i + batch_size])
        correct += int(np.all(pred == want[i:i + batch_size], axis=1).sum())
    return correct / len(src)


# --------------------------------------------------------------------------------- main
def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=2000,
                   help="training batches (default %(default)s)")
    p.add_argument("--batch-size", type=int, default=64, help="default %(default)s")
    p.add_argument("--lr", type=float, default=1e-3,
                   help="peak learning rate (default %(default)s)")
    p.add_argument("--d-model", type=int, default=64, help="default %(default)s")
    p.add_argument("--layers", type=int, default=2,
                   help="encoder layers, and as many decoder layers (default %(default)s)")
    p.add_argument("--heads", type=int, default=4, help="default %(default)s")
    p.add_argument("--min-len", type=int, default=4, help="default %(default)s")
    p.add_argument("--max-len", type=int, default=12, help="default %(default)s")
    p.add_argument("--test-size", type=int, default=2000, help="default %(default)s")
    p.add_argument("--threads", type=int, default=None,
                   help="pynn's kernel threads (default: pynn's default)")
    p.add_argument("--seed", type=int, default=0,
                   help="weights, training and test sequences (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    args = p.parse_args(argv)
    if not 1 <= args.min_len <= args.max_len:
        p.error("need 1 <= --min-len <= --max-len")
    if args.threads is not None:
        pynn.set_num_threads(args.threads)
    pynn.manual_seed(args.seed)
    return args


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    test_src, test_len = random_sequences(rng, args.test_size, args.min_len, args.max_len)
    test_keys = sequence_keys(test_src)

    def training_batch():
        src, lengths = random_sequences(rng, args.batch_size, args.min_len, args.max_len)
        seen = np.isin(sequence_keys(src), test_keys)
        while seen.any():  # keep the test sequences unseen
            src[seen], lengths[seen] = random_sequences(rng, int(seen.sum()), args.min_len,
                                                        args.max_len)
            seen = np.isin(sequence_keys(src), test_keys)
        return src, lengths

    model = Seq2SeqTransformer(args.d_model, args.heads, args.layers,
                               max_len=args.max_len + 1)
    optimizer = AdamW(model.parameters(), lr=args.lr)
    warmup = max(1, args.steps // 10)
    scheduler = warmup_cosine(optimizer, warmup, args.steps, 0.01)

    every = max(1, min(250, args.steps // 5))
    t0 = time.perf_counter()
    running = 0.0
    for step in range(1, args.steps + 1):
        src, lengths = training_batch()
        tgt_in, tgt_out = decoder_io(src, lengths)
        optimizer.zero_grad()
        logits = model(src, tgt_in)
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), pynn.tensor(tgt_out.reshape(-1)),
                               ignore_index=PAD)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        running += float(loss.item())
        if not args.quiet and (step % every == 0 or step == args.steps):
            n = every if step % every == 0 else step % every
            print(f"step {step:5d}/{args.steps}  loss {running / n:.4f}  "
                  f"{time.perf_counter() - t0:6.1f} s", flush=True)
            running = 0.0
    train_time = time.perf_counter() - t0

    t1 = time.perf_counter()
    acc = exact_accuracy(model, test_src, test_len)
    decode_time = time.perf_counter() - t1
    if not args.quiet:
        pred = model.greedy(test_src[:3])
        for s, p in zip(test_src[:3], pred):
            show = " ".join(str(d) for d in s if d != PAD)
            got = " ".join("<eos>" if t == EOS else str(t) for t in p if t != PAD)
            print(f"  {show:24s} -> {got}")

    print(f"\nseq2seq reverse, lengths {args.min_len}-{args.max_len}: nn.Transformer "
          f"d_model {args.d_model}, {args.layers}+{args.layers} layers, {args.heads} heads: "
          f"threads={pynn.get_num_threads()}")
    print(f"  {args.steps} steps of {args.batch_size} in {train_time:.1f} s "
          f"({train_time / args.steps * 1000:.0f} ms/step); greedy decoding of "
          f"{args.test_size} test sequences {decode_time:.1f} s")
    verdict = "reached" if acc >= TARGET else "below"
    print(f"exact-sequence accuracy {acc:.4f} ({verdict} the target {TARGET:.2f}); "
          f"wall time {time.perf_counter() - start:.1f} s")
    return acc


if __name__ == "__main__":
    main()
