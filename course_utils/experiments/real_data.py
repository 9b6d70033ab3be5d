"""Kernels versus networks on real data: scikit-learn's handwritten digits (notebook 07).

The data: the 1,797 8x8 grey-level digit images that scikit-learn ships inside the package
(``sklearn.datasets.load_digits``, read from its file without importing scikit-learn; nothing is downloaded). A seeded, stratified split gives
``N_TRAIN`` training, ``N_VALIDATION`` validation and ``N_TEST`` test images. Inputs are
centred by the training set's mean image and scaled to the unit sphere of R^64 (each image
divided by its norm): the kernels of a bias-free ReLU network depend on the inputs only
through their norms and angles, and on the sphere only the angles are left. Targets are
one-hot vectors (10 columns), the loss is the course's squared loss ``1/2 ||f - y||^2``.

``cu.MLP`` has one output, so a 10-class network is ten scalar networks, one per digit (the
one-versus-rest read-out), trained by the same ``cu.train`` call per digit with several seeds
side by side. The infinite-width limit of such a network is the same as that of a 10-output
network with a shared hidden layer: the limit NTK is ``K_inf`` for every output, and the
outputs are independent. Every kernel prediction is likewise made one digit (one target
column) at a time.

The four experiments of the notebook, each a cached function returning a NamedTuple:
``width_sweep`` (trained networks in NTK parameterization against the analytic NTK, widths
64..4096), ``depth_kernels`` and ``depth_networks`` (depth on real data),
``feature_runs`` (muP and a large learning rate against the lazy network, and the after-kernel),
``learning_curve`` (test error against n, theory from the spectrum against measurement).
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np

from .. import _validate
from .._memory import release_compiled_programs
from ..flow import GradientFlow, kernel_regression
from ..kernels import analytic_nngp, analytic_ntk, empirical_ntk
from ..measure import ClaimCheck, PowerLawFit, claim, fit_power_law, relative_distance, top_eigenvalue
from ..models import MLP
from ..training import log_record_steps, run_slice, train

CLASSES = 10
SPLIT_SEED = 0
N_TRAIN, N_VALIDATION, N_TEST = 100, 200, 500

# Item 2: width sweep (NTK parameterization, one hidden layer).
WIDTHS = (64, 256, 1024, 4096)
SEEDS = (0, 1)
LR_FACTOR = 1.0  # learning rate in units of 1 / lambda_max(K_inf)
STEPS = 48
RECORD_STEPS = tuple(int(s) for s in log_record_steps(STEPS, 10))

# Item 3: depth.
KERNEL_DEPTHS = (1, 2, 3, 5, 10, 20, 50)
NETWORK_DEPTHS = (1, 2, 3, 5, 10)
DEPTH_WIDTH = 128

# Item 4: feature learning.
FEATURE_WIDTH = 256
FEATURE_STEPS = 200
FEATURE_RECORD_STEPS = tuple(int(s) for s in log_record_steps(FEATURE_STEPS, 14))
FEATURE_RUNS = {  # name: (parameterization, learning rate in units of 1 / lambda_max(K_0))
    "NTK, lr 1": ("ntk", 1.0),
    "NTK, lr 3": ("ntk", 3.0),
    "muP, lr 0.125": ("mup", 0.125),
    "muP, lr 0.25": ("mup", 0.25),
    "muP, lr 0.5": ("mup", 0.5),
}
LAZY_RUN = "NTK, lr 1"

# Item 5: learning curves.
CURVE_POOL = 1000
CURVE_SIZES = (10, 20, 40, 80, 160, 320)
CURVE_DRAWS = 6
CURVE_DEPTH = 1


# ---------------------------------------------------------------------------- data
@functools.lru_cache(maxsize=1)
def load_images() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 digit images as (1797, 64) float64 pixel values 0..16, and their labels 0..9.

    Read straight from the file scikit-learn ships (``sklearn/datasets/data/digits.csv.gz``, what
    ``load_digits`` reads) without importing scikit-learn, which would cost the kernel ~75 MB of
    memory; falls back to ``load_digits`` where the file is not found.
    """
    import importlib.util
    import os

    spec = importlib.util.find_spec("sklearn")  # locates the package without importing it
    path = None
    if spec is not None and spec.submodule_search_locations:
        path = os.path.join(list(spec.submodule_search_locations)[0], "datasets", "data", "digits.csv.gz")
    if path is None or not os.path.exists(path):  # pragma: no cover
        from sklearn.datasets import load_digits

        images, labels = load_digits(return_X_y=True)
        return np.asarray(images, dtype=np.float64), np.asarray(labels, dtype=np.int64)
    table = np.loadtxt(path, delimiter=",")
    return np.asarray(table[:, :-1], dtype=np.float64), table[:, -1].astype(np.int64)


def _approximate_mode(class_counts, n_draws, rng) -> np.ndarray:
    # scikit-learn's _approximate_mode: per-class counts of a stratified draw of n_draws.
    continuous = class_counts / class_counts.sum() * n_draws
    floored = np.floor(continuous)
    need_to_add = int(n_draws - floored.sum())
    if need_to_add > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (inds,) = np.where(remainder == value)
            add_now = min(len(inds), need_to_add)
            floored[rng.choice(inds, size=add_now, replace=False)] += 1
            need_to_add -= add_now
            if need_to_add == 0:
                break
    return floored.astype(int)


def stratified_split(labels, n_train: int, n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(train_indices, test_indices)`` of a stratified shuffle split, the one of scikit-learn's
    ``train_test_split(..., train_size=n_train, test_size=n_test, stratify=labels, random_state=seed)``
    (same algorithm, same random stream; the tests compare the two), without importing scikit-learn."""
    labels = np.asarray(labels)
    classes, y_indices = np.unique(labels, return_inverse=True)
    class_counts = np.bincount(y_indices)
    class_indices = np.split(np.argsort(y_indices, kind="mergesort"), np.cumsum(class_counts)[:-1])
    rng = np.random.RandomState(seed)
    n_i = _approximate_mode(class_counts, n_train, rng)
    t_i = _approximate_mode(class_counts - n_i, n_test, rng)
    train, test = [], []
    for i in range(len(classes)):
        chosen = class_indices[i].take(rng.permutation(class_counts[i]), mode="clip")
        train.extend(chosen[: n_i[i]])
        test.extend(chosen[n_i[i]: n_i[i] + t_i[i]])
    return rng.permutation(train), rng.permutation(test)


def normalise(images, mean) -> np.ndarray:
    """Centre each image by ``mean`` (the training set's mean image), then scale it to unit norm."""
    centred = np.asarray(images, dtype=np.float64) - np.asarray(mean, dtype=np.float64)
    norms = np.linalg.norm(centred, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError("an image equals the mean image: it has no direction on the sphere")
    return centred / norms


def one_hot(labels, classes: int = CLASSES) -> np.ndarray:
    """(n, classes) one-hot targets: row i has a 1 in column ``labels[i]``, zeros elsewhere."""
    labels = np.asarray(labels, dtype=np.int64)
    return np.eye(classes)[labels]


class DigitsSplit(NamedTuple):
    """A stratified train / validation / test split of the digits, normalised and one-hot.

    x_* : (n, 64) inputs on the unit sphere (centred by ``mean``, the training mean image);
    y_* : (n, 10) one-hot targets; labels_* : (n,) digits; mean : (64,) the training mean image.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    labels_train: np.ndarray
    x_validation: np.ndarray
    y_validation: np.ndarray
    labels_validation: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    labels_test: np.ndarray
    mean: np.ndarray


@functools.lru_cache(maxsize=None)
def digits_split(n_train: int = N_TRAIN, n_validation: int = N_VALIDATION, n_test: int = N_TEST,
                 seed: int = SPLIT_SEED) -> DigitsSplit:
    """Split the digits (stratified by label, ``random_state=seed``) and normalise them."""
    n_train = _validate.positive_int(n_train, "n_train", minimum=CLASSES)
    n_validation = _validate.positive_int(n_validation, "n_validation", minimum=CLASSES)
    n_test = _validate.positive_int(n_test, "n_test", minimum=CLASSES)
    images, labels = load_images()
    rest_index, test_index = stratified_split(labels, len(labels) - n_test, n_test, seed)
    rest, test, rest_labels, test_labels = images[rest_index], images[test_index], labels[rest_index], labels[test_index]
    train_index, validation_index = stratified_split(rest_labels, n_train, n_validation, seed)
    train_images, validation = rest[train_index], rest[validation_index]
    train_labels, validation_labels = rest_labels[train_index], rest_labels[validation_index]
    mean = train_images.mean(axis=0)
    return DigitsSplit(
        normalise(train_images, mean), one_hot(train_labels), train_labels,
        normalise(validation, mean), one_hot(validation_labels), validation_labels,
        normalise(test, mean), one_hot(test_labels), test_labels, mean)


def accuracy(outputs, labels) -> float:
    """Fraction of rows whose largest output is in the labelled column."""
    return float(np.mean(np.argmax(np.asarray(outputs), axis=-1) == np.asarray(labels)))


def test_loss(outputs, targets) -> float:
    """The squared loss per test point, ``1/(2m) ||F - Y||_F^2`` (10 outputs per point)."""
    outputs, targets = np.asarray(outputs), np.asarray(targets)
    return float(0.5 * np.sum((outputs - targets) ** 2) / targets.shape[0])


def digits_model(width: int, depth: int = 1, parameterization: str = "ntk") -> MLP:
    """The network of notebook 07: 64 inputs, ``depth`` hidden ReLU layers of N = ``width``, sw2 = 2, sb2 = 0."""
    return MLP(in_dim=64, width=width, depth=depth, activation="relu", parameterization=parameterization, sw2=2.0, sb2=0.0)


def network_seed(seed: int, digit: int) -> int:
    """The initialisation seed of the scalar network for ``digit`` in run ``seed`` (independent draws)."""
    return CLASSES * int(seed) + int(digit)


def kernel_predictions(K_train, K_star, Y, ridge: float = 0.0) -> np.ndarray:
    """Kernel regression ``K_star (K_train + ridge I)^-1 Y`` for a (n, C) target matrix.

    The formula of ``cu.kernel_regression`` with all C columns in one symmetric solve (one
    factorisation instead of C); the tests check it against ``kernel_regression`` column by column.
    """
    K_train = np.asarray(K_train, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    alpha = np.linalg.solve(K_train + ridge * np.eye(K_train.shape[0]), Y)
    return np.asarray(K_star, dtype=np.float64) @ alpha


class KernelFit(NamedTuple):
    """Kernel regression (t -> infinity) with one limit kernel: test accuracy, test loss, outputs (m, 10)."""

    kind: str
    depth: int
    accuracy: float
    loss: float
    outputs: np.ndarray


@functools.lru_cache(maxsize=None)
def kernel_fit(kind: str = "ntk", depth: int = 1) -> KernelFit:
    """Kernel regression on the split with ``cu.analytic_ntk`` (``kind="ntk"``) or ``cu.analytic_nngp``."""
    _validate.choice(kind, ("ntk", "nngp"), "kind")
    data = digits_split()
    K, K_star, _ = limit_kernels(depth, kind)
    out = kernel_predictions(K, K_star, data.y_train)
    return KernelFit(kind, int(depth), accuracy(out, data.labels_test), test_loss(out, data.y_test), out)


# ---------------------------------------------------------------------------- item 2: width
@functools.lru_cache(maxsize=None)
def test_outputs(model: MLP):
    """The ``measure`` function recording ``model``'s outputs on the test inputs (one object per model)."""
    x_test = digits_split().x_test

    def measure(params):
        return model.forward(params, x_test)[1]

    return measure


@functools.lru_cache(maxsize=None)
def limit_kernels(depth: int = 1, kind: str = "ntk"):
    """``(K, K_star, lambda_max)``: the analytic NTK (or NNGP) on the training inputs, test x train, top eigenvalue."""
    data = digits_split()
    model = digits_model(1, depth)
    kernel = analytic_ntk if kind == "ntk" else analytic_nngp
    # One (n + m, n + m) kernel on train and test inputs together: one compiled program per depth
    # instead of two (each costs memory until released), and the train block is exactly symmetric.
    n = data.x_train.shape[0]
    K_all = np.asarray(kernel(model, np.concatenate([data.x_train, data.x_test])))
    K, K_star = np.ascontiguousarray(K_all[:n, :n]), np.ascontiguousarray(K_all[n:, :n])
    return K, K_star, top_eigenvalue(K)


class WidthRun(NamedTuple):
    """Networks of one width (every seed, every digit) and their kernel predictions at the recorded times.

    times : (T,) t = lr x steps; steps : (T,); lr : the learning rate (LR_FACTOR / lambda_max(K_inf)).
    net_test : (S, T, m, 10) trained networks on the test inputs; net_train : (S, T, n, 10).
    flow_test : (S, T, m, 10) ``GradientFlow(K_inf, y, f0)`` with each network's own f0;
    kernel_test : (T, m, 10) the same flow from f0 = 0 (the mean over initialisations).
    net_accuracy, flow_accuracy : (S, T) test accuracy; kernel_accuracy : (T,);
    net_loss, flow_loss : (S, T) test loss per point; kernel_loss : (T,);
    distance : (S, T) ``relative_distance(net_test, flow_test)`` over all test outputs;
    agreement : (S, T) fraction of test images where network and flow predict the same digit.
    """

    width: int
    times: np.ndarray
    steps: np.ndarray
    lr: float
    net_test: np.ndarray
    net_train: np.ndarray
    flow_test: np.ndarray
    kernel_test: np.ndarray
    net_accuracy: np.ndarray
    flow_accuracy: np.ndarray
    kernel_accuracy: np.ndarray
    net_loss: np.ndarray
    flow_loss: np.ndarray
    kernel_loss: np.ndarray
    distance: np.ndarray
    agreement: np.ndarray


@functools.lru_cache(maxsize=None)
def width_run(width: int, seeds: tuple = SEEDS, steps: int = STEPS, record_steps: tuple = RECORD_STEPS) -> WidthRun:
    """Train ``digits_model(width)`` for every digit (one batched ``train`` per digit over ``seeds``)."""
    width = _validate.positive_int(width, "width")
    data = digits_split()
    model = digits_model(width)
    K, K_star, lam_max = limit_kernels(1)
    lr = LR_FACTOR / lam_max
    S, m = len(seeds), data.x_test.shape[0]
    net_test, net_train, flow_test, kernel_test = [], [], [], []
    for digit in range(CLASSES):
        y = data.y_train[:, digit]
        params = model.init_many([network_seed(s, digit) for s in seeds])
        traj = train(model.apply, params, data.x_train, y, lr=lr, steps=steps, record_steps=np.asarray(record_steps),
                     measure=test_outputs(model), batch=True)
        outputs, tests = np.asarray(traj.outputs), np.asarray(traj.measurements)  # (S, T, n), (S, T, m)
        times = np.asarray(traj.times)
        net_train.append(outputs)
        net_test.append(tests)
        # lr: gradient descent on the linear model with the networks' own step (at lr = 1/lambda_max
        # the continuous flow differs from it by a width-independent floor, which would flatten the fit)
        flow_test.append(np.stack([np.asarray(GradientFlow(K, y, outputs[s, 0], lr=lr).predict(times, K_star, tests[s, 0]))
                                   for s in range(S)]))
        kernel_test.append(np.asarray(GradientFlow(K, y, np.zeros_like(y), lr=lr).predict(times, K_star, np.zeros(m))))
    # This width's compiled training run is not needed again (the results are numpy arrays now):
    # release it before the next width compiles its own, so the sweep holds one width's programs at a time.
    release_compiled_programs(force=True)
    net_test = np.stack(net_test, axis=-1)
    net_train = np.stack(net_train, axis=-1)
    flow_test = np.stack(flow_test, axis=-1)
    kernel_test = np.stack(kernel_test, axis=-1)
    T = len(times)
    labels, Y = data.labels_test, data.y_test
    per_run = lambda fn, a: np.array([[fn(a[s, k]) for k in range(T)] for s in range(S)])  # noqa: E731
    return WidthRun(
        width=width, times=times, steps=np.asarray(traj.steps), lr=lr,
        net_test=net_test, net_train=net_train, flow_test=flow_test, kernel_test=kernel_test,
        net_accuracy=per_run(lambda o: accuracy(o, labels), net_test),
        flow_accuracy=per_run(lambda o: accuracy(o, labels), flow_test),
        kernel_accuracy=np.array([accuracy(o, labels) for o in kernel_test]),
        net_loss=per_run(lambda o: test_loss(o, Y), net_test),
        flow_loss=per_run(lambda o: test_loss(o, Y), flow_test),
        kernel_loss=np.array([test_loss(o, Y) for o in kernel_test]),
        distance=np.array([[relative_distance(net_test[s, k], flow_test[s, k]) if k else 0.0 for k in range(T)]
                           for s in range(S)]),
        agreement=np.array([[np.mean(net_test[s, k].argmax(-1) == flow_test[s, k].argmax(-1)) for k in range(T)]
                            for s in range(S)]),
    )


class WidthSweep(NamedTuple):
    """The width sweep at the final time: per width (W) and seed (S).

    distance : (W, S) relative distance of the networks' test outputs from their kernel flow;
    mean_distance : (W,) its seed mean, fitted by ``fit`` (power law in N);
    agreement : (W, S) fraction of test images classified alike by network and flow;
    net_accuracy, flow_accuracy, net_loss : (W, S); kernel_accuracy, kernel_loss : the f0 = 0
    flow at the same time; ntk, nngp : kernel regression (t -> infinity) with either limit kernel.
    """

    widths: np.ndarray
    distance: np.ndarray
    mean_distance: np.ndarray
    fit: PowerLawFit
    agreement: np.ndarray
    net_accuracy: np.ndarray
    flow_accuracy: np.ndarray
    net_loss: np.ndarray
    kernel_accuracy: float
    kernel_loss: float
    ntk: KernelFit
    nngp: KernelFit


@functools.lru_cache(maxsize=None)
def width_sweep(widths: tuple = WIDTHS) -> WidthSweep:
    """``width_run`` for every width, summarised at the last recorded time."""
    widths = tuple(_validate.positive_int(w, "width") for w in widths)
    if len(widths) < 2:
        raise ValueError("widths must contain at least two widths to fit an exponent")
    runs = [width_run(w) for w in widths]
    distance = np.array([r.distance[:, -1] for r in runs])
    mean_distance = distance.mean(axis=1)
    return WidthSweep(
        widths=np.array(widths), distance=distance, mean_distance=mean_distance,
        fit=fit_power_law(widths, mean_distance),
        agreement=np.array([r.agreement[:, -1] for r in runs]),
        net_accuracy=np.array([r.net_accuracy[:, -1] for r in runs]),
        flow_accuracy=np.array([r.flow_accuracy[:, -1] for r in runs]),
        net_loss=np.array([r.net_loss[:, -1] for r in runs]),
        kernel_accuracy=float(runs[0].kernel_accuracy[-1]), kernel_loss=float(runs[0].kernel_loss[-1]),
        ntk=kernel_fit("ntk", 1), nngp=kernel_fit("nngp", 1),
    )


def claim_outputs_converge(sweep: WidthSweep) -> ClaimCheck:
    """The networks' test outputs approach their kernel prediction like ``N^-1/2``: exponent within
    0.1 of -0.5 and the distance at least 6 times smaller at the widest width than at the narrowest
    (64x the width: N^-1/2 gives 8x; a flat curve, an ``N^-1/3`` or an ``N^-1`` law fails)."""
    ratio = sweep.mean_distance[0] / sweep.mean_distance[-1]
    holds = abs(sweep.fit.exponent + 0.5) < 0.1 and ratio > 6
    return claim("the networks' test outputs converge to the kernel's as N grows",
                 measured=f"exponent {sweep.fit}, distance {sweep.mean_distance[0]:.3g} -> {sweep.mean_distance[-1]:.3g} "
                 f"({ratio:.3g}x smaller)", predicted="exponent -0.5 +/- 0.1, >= 6x smaller over the widths", holds=holds)


def claim_accuracy_converges(sweep: WidthSweep) -> ClaimCheck:
    """At the widest width the networks classify at least 98% of test images as their kernel flow
    does (every seed), and their test accuracy is within 1 point of it; the narrowest width
    agrees less (so the agreement is reached by growing N)."""
    gap = np.abs(sweep.net_accuracy[-1] - sweep.flow_accuracy[-1])
    holds = (np.all(sweep.agreement[-1] >= 0.98) and np.all(gap <= 0.01)
             and np.mean(sweep.agreement[0]) < np.mean(sweep.agreement[-1]))
    return claim("the wide networks' test predictions and accuracy converge to the kernel's",
                 measured=f"same digit predicted on {100 * np.mean(sweep.agreement[0]):.1f}% (N = {sweep.widths[0]}) -> "
                 f"{100 * np.min(sweep.agreement[-1]):.1f}% (N = {sweep.widths[-1]}) of test images; accuracy gap "
                 f"{100 * np.max(gap):.1f} points", predicted=">= 98% agreement, gap <= 1 point (this check's thresholds, not a theorem's)",
                 holds=holds)


# ---------------------------------------------------------------------------- item 3: depth
class DepthKernels(NamedTuple):
    """The limit kernels at each depth L (D depths).

    ntk_accuracy, ntk_loss, nngp_accuracy, nngp_loss : (D,) kernel regression on the test set;
    same_class, other_class : (D,) mean normalised NTK ``K(x,x')/sqrt(K(x,x)K(x',x'))`` over
    training pairs of the same digit / of different digits (the flattening: both tend to one
    common value, 1/4 for ReLU as L -> infinity, notebook 06);
    contrast : (D,) ``same_class - other_class``: how well the kernel tells digits apart;
    condition : (D,) lambda_max / lambda_min of the normalised training kernel.
    """

    depths: np.ndarray
    ntk_accuracy: np.ndarray
    ntk_loss: np.ndarray
    nngp_accuracy: np.ndarray
    nngp_loss: np.ndarray
    same_class: np.ndarray
    other_class: np.ndarray
    contrast: np.ndarray
    condition: np.ndarray


def normalised_kernel(K) -> np.ndarray:
    """``K(x, x') / sqrt(K(x, x) K(x', x'))``: the cosine between two inputs' gradient vectors."""
    K = np.asarray(K, dtype=np.float64)
    d = np.sqrt(np.diag(K))
    return K / np.outer(d, d)


@functools.lru_cache(maxsize=None)
def depth_kernels(depths: tuple = KERNEL_DEPTHS) -> DepthKernels:
    """Kernel regression with the analytic NTK and NNGP at every depth, and the flattening measures."""
    depths = tuple(_validate.positive_int(d, "depth") for d in depths)
    labels = digits_split().labels_train
    same = labels[:, None] == labels[None, :]
    off = ~np.eye(len(labels), dtype=bool)
    rows = []
    for L in depths:
        ntk, nngp = kernel_fit("ntk", L), kernel_fit("nngp", L)
        C = normalised_kernel(limit_kernels(L)[0])
        lam = np.linalg.eigvalsh(C)
        within, between = C[same & off].mean(), C[~same].mean()
        rows.append((ntk.accuracy, ntk.loss, nngp.accuracy, nngp.loss, within, between, within - between,
                     lam[-1] / lam[0]))
    cols = np.array(rows).T
    return DepthKernels(np.array(depths), *cols)


def claim_depth_kernel(result: DepthKernels) -> ClaimCheck:
    """Depth barely matters for the limit kernel at moderate depth and hurts when deep: every depth
    up to 5 is within 2 accuracy points of depth 1, the best test loss is within 10% of depth 1's,
    and the deepest kernel has flattened (same-digit minus other-digit cosine below a fifth of
    depth 1's) and has a test loss at least 1.5 times the best one's."""
    moderate = result.depths <= 5
    spread = np.max(np.abs(result.ntk_accuracy[moderate] - result.ntk_accuracy[0]))
    best = np.min(result.ntk_loss)
    worse = result.ntk_loss[-1] / best
    flattened = result.contrast[-1] / result.contrast[0]
    holds = spread <= 0.02 and best >= 0.9 * result.ntk_loss[0] and worse >= 1.5 and flattened < 0.2
    return claim("the limit NTK: depths 1-5 about equal, very deep kernels flatten and lose",
                 measured=f"accuracy spread over L <= 5: {100 * spread:.1f} points; best loss {best / result.ntk_loss[0]:.2f}x "
                 f"depth 1's; at L = {result.depths[-1]}: loss {worse:.2g}x the best, contrast {flattened:.2f}x depth 1's",
                 predicted="spread <= 2 points, best >= 0.9x, deep loss >= 1.5x, contrast < 0.2x", holds=holds)


class DepthNetworks(NamedTuple):
    """Trained networks (width DEPTH_WIDTH, seed 0, one per digit) at each depth, at the final time.

    net_accuracy, net_loss : (D,) test accuracy and loss of the trained networks;
    own_kernel_accuracy, own_kernel_loss : (D,) each network's own kernel prediction: the limit
        kernel of its depth from the network's own initial outputs f0, gradient descent on the
        linear model with the network's learning rate, read at the same step (as in section 1);
    kernel_accuracy, kernel_loss : (D,) the same from f0 = 0 (the average over initialisations);
    distance : (D,) ``relative_distance(net_test, own_kernel_test)`` over all test outputs: how far
        each network is from its own kernel prediction;
    lr : (D,) learning rate 1 / lambda_max(K_inf) of each depth.
    """

    depths: np.ndarray
    width: int
    net_accuracy: np.ndarray
    net_loss: np.ndarray
    own_kernel_accuracy: np.ndarray
    own_kernel_loss: np.ndarray
    kernel_accuracy: np.ndarray
    kernel_loss: np.ndarray
    distance: np.ndarray
    lr: np.ndarray


@functools.lru_cache(maxsize=None)
def depth_network_outputs(depth: int, width: int = DEPTH_WIDTH, seed: int = 0):
    """``(net_test, own_kernel_test, kernel_test, lr)`` at step STEPS, each (m, 10): the trained
    network, its own kernel prediction (limit kernel, the network's f0, gradient descent on the
    linear model with the same lr) and the same prediction from f0 = 0."""
    data = digits_split()
    model = digits_model(width, depth)
    K, K_star, lam_max = limit_kernels(depth)
    lr = LR_FACTOR / lam_max
    net, own, kernel = [], [], []
    for digit in range(CLASSES):
        y = data.y_train[:, digit]
        params0 = model.init(network_seed(seed, digit))
        traj = train(model.apply, params0, data.x_train, y, lr=lr, steps=STEPS, record_steps=np.array([0, STEPS]))
        net.append(np.asarray(model.apply(traj.params, data.x_test)))
        f0_train, f0_test = np.asarray(traj.outputs[0]), np.asarray(model.apply(params0, data.x_test))
        own.append(GradientFlow(K, y, f0_train, lr=lr).predict(lr * STEPS, K_star, f0_test))
        kernel.append(GradientFlow(K, y, np.zeros_like(y), lr=lr).predict(lr * STEPS, K_star, np.zeros(len(K_star))))
    release_compiled_programs(force=True)  # this depth's programs are not needed again
    return np.stack(net, axis=1), np.stack(own, axis=1), np.stack(kernel, axis=1), lr


@functools.lru_cache(maxsize=None)
def depth_networks(depths: tuple = NETWORK_DEPTHS, width: int = DEPTH_WIDTH) -> DepthNetworks:
    """Trained networks and their kernel flow at every depth (test accuracy and loss)."""
    data = digits_split()
    rows = []
    for L in depths:
        net, own, kernel, lr = depth_network_outputs(L, width)
        rows.append((accuracy(net, data.labels_test), test_loss(net, data.y_test),
                     accuracy(own, data.labels_test), test_loss(own, data.y_test),
                     accuracy(kernel, data.labels_test), test_loss(kernel, data.y_test),
                     relative_distance(net, own), lr))
    cols = np.array(rows).T
    return DepthNetworks(np.array(depths), int(width), *cols)


def claim_depth_networks(result: DepthNetworks) -> ClaimCheck:
    """Depth does not help the trained networks either: no depth beats depth 1 by more than 1
    accuracy point; and the deepest network lies further from its own kernel prediction (the
    limit kernel from the network's own f0, the fair comparison of section 1) than the
    shallowest, in test outputs and in accuracy (finite-width corrections grow with depth at
    fixed N)."""
    gap = result.own_kernel_accuracy - result.net_accuracy
    gain = np.max(result.net_accuracy - result.net_accuracy[0])
    holds = gain <= 0.01 and result.distance[-1] > result.distance[0] and gap[-1] > gap[0]
    first, last = f"L = {result.depths[0]}", f"L = {result.depths[-1]}"
    return claim(f"trained networks (N = {result.width}) at depths {', '.join(map(str, result.depths))}: depth does not help",
                 measured=f"largest gain over depth 1: {100 * gain:+.1f} points; distance from own kernel prediction "
                 f"{result.distance[0]:.2f} ({first}) -> {result.distance[-1]:.2f} ({last}), below it by "
                 f"{100 * gap[0]:.1f} -> {100 * gap[-1]:.1f} points",
                 predicted="gain <= 1 point; distance and accuracy gap grow with depth", holds=holds)


# ---------------------------------------------------------------------------- item 4: features
@functools.lru_cache(maxsize=None)
def feature_measure(model: MLP):
    """The ``measure`` of the feature runs: test and validation outputs, and the kernel-target alignment.

    alignment : (10,) ``y_c^T K y_c / (||K||_F ||y_c||^2)`` of the current empirical NTK on the
    training inputs with every digit's one-vs-rest target (the run's own digit is picked later).
    """
    import jax.numpy as jnp

    data = digits_split()
    x_train, x_test, x_val = data.x_train, data.x_test, data.x_validation
    Y = jnp.asarray(data.y_train)

    def measure(params):
        K = empirical_ntk(model, params, x_train)
        alignment = jnp.sum(Y * (K @ Y), axis=0) / (jnp.linalg.norm(K) * jnp.sum(Y * Y, axis=0))
        return {"test": model.forward(params, x_test)[1], "validation": model.forward(params, x_val)[1],
                "alignment": alignment}

    return measure


class FeatureRuns(NamedTuple):
    """Networks of width FEATURE_WIDTH (seed 0, one per digit) trained in several ways (R runs).

    names : (R,) run names (keys of FEATURE_RUNS); steps : (T,) recorded steps;
    test_accuracy, validation_accuracy, test_loss, train_loss : (R, T);
    alignment : (R, T) kernel-target alignment, averaged over the ten digits;
    kernel_change : (R,) ``||K_T - K_0|| / ||K_0||`` averaged over the digits;
    initial_kernel_accuracy, after_kernel_accuracy : (R,) kernel regression (t -> infinity, f0 = 0)
    with each network's own K_0 and with its after-kernel K_T; *_loss the same test losses;
    initial_kernel_test, after_kernel_test : (R, m, 10) those predictions; net_test : (R, T, m, 10);
    distance_initial, distance_after : (R,) ``relative_distance`` of the K_0 / K_T predictions from
    the trained network's final test outputs (which kernel accounts for the network?).
    """

    names: tuple
    steps: np.ndarray
    test_accuracy: np.ndarray
    validation_accuracy: np.ndarray
    test_loss: np.ndarray
    train_loss: np.ndarray
    alignment: np.ndarray
    kernel_change: np.ndarray
    initial_kernel_accuracy: np.ndarray
    after_kernel_accuracy: np.ndarray
    initial_kernel_loss: np.ndarray
    after_kernel_loss: np.ndarray
    initial_kernel_test: np.ndarray
    after_kernel_test: np.ndarray
    net_test: np.ndarray
    distance_initial: np.ndarray
    distance_after: np.ndarray


@functools.lru_cache(maxsize=None)
def parameterization_runs(parameterization: str, lr_factors: tuple, width: int = FEATURE_WIDTH, seed: int = 0):
    """One batched ``train`` per digit over the learning rates ``lr_factors / lambda_max(K_0)`` (same init).

    Returns a dict of arrays with a leading run axis: ``test`` (R, T, m, 10), ``validation``,
    ``train`` (R, T, n, 10), ``alignment`` (R, T, 10) (each digit's own entry),
    ``K0_test``/``KT_test`` (R, m, 10) kernel regression with the initial and the after-kernel,
    ``kernel_change`` (R, 10), and ``steps``.
    """
    data = digits_split()
    model = digits_model(width, 1, parameterization)
    factors = np.asarray(lr_factors, dtype=np.float64)
    R = len(factors)
    out = {k: [] for k in ("test", "validation", "train", "alignment", "K0_test", "KT_test", "kernel_change")}
    for digit in range(CLASSES):
        y = data.y_train[:, digit]
        p0 = model.init(network_seed(seed, digit))
        K0 = empirical_ntk(model, p0, data.x_train)
        K0_star = empirical_ntk(model, p0, data.x_test, data.x_train)
        params = model.init_many([network_seed(seed, digit)] * R)
        traj = train(model.apply, params, data.x_train, y, lr=factors / top_eigenvalue(K0), steps=FEATURE_STEPS,
                     record_steps=np.asarray(FEATURE_RECORD_STEPS), measure=feature_measure(model), batch=True)
        m = traj.measurements
        out["test"].append(np.asarray(m["test"]))
        out["validation"].append(np.asarray(m["validation"]))
        out["train"].append(np.asarray(traj.outputs))
        out["alignment"].append(np.asarray(m["alignment"])[:, :, digit])
        out["K0_test"].append(np.repeat(np.asarray(kernel_regression(K0, y, K0_star))[None], R, axis=0))
        KT_test, change = [], []
        for r in range(R):
            pT = run_slice(traj.params, r)
            KT = empirical_ntk(model, pT, data.x_train)
            KT_test.append(np.asarray(kernel_regression(KT, y, empirical_ntk(model, pT, data.x_test, data.x_train))))
            change.append(relative_distance(KT, K0))
        out["KT_test"].append(np.array(KT_test))
        out["kernel_change"].append(np.array(change))
    release_compiled_programs(force=True)  # this parameterization's programs are not needed again
    result = {k: np.stack(v, axis=-1) for k, v in out.items()}
    result["steps"] = np.asarray(traj.steps)
    return result


@functools.lru_cache(maxsize=None)
def feature_runs(runs: tuple = tuple(FEATURE_RUNS.items())) -> FeatureRuns:
    """Every run of FEATURE_RUNS (one ``parameterization_runs`` call per parameterization), summarised."""
    data = digits_split()
    by_par: dict = {}
    for name, (par, factor) in runs:
        by_par.setdefault(par, []).append((name, factor))
    names, rows = [], []
    for par, entries in by_par.items():
        res = parameterization_runs(par, tuple(f for _, f in entries))
        for r, (name, _) in enumerate(entries):
            names.append(name)
            rows.append({k: v[r] for k, v in res.items() if k != "steps"})
            steps = res["steps"]
    Lt, Lv = data.labels_test, data.labels_validation
    T = len(steps)
    return FeatureRuns(
        names=tuple(names), steps=steps,
        test_accuracy=np.array([[accuracy(r["test"][k], Lt) for k in range(T)] for r in rows]),
        validation_accuracy=np.array([[accuracy(r["validation"][k], Lv) for k in range(T)] for r in rows]),
        test_loss=np.array([[test_loss(r["test"][k], data.y_test) for k in range(T)] for r in rows]),
        train_loss=np.array([[0.5 * np.sum((r["train"][k] - data.y_train) ** 2) for k in range(T)] for r in rows]),
        alignment=np.array([r["alignment"].mean(axis=-1) for r in rows]),
        kernel_change=np.array([r["kernel_change"].mean() for r in rows]),
        initial_kernel_accuracy=np.array([accuracy(r["K0_test"], Lt) for r in rows]),
        after_kernel_accuracy=np.array([accuracy(r["KT_test"], Lt) for r in rows]),
        initial_kernel_loss=np.array([test_loss(r["K0_test"], data.y_test) for r in rows]),
        after_kernel_loss=np.array([test_loss(r["KT_test"], data.y_test) for r in rows]),
        initial_kernel_test=np.array([r["K0_test"] for r in rows]),
        after_kernel_test=np.array([r["KT_test"] for r in rows]),
        net_test=np.array([r["test"] for r in rows]),
        distance_initial=np.array([relative_distance(r["K0_test"], r["test"][-1]) for r in rows]),
        distance_after=np.array([relative_distance(r["KT_test"], r["test"][-1]) for r in rows]),
    )


def best_run(result: FeatureRuns, parameterization: str = "muP") -> int:
    """Index of the run of ``parameterization`` (name prefix) with the best final validation accuracy."""
    candidates = [i for i, n in enumerate(result.names) if n.startswith(parameterization)]
    if not candidates:
        raise ValueError(f"no run named {parameterization!r}...; runs are {result.names}")
    return max(candidates, key=lambda i: result.validation_accuracy[i, -1])


def claim_feature_learning(result: FeatureRuns) -> ClaimCheck:
    """Feature learning moves the kernel: the tuned muP network's kernel changes by more than its
    own size (relative change >= 1) and its alignment with the targets grows at least 1.5-fold,
    while the NTK network at lr 1 moves its kernel by less than 25%, and 10 times less than muP."""
    i, lazy = best_run(result), result.names.index(LAZY_RUN)
    grow = result.alignment[i, -1] / result.alignment[i, 0]
    holds = (result.kernel_change[i] >= 1 and grow >= 1.5 and result.kernel_change[lazy] < 0.25
             and 10 * result.kernel_change[lazy] < result.kernel_change[i])
    return claim("muP learns features: its kernel moves and aligns with the labels; the NTK network at lr 1 stays far lazier",
                 measured=f"{result.names[i]}: kernel change {result.kernel_change[i]:.2f}, alignment x{grow:.2f}; "
                 f"{LAZY_RUN}: kernel change {result.kernel_change[lazy]:.3f}",
                 predicted="muP change >= 1, alignment x >= 1.5; lazy change < 0.25 and < muP / 10", holds=holds)


def claim_after_kernel(result: FeatureRuns) -> ClaimCheck:
    """The after-kernel accounts for the trained network, the initial kernel does not: for the tuned
    muP run, kernel regression with K_T is within 2 accuracy points of the network and its test
    predictions are at least 1.5 times closer to the network's outputs than K_0's."""
    i = best_run(result)
    close = abs(result.after_kernel_accuracy[i] - result.test_accuracy[i, -1]) <= 0.02
    closer = result.distance_after[i] * 1.5 <= result.distance_initial[i]
    return claim("the trained network behaves like kernel regression with its own after-kernel",
                 measured=f"{result.names[i]}: accuracy network {100 * result.test_accuracy[i, -1]:.1f}%, K_T "
                 f"{100 * result.after_kernel_accuracy[i]:.1f}%, K_0 {100 * result.initial_kernel_accuracy[i]:.1f}%; "
                 f"distance to the network's outputs K_T {result.distance_after[i]:.3f}, K_0 {result.distance_initial[i]:.3f}",
                 predicted="K_T within 2 points, >= 1.5x closer than K_0", holds=close and closer)


# ---------------------------------------------------------------------------- item 5: learning curves
@functools.lru_cache(maxsize=None)
def learning_pool(size: int = CURVE_POOL, seed: int = SPLIT_SEED):
    """``(x, y, labels)``: a stratified sample of ``size`` digits, centred by its own mean and put on the sphere.

    The pool plays the population: the learning curve draws training sets from it and measures
    the error over all of it.
    """
    images, labels = load_images()
    pool_index, _ = stratified_split(labels, size, len(labels) - size, seed)
    pool, pool_labels = images[pool_index], labels[pool_index]
    return normalise(pool, pool.mean(axis=0)), one_hot(pool_labels), pool_labels


class Spectrum(NamedTuple):
    """The kernel's spectrum on the population: eigenvalues ``eta`` (descending, of K_pool / M) and the
    target power ``target_power[k] = sum_c vbar_{k,c}^2`` along each eigenfunction (sums to the mean
    ``||y||^2``)."""

    eigenvalues: np.ndarray
    target_power: np.ndarray


@functools.lru_cache(maxsize=None)
def pool_kernel(depth: int = CURVE_DEPTH) -> np.ndarray:
    """The analytic NTK of depth ``depth`` on the learning pool (M, M)."""
    x, _, _ = learning_pool()
    return np.asarray(analytic_ntk(digits_model(1, depth), x))


@functools.lru_cache(maxsize=None)
def pool_spectrum(depth: int = CURVE_DEPTH) -> Spectrum:
    """Eigenvalues and target projections of the pool kernel (population = uniform over the pool)."""
    _, y, _ = learning_pool()
    K = pool_kernel(depth)
    M = K.shape[0]
    lam, U = np.linalg.eigh(K)
    order = np.argsort(lam)[::-1]
    lam, U = np.maximum(lam[order], 0.0), U[:, order]
    # Eigenfunctions psi_k(x_i) = sqrt(M) U_ik are orthonormal under the uniform measure on the pool;
    # the target's coefficients are vbar_k = <psi_k, y> = U_k^T y / sqrt(M).
    vbar = U.T @ y / math.sqrt(M)
    return Spectrum(lam / M, np.sum(vbar**2, axis=1))


def solve_kappa(eigenvalues, n: float, ridge: float = 0.0) -> float:
    """The self-consistent ``kappa = ridge + kappa sum_k rho_k / (n rho_k + kappa)`` (bisection in log kappa; ``rho_k`` the population eigenvalues).

    For ``ridge = 0`` it is the root of ``sum_k rho_k / (n rho_k + kappa) = 1``, which exists for
    ``n`` below the number of positive eigenvalues.
    """
    eta = np.asarray(eigenvalues, dtype=np.float64)
    eta = eta[eta > 0]
    n = float(n)
    if ridge == 0 and n >= len(eta):
        raise ValueError(f"ridgeless kappa needs n < number of positive eigenvalues ({len(eta)}); got n = {n}")

    def excess(kappa):  # decreasing in kappa; zero at the solution
        return ridge / kappa + np.sum(eta / (n * eta + kappa)) - 1.0

    lo, hi = 1e-300, float(np.sum(eta)) + ridge + 1.0
    while excess(lo) < 0:
        lo *= 1e-3  # pragma: no cover  (excess(tiny) is huge for n < #modes)
    lo = max(lo, 1e-30 * hi)
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        if excess(mid) > 0:
            lo = mid
        else:
            hi = mid
        if hi / lo < 1 + 1e-13:
            break
    return math.sqrt(lo * hi)


def theory_error(spectrum: Spectrum, n: float, ridge: float = 0.0):
    """``(E_g, kappa, per_mode)``: the predicted population error of kernel regression with n samples.

    ``E_g = 1/(1 - chi) sum_k kappa^2 vbar_k^2 / (n rho_k + kappa)^2`` with
    ``chi = sum_k n rho_k^2 / (n rho_k + kappa)^2`` (Bordelon, Canatar & Pehlevan 2020;
    Canatar, Bordelon & Pehlevan 2021; ``rho_k`` the population eigenvalues, notebook 07's
    notation); ``per_mode`` is each mode's term of the sum, divided by ``1 - chi``.
    """
    eta, power = spectrum.eigenvalues, spectrum.target_power
    kappa = solve_kappa(eta, n, ridge)
    gamma = float(np.sum(n * eta**2 / (n * eta + kappa) ** 2))
    per_mode = kappa**2 * power / (n * eta + kappa) ** 2 / (1 - gamma)
    return float(np.sum(per_mode)), kappa, per_mode


class LearningCurve(NamedTuple):
    """Kernel regression's population error against n: theory (from the spectrum) and measured.

    sizes : (P,) training-set sizes n; theory : (P,) predicted ``E_g``; kappa : (P,);
    measured : (P, D) error ``1/M sum_x ||f(x) - y(x)||^2`` over the pool for D random training
    sets; measured_mean : (P,); classification_error : (P,) mean fraction misclassified over the pool;
    per_mode : (P, M) the theory's error per eigenmode; spectrum : the Spectrum used.
    """

    sizes: np.ndarray
    theory: np.ndarray
    kappa: np.ndarray
    measured: np.ndarray
    measured_mean: np.ndarray
    classification_error: np.ndarray
    per_mode: np.ndarray
    spectrum: Spectrum


def measured_error(n: int, draw: int, depth: int = CURVE_DEPTH):
    """``(error, misclassified)`` of ridgeless kernel regression on training set ``draw`` of size n from the pool."""
    x, y, labels = learning_pool()
    K = pool_kernel(depth)
    M = K.shape[0]
    chosen = np.random.default_rng(1000 * int(n) + int(draw)).choice(M, size=int(n), replace=False)
    out = kernel_predictions(K[np.ix_(chosen, chosen)], K[:, chosen], y[chosen])
    return float(np.sum((out - y) ** 2) / M), float(np.mean(out.argmax(axis=1) != labels))


@functools.lru_cache(maxsize=None)
def learning_curve(sizes: tuple = CURVE_SIZES, draws: int = CURVE_DRAWS, depth: int = CURVE_DEPTH) -> LearningCurve:
    """Theory against measurement at every n in ``sizes`` (``draws`` random training sets each)."""
    sizes = tuple(_validate.positive_int(s, "n") for s in sizes)
    spectrum = pool_spectrum(depth)
    theory = [theory_error(spectrum, n) for n in sizes]
    runs = np.array([[measured_error(n, d, depth) for d in range(draws)] for n in sizes])  # (P, D, 2)
    return LearningCurve(
        sizes=np.array(sizes), theory=np.array([t[0] for t in theory]), kappa=np.array([t[1] for t in theory]),
        measured=runs[:, :, 0], measured_mean=runs[:, :, 0].mean(axis=1),
        classification_error=runs[:, :, 1].mean(axis=1),
        per_mode=np.array([t[2] for t in theory]), spectrum=spectrum)


def claim_learning_curve(curve: LearningCurve) -> ClaimCheck:
    """The spectral theory predicts the measured learning curve: within 20% at every n, while the
    error itself falls at least 3-fold over the range (a theory off by 20%, or a flat curve, fails)."""
    ratio = curve.measured_mean / curve.theory
    fall = curve.measured_mean[0] / curve.measured_mean[-1]
    holds = np.all(np.abs(ratio - 1) <= 0.2) and fall >= 3
    return claim("the learning curve follows from the kernel's eigenvalues and the target's projections",
                 measured=f"ratio measured / theory between {ratio.min():.3f} and {ratio.max():.3f}; error falls {fall:.3g}x "
                 f"from n = {curve.sizes[0]} to {curve.sizes[-1]}", predicted="ratio 1 (within 20%)", holds=holds)


__all__ = [
    "CLASSES", "CURVE_DEPTH", "CURVE_DRAWS", "CURVE_POOL", "CURVE_SIZES", "DEPTH_WIDTH", "FEATURE_RECORD_STEPS",
    "FEATURE_RUNS", "FEATURE_STEPS", "FEATURE_WIDTH", "KERNEL_DEPTHS", "LAZY_RUN", "LR_FACTOR", "NETWORK_DEPTHS",
    "N_TEST", "N_TRAIN", "N_VALIDATION", "RECORD_STEPS", "SEEDS", "SPLIT_SEED", "STEPS", "WIDTHS",
    "DepthKernels", "DepthNetworks", "DigitsSplit", "FeatureRuns", "KernelFit", "LearningCurve", "Spectrum",
    "WidthRun", "WidthSweep", "accuracy", "best_run", "claim_accuracy_converges", "claim_after_kernel",
    "claim_depth_kernel", "claim_depth_networks", "claim_feature_learning", "claim_learning_curve",
    "claim_outputs_converge", "depth_kernels", "depth_network_outputs", "depth_networks", "digits_model",
    "digits_split", "feature_measure", "feature_runs", "kernel_fit", "kernel_predictions", "learning_curve",
    "learning_pool", "limit_kernels", "load_images", "measured_error", "network_seed", "normalise",
    "normalised_kernel", "one_hot", "parameterization_runs", "pool_kernel", "pool_spectrum", "solve_kappa",
    "test_loss", "test_outputs", "theory_error", "width_run", "width_sweep",
]


@functools.lru_cache(maxsize=None)
def kernel_flow_curve(depth: int, times: tuple):
    """``(loss, accuracy)``, each (T,): test loss and accuracy of the f0 = 0 limit-kernel flow at ``times``.

    One ``GradientFlow`` per digit (one ``eigh`` each) on the analytic NTK of depth ``depth``.
    """
    data = digits_split()
    K, K_star, _ = limit_kernels(depth)
    t = np.asarray(times, dtype=np.float64)
    m = K_star.shape[0]
    out = np.stack([np.asarray(GradientFlow(K, data.y_train[:, c], np.zeros(K.shape[0])).predict(t, K_star, np.zeros(m)))
                    for c in range(CLASSES)], axis=-1)  # (T, m, 10)
    return (np.array([test_loss(o, data.y_test) for o in out]), np.array([accuracy(o, data.labels_test) for o in out]))


__all__ += ["kernel_flow_curve"]
