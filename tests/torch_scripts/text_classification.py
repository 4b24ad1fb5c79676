"""Text classification as PyTorch's tutorial writes it: a vocabulary, a collate_fn that
builds (labels, token ids, offsets) with cumsum, nn.EmbeddingBag with offsets, SGD with
clip_grad_norm_ and a StepLR cut when validation accuracy drops, Subset splits, a predict()
helper; then EmbeddingBag.from_pretrained over the learned vectors in 'sum' and 'max' modes."""
import numpy as np

import pynn as torch
from pynn import nn
from pynn.utils.data import DataLoader, Subset

TOPICS = [["goal", "match", "league", "coach", "score", "team"],
          ["market", "stock", "bank", "rates", "profit", "shares"],
          ["model", "data", "chip", "code", "robot", "cloud"],
          ["vote", "party", "law", "senate", "policy", "election"]]
COMMON = ["the", "a", "today", "new", "big", "says", "after", "week"]


def make_corpus(rng, n):
    corpus = []
    for _ in range(n):
        label = int(rng.integers(0, 4))
        words = [str(w) for w in rng.choice(TOPICS[label], int(rng.integers(2, 4)))]
        words += [str(w) for w in rng.choice(COMMON, int(rng.integers(1, 4)))]
        rng.shuffle(words)
        corpus.append((label + 1, " ".join(words)))
    return corpus


rng = np.random.default_rng(0)
train_iter = make_corpus(rng, 240)
vocab = {"<unk>": 0}
for _, text in train_iter:
    for word in text.split():
        vocab.setdefault(word, len(vocab))


def text_pipeline(x):
    return [vocab.get(w, 0) for w in x.split()]


def label_pipeline(x):
    return int(x) - 1


device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


def collate_batch(batch):
    label_list, text_list, offsets = [], [], [0]
    for _label, _text in batch:
        label_list.append(label_pipeline(_label))
        processed_text = torch.tensor(text_pipeline(_text), dtype=torch.int64)
        text_list.append(processed_text)
        offsets.append(processed_text.size(0))
    label_list = torch.tensor(label_list, dtype=torch.int64)
    offsets = torch.tensor(offsets[:-1]).cumsum(dim=0)
    text_list = torch.cat(text_list)
    return label_list.to(device), text_list.to(device), offsets.to(device)


class TextClassificationModel(nn.Module):
    def __init__(self, vocab_size, embed_dim, num_class):
        super().__init__()
        self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, sparse=False)
        self.fc = nn.Linear(embed_dim, num_class)
        self.init_weights()

    def init_weights(self):
        initrange = 0.5
        self.embedding.weight.data.copy_(torch.from_numpy(
            rng.uniform(-initrange, initrange, self.embedding.weight.shape).astype(np.float32)))
        self.fc.weight.data.copy_(torch.from_numpy(
            rng.uniform(-initrange, initrange, self.fc.weight.shape).astype(np.float32)))
        self.fc.bias.data.zero_()

    def forward(self, text, offsets):
        embedded = self.embedding(text, offsets)
        return self.fc(embedded)


num_class = len({label for (label, text) in train_iter})
model = TextClassificationModel(len(vocab), 16, num_class).to(device)
criterion = torch.nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=5)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.1)


def train(dataloader):
    model.train()
    total_acc, total_count = 0, 0
    for label, text, offsets in dataloader:
        optimizer.zero_grad()
        predicted_label = model(text, offsets)
        loss = criterion(predicted_label, label)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        optimizer.step()
        total_acc += (predicted_label.argmax(1) == label).sum().item()
        total_count += label.size(0)
    return total_acc / total_count


def evaluate(dataloader):
    model.eval()
    total_acc, total_count, total_loss = 0, 0, 0.0
    with torch.no_grad():
        for label, text, offsets in dataloader:
            predicted_label = model(text, offsets)
            total_loss += criterion(predicted_label, label).item() * label.size(0)
            total_acc += (predicted_label.argmax(1) == label).sum().item()
            total_count += label.size(0)
    return total_acc / total_count, total_loss / total_count


split = int(len(train_iter) * 0.8)
train_dataloader = DataLoader(Subset(train_iter, range(split)), batch_size=16,
                              collate_fn=collate_batch)
valid_dataloader = DataLoader(Subset(train_iter, range(split, len(train_iter))),
                              batch_size=16, collate_fn=collate_batch)
total_accu = None
for epoch in range(1, 6):
    train_acc = train(train_dataloader)
    accu_val, loss_val = evaluate(valid_dataloader)
    if total_accu is not None and total_accu > accu_val:
        scheduler.step()
    else:
        total_accu = accu_val
    print(f"| epoch {epoch:3d} | train {train_acc:.4f} | valid accuracy {accu_val:8.3f} "
          f"| valid loss {loss_val:.5f} | lr {optimizer.param_groups[0]['lr']:.3f}")


def predict(text, text_pipeline):
    with torch.no_grad():
        text = torch.tensor(text_pipeline(text))
        output = model(text, torch.tensor([0]))
        return output.argmax(1).item() + 1


print("prediction", predict("the coach says the team will score", text_pipeline),
      predict("bank profit and shares", text_pipeline))
vectors = model.embedding.weight.detach()
for mode in ("sum", "max"):
    bag = nn.EmbeddingBag.from_pretrained(vectors, mode=mode)
    _, text, offsets = collate_batch(train_iter[:3])
    out = bag(text, offsets)
    print(mode, tuple(out.shape), f"{out.abs().sum().item():.4f}", bag.weight.requires_grad)
