"""A Theano + Lasagne training script ported to PyTensor + symupdates (docs/porting.md shows the original).

Trains a 64-100-10 ReLU network with dropout and a softmax output on scikit-learn's bundled 8x8 digits with
Nesterov momentum, then prints the held-out accuracy and how far the softmax rows are from summing to 1.
Every line that differs from the Theano original is marked ``# PORT:``; docs/porting.md explains each. Not
in the original: the held-out accuracy of every epoch, printed and drawn with the training loss
(``port_from_lasagne.png``).

    python examples/port_from_lasagne.py [--out DIR] [--epochs 20] [--seed 0] [--mode NUMBA]
"""

import numpy as np
import pytensor  # PORT: theano
import pytensor.tensor as T  # PORT: theano.tensor
import pytensor.tensor.random as ptr  # PORT: theano.tensor.shared_randomstreams.RandomStreams
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import symupdates  # PORT: lasagne (lasagne.updates)
from _shared import compiles_on_first_call, parser, progress_bars, save

floatX = pytensor.config.floatX  # PORT: theano.config.floatX (PYTENSOR_FLAGS=floatX=float32 sets it)


# PORT: lasagne.init.GlorotUniform()(shape); lasagne.init and lasagne.layers have no PyTensor port
def glorot_uniform(rng, shape):
    limit = np.sqrt(6.0 / sum(shape))
    return rng.uniform(-limit, limit, size=shape).astype(floatX)


def dense(rng, n_in, n_out, name):
    W = pytensor.shared(glorot_uniform(rng, (n_in, n_out)), name=name + ".W")
    # PORT: theano.shared(..., broadcastable=(True, False)); PyTensor spells it as a static shape
    b = pytensor.shared(np.zeros((1, n_out), dtype=floatX), name=name + ".b", shape=(1, None))
    return W, b


def build(seed, mode=None):
    """The training function and the prediction function (class probabilities)."""
    rng = np.random.default_rng(seed)
    W1, b1 = dense(rng, 64, 100, "hidden")
    W2, b2 = dense(rng, 100, 10, "output")
    params = [W1, b1, W2, b2]

    noise = ptr.shared_rng(seed=seed, name="dropout")  # PORT: srng = RandomStreams(seed=seed)
    x, t = T.matrix("x"), T.ivector("t")

    def forward(x, dropout):
        h = T.maximum(T.dot(x, W1) + b1, 0)  # PORT: T.nnet.relu(...)
        next_noise = None
        if dropout:
            next_noise, keep = noise.binomial(1, 0.8, size=h.shape)  # PORT: srng.binomial(h.shape, p=0.8)
            h = h * T.cast(keep, floatX) / 0.8
        # PORT: T.nnet.softmax(z) took rows; softmax's default axis=None would normalise the whole matrix
        return T.special.softmax(T.dot(h, W2) + b2, axis=-1), next_noise

    probabilities, next_noise = forward(x, dropout=True)
    # PORT: T.nnet.categorical_crossentropy(probabilities, t).mean()
    loss = -T.mean(T.log(probabilities)[T.arange(t.shape[0]), t])
    # PORT: lasagne.updates.nesterov_momentum
    updates = symupdates.nesterov_momentum(loss, params, learning_rate=0.1, momentum=0.9)
    updates[noise] = next_noise  # PORT: RandomStreams advanced by itself; a shared_rng needs this update
    train = pytensor.function([x, t], loss, updates=updates, mode=mode)  # PORT: "FAST_RUN" is NUMBA now
    predict = pytensor.function([x], forward(x, dropout=False)[0], mode=mode)
    return train, predict


def plot(losses, accuracies, out):
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    epochs = np.arange(1, len(losses) + 1)
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    left.semilogy(epochs, losses, "o-")
    left.set(title="training loss (mean over the epoch's batches, dropout on)", ylabel="cross-entropy")
    right.plot(epochs, accuracies, "o-", color="tab:green")
    right.set(title=f"held-out accuracy (no dropout): {accuracies[-1]:.4f} at the end", ylabel="accuracy")
    right.set_ylim(min(0.8, min(accuracies)), 1)
    for ax in (left, right):
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3, which="both")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    figure.suptitle(
        "The Theano + Lasagne script ported to PyTensor + symupdates: 64-100-10 ReLU MLP with dropout on the "
        "digits,\nsymupdates.nesterov_momentum(learning_rate=0.1, momentum=0.9), batches of 32"
    )
    save(figure, out, "port_from_lasagne.png")


def main(argv=None):
    p = parser(__doc__, epochs=20)
    p.add_argument("--seed", type=int, default=0, help="seed of the split, the weights and the dropout")
    p.add_argument("--mode", default=None, help="PyTensor mode: NUMBA (PyTensor's default), CVM or JAX")
    args = p.parse_args(argv)
    progress_bars(args.no_progress)

    digits = load_digits()
    X = (digits.data / 16.0).astype(floatX)
    y = digits.target.astype("int32")
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=args.seed, stratify=y
    )
    train, predict = build(args.seed, args.mode)
    train = compiles_on_first_call(train, "the training step")
    predict = compiles_on_first_call(predict, "the prediction")
    rng = np.random.default_rng(args.seed)
    epoch_losses, accuracies = [], []
    for epoch in range(1, args.epochs + 1):
        order = rng.permutation(len(X_train))
        batches = [order[start : start + 32] for start in range(0, len(order), 32)]
        losses = [train(X_train[batch], y_train[batch]) for batch in batches]
        epoch_losses.append(np.mean(losses))
        accuracies.append(np.mean(predict(X_test).argmax(axis=1) == y_test))
        report = f"training loss {epoch_losses[-1]:.4f}  held-out accuracy {accuracies[-1]:.4f}"
        print(f"epoch {epoch:3d}  {report}", flush=True)
    probabilities = predict(X_test)
    print(f"held-out accuracy: {np.mean(probabilities.argmax(axis=1) == y_test):.4f}")
    print(f"softmax rows: max |sum - 1| = {np.abs(probabilities.sum(axis=1) - 1).max():.1e}")
    plot(epoch_losses, accuracies, args.out)


if __name__ == "__main__":
    main()
