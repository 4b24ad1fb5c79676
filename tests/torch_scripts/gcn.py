"""A graph convolutional network on a random graph, written as PyTorch code is written: the
normalised adjacency built with sparse_coo_tensor, eye, diag and to_sparse, propagation with
spmm, masks indexing the nodes, Adam with weight decay and NLLLoss."""
import numpy as np

import pynn as torch
import pynn.nn.functional as F
from pynn import nn
from pynn.optim import Adam


class GraphConv(nn.Module):
    def __init__(self, input_dim, output_dim):
        super().__init__()
        self.kernel = nn.Parameter(torch.Tensor(input_dim, output_dim))
        self.bias = nn.Parameter(torch.Tensor(output_dim))
        nn.init.zeros_(self.bias)

    def forward(self, x, adj):
        return torch.spmm(adj, torch.mm(x, self.kernel)) + self.bias


class GCN(nn.Module):
    def __init__(self, n_in, n_hidden, n_out):
        super().__init__()
        self.gc1 = GraphConv(n_in, n_hidden)
        self.gc2 = GraphConv(n_hidden, n_out)

    def forward(self, x, adj):
        return F.log_softmax(self.gc2(F.relu(self.gc1(x, adj)), adj), dim=1)


def main():
    rng = np.random.default_rng(0)
    n, f, c = 60, 12, 3
    labels = rng.integers(0, c, n)
    centres = rng.standard_normal((c, f))
    feats = (centres[labels] + 0.8 * rng.standard_normal((n, f)) > 0.5).astype(np.float32)
    edges = rng.integers(0, n, (2, 150))
    same = labels[edges[0]] == labels[edges[1]]
    edges = np.concatenate([edges[:, same], edges[:, ~same][:, :10]], axis=1)

    features = torch.FloatTensor(feats)
    scale = 1 / torch.sum(features, dim=1)
    scale[scale == float("inf")] = 0
    features = torch.diag(scale).to_sparse() @ features
    adj = torch.sparse_coo_tensor(edges, torch.ones(edges.shape[1]), (n, n))
    adj = torch.eye(n) + adj + adj.t()
    degree = torch.sqrt(1 / torch.sum(adj, dim=1))
    degree = torch.diag(degree).to_sparse()
    adj = (degree @ adj @ degree).to_sparse()
    labels = torch.LongTensor(labels)
    idx = torch.from_numpy(rng.permutation(n))
    idx_test, idx_train = idx[:20], idx[20:]

    model = GCN(f, 16, c)
    for p in model.parameters():
        p.data.copy_(torch.from_numpy(rng.uniform(-0.4, 0.4, p.shape).astype(np.float32)))
    optimizer = Adam(model.parameters(), lr=0.05, weight_decay=5e-4)
    criterion = nn.NLLLoss()
    for epoch in range(1, 31):
        model.train()
        optimizer.zero_grad()
        output = model(features, adj)
        loss = criterion(output[idx_train], labels[idx_train])
        loss.backward()
        optimizer.step()
        if epoch % 5 == 0:
            model.eval()
            with torch.no_grad():
                output = model(features, adj)
                acc = (output[idx_test].argmax(dim=1) == labels[idx_test]).float().mean()
            print(f"epoch {epoch:03d} loss {loss.item():.5f} test_acc {acc.item():.4f}")


if __name__ == "__main__":
    main()
