"""A causal Transformer language model as PyTorch code is written: token and positional
embeddings (a registered buffer), a causal mask built with triu and masked_fill,
TransformerEncoder, CrossEntropyLoss over flattened logits, AdamW, clipping, greedy
generation."""
import math

import numpy as np

import pynn as torch
from pynn import nn


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, max_len=64):
        super().__init__()
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, d_model)
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe)

    def forward(self, x):
        return x + self.pe[: x.size(1)]


class LM(nn.Module):
    def __init__(self, vocab, d_model=32, nhead=4, layers=2):
        super().__init__()
        self.embed = nn.Embedding(vocab, d_model)
        self.pos = PositionalEncoding(d_model)
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=64, dropout=0.0,
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=layers)
        self.out = nn.Linear(d_model, vocab)

    def forward(self, tokens):
        n = tokens.size(1)
        mask = torch.triu(torch.ones(n, n), diagonal=1).bool()
        attn_mask = torch.zeros(n, n).masked_fill(mask, float("-inf"))
        h = self.encoder(self.pos(self.embed(tokens) * math.sqrt(32)), mask=attn_mask)
        return self.out(h)


def main():
    rng = np.random.default_rng(4)
    vocab = 12
    text = np.tile(np.arange(vocab), 40)  # a repeating sequence: easy to learn
    seqs = np.stack([text[i:i + 17] for i in rng.integers(0, len(text) - 17, 64)])
    data = torch.tensor(seqs, dtype=torch.long)
    model = LM(vocab)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.tensor(rng.uniform(-0.2, 0.2, tuple(p.shape)), dtype=torch.float32))
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    for step in range(12):
        batch = data[(step * 16) % 64:(step * 16) % 64 + 16]
        inputs, targets = batch[:, :-1], batch[:, 1:]
        logits = model(inputs)
        loss = criterion(logits.reshape(-1, vocab), targets.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        optimizer.step()
        print(f"loss {loss.item():.5f} ppl {math.exp(loss.item()):.3f}")
    model.eval()
    tokens = torch.tensor([[3, 4, 5]])
    with torch.no_grad():
        for _ in range(5):
            nxt = model(tokens)[:, -1].argmax(dim=-1, keepdim=True)
            tokens = torch.cat([tokens, nxt], dim=1)
    print("generated", tokens[0].tolist())


if __name__ == "__main__":
    main()
