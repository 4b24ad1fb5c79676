"""A word-level LSTM language model as the classic PyTorch example writes it: a corpus
turned into a LongTensor of ids, batchify, truncated backpropagation through time with the
hidden state detached between chunks, a manual SGD update through p.data.add_, clipping,
perplexity."""
import math

import numpy as np

import pynn as torch
from pynn import nn


class Corpus:
    def __init__(self, text):
        self.word2idx, self.idx2word = {}, []
        ids = []
        for word in text.split():
            if word not in self.word2idx:
                self.idx2word.append(word)
                self.word2idx[word] = len(self.idx2word) - 1
            ids.append(self.word2idx[word])
        self.ids = torch.tensor(ids, dtype=torch.int64)


class RNNModel(nn.Module):
    def __init__(self, ntoken, ninp=16, nhid=24, nlayers=2, dropout=0.0):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid, nlayers, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)
        self.nhid, self.nlayers = nhid, nlayers

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        output = self.drop(output)
        decoded = self.decoder(output).view(-1, self.decoder.out_features)
        return nn.functional.log_softmax(decoded, dim=1), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        return (weight.new_zeros(self.nlayers, bsz, self.nhid),
                weight.new_zeros(self.nlayers, bsz, self.nhid))


def batchify(data, bsz):
    nbatch = data.size(0) // bsz
    data = data.narrow(0, 0, nbatch * bsz)
    return data.view(bsz, -1).t().contiguous()


def repackage_hidden(h):
    if isinstance(h, torch.Tensor):
        return h.detach()
    return tuple(repackage_hidden(v) for v in h)


def get_batch(source, i, bptt=8):
    seq_len = min(bptt, len(source) - 1 - i)
    return source[i:i + seq_len], source[i + 1:i + 1 + seq_len].reshape(-1)


def main():
    rng = np.random.default_rng(6)
    words = ["the", "cat", "sat", "on", "the", "mat", "and", "the", "dog", "sat", "on", "the",
             "log", "while", "a", "bird", "sang"]
    text = " ".join(words[int(i)] for i in rng.integers(0, len(words), 600))
    corpus = Corpus(text)
    train_data = batchify(corpus.ids, 4)
    ntokens = len(corpus.idx2word)
    model = RNNModel(ntokens)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.uniform(-0.1, 0.1, p.shape).astype(np.float32)))
    criterion = nn.NLLLoss()
    lr = 5.0
    for epoch in range(2):
        model.train()
        total_loss = 0.0
        hidden = model.init_hidden(4)
        for batch, i in enumerate(range(0, train_data.size(0) - 1, 8)):
            data, targets = get_batch(train_data, i)
            model.zero_grad()
            hidden = repackage_hidden(hidden)
            output, hidden = model(data, hidden)
            loss = criterion(output, targets)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
            for p in model.parameters():
                p.data.add_(p.grad, alpha=-lr)
            total_loss += loss.item()
        print(f"epoch {epoch} loss {total_loss / (batch + 1):5.3f} "
              f"ppl {math.exp(total_loss / (batch + 1)):8.3f}")
    # the example keeps the best model as a whole object and reloads it to evaluate
    with open("model.pt", "wb") as f:
        torch.save(model, f)
    with open("model.pt", "rb") as f:
        model = torch.load(f, weights_only=False)
        model.rnn.flatten_parameters()
    model.eval()
    with torch.no_grad():
        data, targets = get_batch(train_data, 0)
        output, _ = model(data, model.init_hidden(4))
        print(f"reloaded loss {criterion(output, targets).item():5.3f}")


if __name__ == "__main__":
    main()
